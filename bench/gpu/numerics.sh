# Sourced by run.sh and quant.sh: the e2e numerics cases (cases/cases.txt,
# one kopt-run command line each) on the GPU. Needs $R (kopt-run).

# prepare*.sh ship the cases compressed (gzip, or xz where space is short).
if [ ! -d cases ]; then
  if [ -f cases.txz ]; then tar xJf cases.txz; elif [ -f cases.tgz ]; then tar xzf cases.tgz; fi
fi

# run_cases REGEX: every case whose line matches, counted.
run_cases() {
  local pass=0 fail=0 line
  while read -r line; do
    if (cd cases && $R $line >/tmp/case.log 2>&1); then pass=$((pass+1));
    else fail=$((fail+1)); echo "FAIL: $line"; tail -3 /tmp/case.log; fi
  done < <(grep -E "$1" cases/cases.txt)
  echo "numerics: $pass passed, $fail failed"
}

# sanitize_cases REGEX: memcheck and racecheck on every matching case.
sanitize_cases() {
  local line tool r
  grep -E "$1" cases/cases.txt | while read -r line; do
    for tool in memcheck racecheck; do
      r=$(cd cases && compute-sanitizer --tool $tool --error-exitcode 9 $R $line 2>&1 | tail -1)
      echo "$tool ${line%% *}: $r"
    done
  done
}

# lit configuration for kopt's FileCheck tests.
#
# Parameters (lit -D...):
#   verify_roundtrip=1  run every kopt-opt invocation with --verify-roundtrip.
# Features:
#   cuda                an NVIDIA GPU and driver are present (GPU tests).
#   ptxas               ptxas is on PATH (generated PTX is checked with it).

import os
import shutil
import subprocess

import lit.formats
from lit.llvm import llvm_config
from lit.llvm.subst import ToolSubst

config.name = "kopt"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir"]
config.test_source_root = os.path.dirname(__file__)
config.excludes = ["CMakeLists.txt", "lit.cfg.py", "lit.site.cfg.py", "unit",
                   "Inputs"]

# Every FileCheck run scopes variables to their CHECK-LABEL block.
config.environment["FILECHECK_OPTS"] = "-enable-var-scope"

llvm_config.use_default_substitutions()
llvm_config.with_environment("PATH", config.llvm_tools_dir, append_path=True)

config.substitutions.append(("%kopt_src_root", config.kopt_src_root))
config.substitutions.append(("%models", os.path.join(config.kopt_src_root,
                                                     "models")))

# The round-trip run writes its %t files under a separate root, so ctest can
# run it beside the plain run without the two racing on the same paths.
kopt_opt_extra = []
exec_dir = "test"
if lit_config.params.get("verify_roundtrip", "0") not in ("", "0"):
    kopt_opt_extra.append("--verify-roundtrip")
    exec_dir = "test-roundtrip"
config.test_exec_root = os.path.join(config.kopt_obj_root, exec_dir)

tools = [
    ToolSubst("kopt-opt", extra_args=kopt_opt_extra, unresolved="fatal"),
    ToolSubst("kopt", unresolved="fatal"),
    ToolSubst("kopt-weights", unresolved="fatal"),
    ToolSubst("kopt-run", unresolved="fatal"),
    ToolSubst("kopt-generate", unresolved="fatal"),
    ToolSubst("FileCheck", config.filecheck, unresolved="fatal"),
]
llvm_config.add_tool_substitutions(tools, [config.kopt_tools_dir])


def gpu_present():
    smi = shutil.which("nvidia-smi")
    if not smi:
        return False
    try:
        return subprocess.run([smi, "-L"], capture_output=True,
                              timeout=30).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


if gpu_present():
    config.available_features.add("cuda")
else:
    lit_config.note("no NVIDIA GPU found: tests that REQUIRE cuda are skipped")
if shutil.which("ptxas"):
    config.available_features.add("ptxas")

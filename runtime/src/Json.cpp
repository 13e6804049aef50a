//===- Json.cpp - Strict JSON for untrusted runtime inputs ----------------===//

#include "kopt/runtime/Json.h"

#include <set>
#include <vector>

namespace kopt::rt {

using json = nlohmann::json;

StatusOr<json> parseStrictJson(std::string_view text, const std::string &what) {
  std::vector<std::set<std::string>> keys;
  std::string duplicate;
  bool tooDeep = false;
  json::parser_callback_t callback = [&](int depth, json::parse_event_t event,
                                         json &parsed) {
    switch (event) {
    case json::parse_event_t::object_start:
      keys.emplace_back();
      [[fallthrough]];
    case json::parse_event_t::array_start:
      if (depth > kMaxJsonDepth)
        tooDeep = true;
      break;
    case json::parse_event_t::object_end:
      if (!keys.empty())
        keys.pop_back();
      break;
    case json::parse_event_t::key:
      if (!keys.empty() && parsed.is_string() &&
          !keys.back().insert(parsed.get<std::string>()).second &&
          duplicate.empty())
        duplicate = parsed.get<std::string>();
      break;
    default:
      break;
    }
    return !tooDeep;
  };
  json value = json::parse(text.begin(), text.end(), callback,
                           /*allow_exceptions=*/false);
  if (tooDeep)
    return dataLoss(what + " nests JSON deeper than " +
                    std::to_string(kMaxJsonDepth) + " levels");
  if (value.is_discarded())
    return dataLoss(what + " is not valid JSON");
  if (!duplicate.empty())
    return dataLoss(what + " has the key '" + duplicate +
                    "' twice in one object");
  return value;
}

bool readInt64(const json &value, int64_t &out) {
  if (value.is_number_unsigned()) {
    if (value.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX))
      return false;
    out = static_cast<int64_t>(value.get<uint64_t>());
    return true;
  }
  if (!value.is_number_integer())
    return false;
  out = value.get<int64_t>();
  return true;
}

} // namespace kopt::rt

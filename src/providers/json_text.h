#pragma once
// Parsing callback bodies. Internal to providers/.
#include <cstring>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace tbpay::providers {

// The JSON value `text` holds, or a discarded value when it is not exactly one JSON value, or
// when it could be read two ways:
//  - nlohmann's lexer takes a NUL byte for the end of input, so "{...}\0junk" would pass: JSON
//    never holds a raw NUL, so such text is refused;
//  - a string holding U+0000 ("\u0000") is refused: C strings, libpq and logs would cut it
//    there, so the value checked would not be the value used;
//  - an object naming one key twice is refused: parsers disagree on which one counts.
// Invalid UTF-8 and lone surrogates are refused by the parser itself.
// `is_json`, when given, says whether the text is JSON at all, ambiguous or not (as
// nlohmann::json::accept() would: a raw NUL byte ends the text there).
inline nlohmann::json parse_json_text(std::string_view text, bool* is_json = nullptr) {
  using nlohmann::json;
  const json discarded(json::value_t::discarded);
  const bool raw_nul = std::memchr(text.data(), '\0', text.size()) != nullptr;
  if (raw_nul && is_json == nullptr) return discarded;
  bool ambiguous = false;
  std::vector<std::set<std::string, std::less<>>> open_objects;
  const auto has_nul = [](const std::string& s) { return s.find('\0') != std::string::npos; };
  auto check = [&](int, json::parse_event_t event, json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start:
        open_objects.emplace_back();
        break;
      case json::parse_event_t::object_end:
        if (!open_objects.empty()) open_objects.pop_back();
        break;
      case json::parse_event_t::key: {
        const auto& key = parsed.get_ref<const std::string&>();
        if (has_nul(key) || open_objects.empty() || !open_objects.back().insert(key).second)
          ambiguous = true;
        break;
      }
      case json::parse_event_t::value:
        if (parsed.is_string() && has_nul(parsed.get_ref<const std::string&>())) ambiguous = true;
        break;
      default:
        break;
    }
    return true;
  };
  json value = json::parse(text, check, /*allow_exceptions=*/false);
  if (is_json != nullptr) *is_json = !value.is_discarded();
  if (ambiguous || raw_nul) return discarded;
  return value;  // moved: a copy of a deeply nested document recurses once per level
}

}  // namespace tbpay::providers

#pragma once
// Parsing callback bodies. Internal to providers/.
#include <cstring>
#include <string_view>

#include <nlohmann/json.hpp>

namespace tbpay::providers {

// The JSON value `text` holds, or a discarded value when it is not exactly one JSON value.
// nlohmann's lexer takes a NUL byte for the end of input, so "{...}\0junk" would pass:
// JSON never holds a raw NUL, so such text is refused up front.
inline nlohmann::json parse_json_text(std::string_view text) {
  if (std::memchr(text.data(), '\0', text.size()) != nullptr)
    return nlohmann::json(nlohmann::json::value_t::discarded);
  return nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
}

}  // namespace tbpay::providers

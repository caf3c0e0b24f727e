#pragma once
// A configuration value that must be a whole number of at least `min` (env variables, URL
// arguments): the number, or nullopt for anything else ("10x", "", "-1" when min is 0).
#include <charconv>
#include <optional>
#include <string_view>

namespace tbpay {

inline std::optional<long> whole_number(std::string_view text, long min) {
  long n = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || end != text.data() + text.size() || n < min) return std::nullopt;
  return n;
}

}  // namespace tbpay

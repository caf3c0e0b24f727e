#include "store/last_error.h"

namespace tbpay {

namespace {
constexpr std::size_t kMaxChars = 500;

// Length of the valid UTF-8 sequence starting at s[i], or 0 if there is none.
std::size_t utf8_length(std::string_view s, std::size_t i) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = byte(i);
  std::size_t n = c < 0x80           ? 1
                  : (c >> 5) == 0x6  ? 2
                  : (c >> 4) == 0xE  ? 3
                  : (c >> 3) == 0x1E ? 4
                                     : 0;
  if (n == 0 || (n == 2 && c < 0xC2) || i + n > s.size()) return 0;
  for (std::size_t k = 1; k < n; ++k)
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
  return n;
}
}  // namespace

std::string last_error_text(std::string_view error) {
  std::string out;
  out.reserve(std::min(error.size(), kMaxChars * 4));
  std::size_t chars = 0;
  for (std::size_t i = 0; i < error.size() && chars < kMaxChars; ++chars) {
    const std::size_t n = utf8_length(error, i);
    if (n == 0 || error[i] == '\0') {
      out += '?';
      ++i;
    } else {
      out.append(error.substr(i, n));
      i += n;
    }
  }
  return out;
}

}  // namespace tbpay

#include "crypto/crypto.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <array>
#include <stdexcept>

namespace tbpay {

namespace {
constexpr char kHex[] = "0123456789abcdef";

void append_hex(std::string& out, const unsigned char* p, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    out.push_back(kHex[p[i] >> 4]);
    out.push_back(kHex[p[i] & 0xf]);
  }
}
}  // namespace

std::string hmac_sha256_hex(std::string_view key, std::string_view message) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int len = 0;
  if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(message.data()), message.size(), md.data(),
           &len) == nullptr)
    throw std::runtime_error("HMAC-SHA256 failed");
  std::string out;
  out.reserve(len * 2);
  append_hex(out, md.data(), len);
  return out;
}

bool hex_digest_equal(std::string_view a, std::string_view b, bool ignore_case) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    unsigned char x = static_cast<unsigned char>(a[i]);
    unsigned char y = static_cast<unsigned char>(b[i]);
    if (ignore_case) {
      x |= static_cast<unsigned char>((x >= 'A' && x <= 'Z') ? 0x20 : 0);
      y |= static_cast<unsigned char>((y >= 'A' && y <= 'Z') ? 0x20 : 0);
    }
    diff |= static_cast<unsigned char>(x ^ y);
  }
  return diff == 0;
}

std::string uuid_v4() {
  std::array<unsigned char, 16> b{};
  if (RAND_bytes(b.data(), static_cast<int>(b.size())) != 1)
    throw std::runtime_error("RAND_bytes failed");
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);
  std::string out;
  out.reserve(36);
  for (size_t i = 0; i < b.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
    append_hex(out, &b[i], 1);
  }
  return out;
}

std::string redact_signature(std::string_view signature) {
  if (signature.size() <= 8) return std::string(signature.size(), '*');
  return std::string(signature.substr(0, 6)) + "…(" + std::to_string(signature.size()) + ")";
}

}  // namespace tbpay

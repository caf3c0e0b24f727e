#include "crypto/crypto.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <pthread.h>

#include <array>
#include <atomic>
#include <cstring>
#include <memory>
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

namespace {

struct MacCtxFree {
  void operator()(EVP_MAC_CTX* c) const { EVP_MAC_CTX_free(c); }
};
using MacCtx = std::unique_ptr<EVP_MAC_CTX, MacCtxFree>;

// HMAC-SHA256 keyed once per key and thread, copied per message: keying (fetching SHA-256,
// hashing the padded key twice) is a third of a one-shot HMAC() of a callback. A thread sees
// two or three keys (ZaloPay key2, PayOS checksum key), so a few slots are enough.
class KeyedMacs {
 public:
  EVP_MAC_CTX* keyed(std::string_view key) {
    for (auto& slot : slots_)
      if (slot.ctx && slot.key == key) return slot.ctx.get();
    auto& slot = slots_[next_++ % slots_.size()];
    slot.ctx = keyed_context(key);
    slot.key.assign(key);
    return slot.ctx.get();
  }

 private:
  static MacCtx keyed_context(std::string_view key) {
    static EVP_MAC* const hmac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
    if (hmac == nullptr) throw std::runtime_error("HMAC is not available in OpenSSL");
    MacCtx ctx(EVP_MAC_CTX_new(hmac));
    char digest[] = "SHA256";
    const OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string("digest", digest, 0),
                                 OSSL_PARAM_construct_end()};
    if (!ctx || EVP_MAC_init(ctx.get(), reinterpret_cast<const unsigned char*>(key.data()),
                             key.size(), params) != 1)
      throw std::runtime_error("HMAC-SHA256 key setup failed");
    return ctx;
  }

  struct Slot {
    std::string key;
    MacCtx ctx;
  };
  std::array<Slot, 4> slots_;
  std::size_t next_ = 0;
};

}  // namespace

std::string hmac_sha256_hex(std::string_view key, std::string_view message) {
  thread_local KeyedMacs macs;
  const MacCtx ctx(EVP_MAC_CTX_dup(macs.keyed(key)));
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  std::size_t len = 0;
  if (!ctx ||
      EVP_MAC_update(ctx.get(), reinterpret_cast<const unsigned char*>(message.data()),
                     message.size()) != 1 ||
      EVP_MAC_final(ctx.get(), md.data(), &len, md.size()) != 1)
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

namespace {

// Bumped in a forked child, so that it never hands out the random bytes its parent drew.
std::atomic<unsigned> fork_generation{0};

// Random bytes drawn from OpenSSL 4 KiB at a time per thread: one RAND_bytes per 256 UUIDs
// instead of one per UUID (each call takes locks and checks for a fork with getpid).
class RandomPool {
 public:
  RandomPool() {
    static const bool registered = [] {
      return pthread_atfork(nullptr, nullptr, [] { fork_generation.fetch_add(1); }) == 0;
    }();
    (void)registered;
  }

  void take(unsigned char* out, std::size_t n) {
    const unsigned generation = fork_generation.load(std::memory_order_relaxed);
    if (used_ + n > bytes_.size() || generation != generation_) {
      if (RAND_bytes(bytes_.data(), static_cast<int>(bytes_.size())) != 1)
        throw std::runtime_error("RAND_bytes failed");
      used_ = 0;
      generation_ = generation;
    }
    std::memcpy(out, bytes_.data() + used_, n);
    OPENSSL_cleanse(bytes_.data() + used_, n);  // handed out once
    used_ += n;
  }

 private:
  std::array<unsigned char, 4096> bytes_{};
  std::size_t used_ = bytes_.size();
  unsigned generation_ = 0;
};

}  // namespace

std::string uuid_v4() {
  thread_local RandomPool pool;
  std::array<unsigned char, 16> b{};
  pool.take(b.data(), b.size());
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

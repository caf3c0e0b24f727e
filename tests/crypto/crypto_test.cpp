#include "crypto/crypto.h"

#include <gtest/gtest.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <regex>
#include <set>
#include <thread>
#include <vector>

namespace tbpay {
namespace {

TEST(Hmac, MatchesRfc4231TestCase2) {
  EXPECT_EQ(hmac_sha256_hex("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

// OpenSSL's one-shot HMAC(), the reference the keyed contexts must agree with.
std::string reference_hmac(const std::string& key, const std::string& message) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(), md.data(), &len);
  std::string hex;
  for (unsigned i = 0; i < len; ++i) {
    char b[3];
    std::snprintf(b, sizeof b, "%02x", md[i]);
    hex += b;
  }
  return hex;
}

// Keys are cached per thread: switching among more keys than the cache holds, from several
// threads at once, must never sign with the wrong key or a used-up context.
TEST(Hmac, ManyKeysAndThreadsAgreeWithOneShotHmac) {
  const std::vector<std::string> keys = {"", "k", "Jefe", std::string(64, 'x'),
                                         std::string(200, 'y'), "sdngKKJmqEMzvh5QQcdD2A9XBSKUNaYn"};
  std::vector<std::thread> threads;
  std::array<int, 4> mismatches{};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 600; ++i) {
        const auto& key = keys[static_cast<std::size_t>(i * (t + 1)) % keys.size()];
        const std::string message = "message " + std::to_string(i) + std::string(i % 70, 'm');
        if (hmac_sha256_hex(key, message) != reference_hmac(key, message)) ++mismatches[t];
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < 4; ++t) EXPECT_EQ(mismatches[t], 0) << "thread " << t;
}

TEST(HexDigestEqual, ComparesExactlyOrIgnoringCase) {
  EXPECT_TRUE(hex_digest_equal("abc123", "abc123"));
  EXPECT_FALSE(hex_digest_equal("abc123", "ABC123"));
  EXPECT_TRUE(hex_digest_equal("abc123", "ABC123", true));
  EXPECT_FALSE(hex_digest_equal("abc123", "abc124", true));
  EXPECT_FALSE(hex_digest_equal("abc123", "abc12", true));
  EXPECT_FALSE(hex_digest_equal("", "a"));
}

TEST(Uuid, IsVersion4AndUnique) {
  const std::regex v4("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}");
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    auto id = uuid_v4();
    EXPECT_TRUE(std::regex_match(id, v4)) << id;
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 1000u);
}

// UUIDs come from a per-thread pool of random bytes: across threads and across more than one
// refill of the pool, none repeats.
TEST(Uuid, UniqueAcrossThreadsAndPoolRefills) {
  std::vector<std::vector<std::string>> drawn(4);
  std::vector<std::thread> threads;
  for (auto& ids : drawn)
    threads.emplace_back([&ids] {
      for (int i = 0; i < 2000; ++i) ids.push_back(uuid_v4());  // ~8 refills of 4 KiB
    });
  for (auto& th : threads) th.join();
  std::set<std::string> seen;
  for (const auto& ids : drawn) seen.insert(ids.begin(), ids.end());
  EXPECT_EQ(seen.size(), 8000u);
}

// A forked child must not hand out the bytes its parent's pool still holds (the parent's next
// UUIDs): two processes would then write events with the same id.
TEST(Uuid, AForkedChildDrawsOtherUuidsThanItsParent) {
  (void)uuid_v4();  // the pool now holds bytes for the next UUIDs
  int pipe_fds[2];
  ASSERT_EQ(::pipe(pipe_fds), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    std::string ids;
    for (int i = 0; i < 10; ++i) ids += uuid_v4();
    const auto written = ::write(pipe_fds[1], ids.data(), ids.size());
    ::_exit(written == static_cast<ssize_t>(ids.size()) ? 0 : 1);
  }
  ::close(pipe_fds[1]);
  std::string parent;
  for (int i = 0; i < 10; ++i) parent += uuid_v4();
  std::string from_child(360, '\0');
  std::size_t got = 0;
  while (got < from_child.size()) {
    const auto n = ::read(pipe_fds[0], from_child.data() + got, from_child.size() - got);
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
  }
  ::close(pipe_fds[0]);
  int status = 0;
  ::waitpid(child, &status, 0);
  ASSERT_EQ(got, 360u);
  std::set<std::string> seen;
  for (std::size_t i = 0; i < 360; i += 36) {
    seen.insert(parent.substr(i, 36));
    seen.insert(from_child.substr(i, 36));
  }
  EXPECT_EQ(seen.size(), 20u) << "parent and child drew the same UUIDs";
}

TEST(RedactSignature, NeverShowsTheWholeSignature) {
  const std::string sig(64, 'a');
  auto shown = redact_signature(sig);
  EXPECT_EQ(shown.find(sig), std::string::npos);
  EXPECT_LT(shown.size(), 20u);
  EXPECT_EQ(redact_signature("short"), "*****");
}

}  // namespace
}  // namespace tbpay

#include "crypto/crypto.h"

#include <gtest/gtest.h>

#include <regex>
#include <set>

namespace tbpay {
namespace {

TEST(Hmac, MatchesRfc4231TestCase2) {
  EXPECT_EQ(hmac_sha256_hex("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
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

TEST(RedactSignature, NeverShowsTheWholeSignature) {
  const std::string sig(64, 'a');
  auto shown = redact_signature(sig);
  EXPECT_EQ(shown.find(sig), std::string::npos);
  EXPECT_LT(shown.size(), 20u);
  EXPECT_EQ(redact_signature("short"), "*****");
}

}  // namespace
}  // namespace tbpay

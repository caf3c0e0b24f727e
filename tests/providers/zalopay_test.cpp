// ZaloPay callbacks as docs/providers.md specifies them: MAC over the exact `data` text with key2,
// then type, then the content of `data`; and the replies ZaloPay expects.
#include "providers/zalopay/zalopay.h"

#include <gtest/gtest.h>

#include <cctype>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "crypto/crypto.h"

namespace tbpay {
namespace {

using nlohmann::json;

const ZaloPayKeys kKeys{"2553", "PcY4iZIKFCIdgZvA6ueMcMHHUbRLYjPL",
                        "kLtgPl8HHhfvMuDHPwKfgfsY4Ydm9eIz"};

// A callback's `data` exactly as ZaloPay sends it, and its MAC computed independently with
//   printf '%s' "$DATA" | openssl dgst -sha256 -hmac kLtgPl8HHhfvMuDHPwKfgfsY4Ydm9eIz
const std::string kData =
    R"({"app_id":2553,"app_trans_id":"251213_TB-LTDTNL-20251213-8D39986M","app_time":1765605918385,)"
    R"("app_user":"user123","amount":50000,"embed_data":"{}","item":"[]","zp_trans_id":251213000000175,)"
    R"("server_time":1765605920112,"channel":38,"merchant_user_id":"","user_fee_amount":0,"discount_amount":0})";
const std::string kMac = "4ec8dea6cba1ea152976d30f148d0fea8e6774eb8e52384387753358a4001c29";

std::string body_of(const std::string& data, const std::string& mac, const json& type = 1) {
  return json{{"data", data}, {"mac", mac}, {"type", type}}.dump();
}

// A body whose MAC is right for `data`, so that the checks after the signature are reached.
std::string signed_body(const std::string& data, const json& type = 1) {
  return body_of(data, hmac_sha256_hex(kKeys.key2, data), type);
}

std::string data_with(const std::function<void(json&)>& change) {
  json d = json::parse(kData);
  change(d);
  return d.dump();
}

CallbackRejection rejection_of(std::string_view body, const ZaloPayKeys& keys = kKeys) {
  const auto result = make_zalopay(keys)->verify(body);
  EXPECT_FALSE(result.ok()) << body;
  return result.ok() ? CallbackRejection::NotACallback : result.error();
}

TEST(ZaloPayMac, MatchesTheValueOpenSslComputes) {
  EXPECT_EQ(hmac_sha256_hex(kKeys.key2, kData), kMac);
}

TEST(ZaloPayVerify, GenuineCallbackBecomesACompletedPayment) {
  const auto cb = make_zalopay(kKeys)->verify(body_of(kData, kMac));
  ASSERT_TRUE(cb.ok());
  EXPECT_EQ(cb->provider, Provider::ZaloPay);
  EXPECT_EQ(cb->transaction_id, "251213_TB-LTDTNL-20251213-8D39986M");
  EXPECT_EQ(cb->fallback_order_code, "TB-LTDTNL-20251213-8D39986M");
  EXPECT_EQ(cb->amount, 50000);
  EXPECT_EQ(cb->outcome, PaymentStatus::Completed);
  EXPECT_EQ(cb->provider_reference, "251213000000175");
  EXPECT_TRUE(cb->reason.empty());
}

TEST(ZaloPayVerify, FallbackOrderCodeIsEverythingAfterTheFirstUnderscore) {
  const auto cb = make_zalopay(kKeys)->verify(
      signed_body(data_with([](json& d) { d["app_trans_id"] = "251213_TB_A_B"; })));
  ASSERT_TRUE(cb.ok());
  EXPECT_EQ(cb->fallback_order_code, "TB_A_B");

  const auto plain = make_zalopay(kKeys)->verify(
      signed_body(data_with([](json& d) { d["app_trans_id"] = "NOUNDERSCORE"; })));
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->transaction_id, "NOUNDERSCORE");
  EXPECT_EQ(plain->fallback_order_code, "");
}

TEST(ZaloPayVerify, AppIdAndZpTransIdMayArriveAsStrings) {
  const auto cb = make_zalopay(kKeys)->verify(signed_body(data_with([](json& d) {
    d["app_id"] = "2553";
    d["zp_trans_id"] = "ZP-1";
  })));
  ASSERT_TRUE(cb.ok());
  EXPECT_EQ(cb->provider_reference, "ZP-1");
}

TEST(ZaloPayVerify, UnknownExtraFieldsAreIgnored) {
  const auto cb = make_zalopay(kKeys)->verify(signed_body(data_with([](json& d) {
    d["new_field"] = json{{"x", 1}};
  })));
  EXPECT_TRUE(cb.ok());
}

TEST(ZaloPayVerify, TamperedOrForgedMacIsABadSignature) {
  std::string flipped_mac = kMac;
  flipped_mac[10] = flipped_mac[10] == 'a' ? 'b' : 'a';
  EXPECT_EQ(rejection_of(body_of(kData, flipped_mac)), CallbackRejection::BadSignature);

  std::string flipped_data = kData;
  flipped_data[flipped_data.find("50000")] = '9';  // amount changed after signing
  EXPECT_EQ(rejection_of(body_of(flipped_data, kMac)), CallbackRejection::BadSignature);

  const std::string other = data_with([](json& d) { d["app_trans_id"] = "251213_OTHER"; });
  EXPECT_EQ(rejection_of(body_of(other, kMac)), CallbackRejection::BadSignature)
      << "the MAC of another payload must not verify";
  EXPECT_EQ(rejection_of(body_of(kData, hmac_sha256_hex("wrong key", kData))),
            CallbackRejection::BadSignature);
  EXPECT_EQ(rejection_of(body_of(kData, "")), CallbackRejection::BadSignature);
  EXPECT_EQ(rejection_of(body_of(kData, kMac.substr(0, 63))), CallbackRejection::BadSignature);
  EXPECT_EQ(rejection_of(body_of(kData, kMac + "0")), CallbackRejection::BadSignature);
}

TEST(ZaloPayVerify, MacMustBeLowerCaseHex) {
  std::string upper = kMac;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_EQ(rejection_of(body_of(kData, upper)), CallbackRejection::BadSignature);
}

TEST(ZaloPayVerify, SignatureIsCheckedBeforeAnythingInDataIsTrusted) {
  EXPECT_EQ(rejection_of(body_of("not json", "00")), CallbackRejection::BadSignature);
  const std::string foreign_app = data_with([](json& d) { d["app_id"] = 1; });
  EXPECT_EQ(rejection_of(body_of(foreign_app, "00")), CallbackRejection::BadSignature);
  EXPECT_EQ(rejection_of(body_of(kData, "00", 2)), CallbackRejection::BadSignature);
}

TEST(ZaloPayVerify, BodiesThatAreNotCallbacksAtAll) {
  for (const std::string& body : std::vector<std::string>{
           std::string(""),
           std::string("not json"),
           std::string("[1,2]"),
           std::string("\"string\""),
           std::string("{}"),
           std::string(R"({"mac":"00","type":1})"),
           std::string(R"({"data":"{}","type":1})"),
           std::string(R"({"data":"{}","mac":"00"})"),
           std::string(R"({"data":{"app_id":2553},"mac":"00","type":1})"),
           std::string(R"({"data":"{}","mac":0,"type":1})"),
           std::string(R"({"data":"{}","mac":"00","type":1)"),
           body_of(kData, kMac) + std::string(1, '\0'),
           body_of(kData, kMac) + std::string(1, '\0') + "junk",
       }) {
    EXPECT_EQ(rejection_of(body), CallbackRejection::NotACallback) << body;
  }
}

TEST(ZaloPayVerify, TypeOtherThanOneIsUnsupported) {
  EXPECT_EQ(rejection_of(signed_body(kData, 2)), CallbackRejection::Unsupported);
  EXPECT_EQ(rejection_of(signed_body(kData, "1")), CallbackRejection::Unsupported);
  EXPECT_EQ(rejection_of(signed_body(kData, nullptr)), CallbackRejection::Unsupported);
}

TEST(ZaloPayVerify, SignedButUnusableDataIsMalformed) {
  for (const std::string& data : std::vector<std::string>{
           std::string("not json"),
           std::string("[]"),
           std::string(""),
           data_with([](json& d) { d.erase("app_trans_id"); }),
           data_with([](json& d) { d["app_trans_id"] = ""; }),
           data_with([](json& d) { d["app_trans_id"] = 251213; }),
           data_with([](json& d) { d.erase("amount"); }),
           data_with([](json& d) { d["amount"] = "50000"; }),
           data_with([](json& d) { d["amount"] = 50000.5; }),
           data_with([](json& d) { d["amount"] = -1; }),
           data_with([](json& d) { d["amount"] = 18446744073709551615ULL; }),
           data_with([](json& d) { d.erase("app_id"); }),
           data_with([](json& d) { d["app_id"] = nullptr; }),
       }) {
    EXPECT_EQ(rejection_of(signed_body(data)), CallbackRejection::Malformed) << data;
  }
}

TEST(ZaloPayVerify, CorrectlySignedCallbackForAnotherAppIsAnAppIdMismatch) {
  EXPECT_EQ(rejection_of(signed_body(data_with([](json& d) { d["app_id"] = 2554; }))),
            CallbackRejection::AppIdMismatch);
  EXPECT_EQ(rejection_of(signed_body(data_with([](json& d) { d["app_id"] = "25530"; }))),
            CallbackRejection::AppIdMismatch);
}

TEST(ZaloPayVerify, WithoutKeysEveryBodyIsNotConfigured) {
  const ZaloPayKeys none{};
  EXPECT_FALSE(make_zalopay(none)->configured());
  EXPECT_EQ(rejection_of(body_of(kData, kMac), none), CallbackRejection::NotConfigured);
  EXPECT_EQ(rejection_of("garbage", none), CallbackRejection::NotConfigured);
  const ZaloPayKeys no_app_id{"", "k1", kKeys.key2};
  EXPECT_EQ(rejection_of(body_of(kData, kMac), no_app_id), CallbackRejection::NotConfigured);
}

TEST(ZaloPaySign, SignedCallbackVerifiesWithTheSameKeys) {
  const std::string body = sign_zalopay_callback(kKeys, "251213_TB-1", 75000, 987654321);
  const auto cb = make_zalopay(kKeys)->verify(body);
  ASSERT_TRUE(cb.ok()) << body;
  EXPECT_EQ(cb->transaction_id, "251213_TB-1");
  EXPECT_EQ(cb->fallback_order_code, "TB-1");
  EXPECT_EQ(cb->amount, 75000);
  EXPECT_EQ(cb->provider_reference, "987654321");

  const json parsed = json::parse(body);
  EXPECT_EQ(parsed["type"], 1);
  const json data = json::parse(parsed["data"].get<std::string>());
  EXPECT_EQ(data["app_id"], 2553) << "ZaloPay sends app_id as a number";
  for (const char* field : {"app_time", "app_user", "embed_data", "item", "server_time", "channel",
                            "merchant_user_id", "user_fee_amount", "discount_amount"})
    EXPECT_TRUE(data.contains(field)) << field;

  ZaloPayKeys other = kKeys;
  other.key2 = "another key";
  EXPECT_EQ(rejection_of(body, other), CallbackRejection::BadSignature);
}

TEST(ZaloPaySign, FullDataRoundTrips) {
  ZaloPayCallbackData d;
  d.app_trans_id = "251213_TB_X";
  d.amount = 1;
  d.zp_trans_id = 42;
  d.app_user = "Nguyễn Văn A";
  d.embed_data = R"({"redirecturl":"https://example.com/?a=1&b=2"})";
  const std::string body = sign_zalopay_callback(kKeys, d);
  const auto cb = make_zalopay(kKeys)->verify(body);
  ASSERT_TRUE(cb.ok()) << body;
  EXPECT_EQ(cb->fallback_order_code, "TB_X");
  EXPECT_EQ(cb->amount, 1);
  const json data = json::parse(json::parse(body)["data"].get<std::string>());
  EXPECT_EQ(data["app_user"], "Nguyễn Văn A");
  EXPECT_EQ(data["embed_data"], d.embed_data);

  d.app_id = "9999";  // signed for another app
  EXPECT_EQ(rejection_of(sign_zalopay_callback(kKeys, d)), CallbackRejection::AppIdMismatch);
}

TEST(ZaloPayAppTransId, IsTheUtcDateThenTheOrderCode) {
  EXPECT_EQ(zalopay_app_trans_id("TB-LTDTNL-20251213-8D39986M",
                                 *parse_timestamp("2025-12-13T23:59:59.999Z")),
            "251213_TB-LTDTNL-20251213-8D39986M");
  EXPECT_EQ(zalopay_app_trans_id("A_B", *parse_timestamp("2030-01-02T00:00:00Z")), "300102_A_B");
}

struct ReplyCase {
  IngestOutcome outcome;
  CallbackRejection rejection;
  int http_status;
  int return_code;
};

TEST(ZaloPayReply, EveryOutcomeGetsTheCodeZaloPayExpects) {
  const auto provider = make_zalopay(kKeys);
  const auto any = CallbackRejection::NotACallback;  // ignored unless the outcome is Rejected
  const ReplyCase cases[] = {
      {IngestOutcome::Processed, any, 200, 1},
      {IngestOutcome::Duplicate, any, 200, 2},
      {IngestOutcome::UnknownPayment, any, 200, 0},
      {IngestOutcome::AmountMismatch, any, 200, -1},
      {IngestOutcome::TemporaryFailure, any, 200, 0},
      {IngestOutcome::Rejected, CallbackRejection::BadSignature, 200, -1},
      {IngestOutcome::Rejected, CallbackRejection::AppIdMismatch, 200, -1},
      {IngestOutcome::Rejected, CallbackRejection::Malformed, 200, -1},
      {IngestOutcome::Rejected, CallbackRejection::Unsupported, 200, -1},
      {IngestOutcome::Rejected, CallbackRejection::NotACallback, 200, -1},
      {IngestOutcome::Rejected, CallbackRejection::NotConfigured, 503, 0},
  };
  for (const auto& c : cases) {
    const HttpReply reply = provider->reply(c.outcome, c.rejection);
    SCOPED_TRACE(reply.body);
    EXPECT_EQ(reply.status, c.http_status);
    const json body = json::parse(reply.body);
    EXPECT_EQ(body.size(), 2u);
    EXPECT_EQ(body["return_code"], c.return_code);
    EXPECT_TRUE(body["return_message"].is_string());
    EXPECT_FALSE(body["return_message"].get<std::string>().empty());
  }
  EXPECT_EQ(provider->reply(IngestOutcome::Processed, any).body,
            R"({"return_code":1,"return_message":"success"})");
  const auto not_configured =
      json::parse(provider->reply(IngestOutcome::Rejected, CallbackRejection::NotConfigured).body);
  EXPECT_NE(not_configured["return_message"].get<std::string>().find("ZALOPAY_KEY2"),
            std::string::npos);
}

}  // namespace
}  // namespace tbpay

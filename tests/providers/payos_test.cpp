// PayOS webhooks as docs/providers.md specifies them: signature over the canonical `data`, compared
// case-insensitively; then the content of `data`; and the replies PayOS expects.
#include "providers/payos/payos.h"

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

// The checksum key and webhook of PayOS's documentation. The signature was computed
// independently from the canonical string with
//   printf '%s' "$CANONICAL" | openssl dgst -sha256 -hmac "$KEY"
const PayOsKeys kKeys{"client-id", "api-key",
                      "1a54716c8f0efb2744fb28b6e38b25da7f67a925d98bc1c18bd8faaecadd7675"};
const json kData = json::parse(
    R"({"orderCode":123,"amount":3000,"description":"VQRIO123","accountNumber":"12345678",)"
    R"("reference":"TF230204212323","transactionDateTime":"2023-02-04 18:25:00","currency":"VND",)"
    R"("paymentLinkId":"124c33293c43417ab7879e14c8d9eb18","code":"00","desc":"Thành công",)"
    R"("counterAccountBankId":"","counterAccountBankName":"","counterAccountName":null,)"
    R"("counterAccountNumber":"","virtualAccountName":"","virtualAccountNumber":""})");
const std::string kSignature = "412e915d2871504ed31be63c8f62a149a4410d34c4c42affc9006ef9917eaa03";

std::string body_of(const json& data, const std::string& signature) {
  return json{{"code", "00"},
              {"desc", "success"},
              {"success", true},
              {"data", data},
              {"signature", signature}}
      .dump();
}

// A body whose signature is right for `data`, so that the checks after it are reached.
std::string signed_body(const json& data) {
  return body_of(data, hmac_sha256_hex(kKeys.checksum_key, payos_canonical_data(data)));
}

json data_with(const std::function<void(json&)>& change) {
  json d = kData;
  change(d);
  return d;
}

CallbackRejection rejection_of(std::string_view body, const PayOsKeys& keys = kKeys) {
  const auto result = make_payos(keys)->verify(body);
  EXPECT_FALSE(result.ok()) << body;
  return result.ok() ? CallbackRejection::NotACallback : result.error();
}

TEST(PayOsVerify, DocumentationWebhookVerifiesAsACompletedPayment) {
  const auto cb = make_payos(kKeys)->verify(body_of(kData, kSignature));
  ASSERT_TRUE(cb.ok());
  EXPECT_EQ(cb->provider, Provider::PayOS);
  EXPECT_EQ(cb->transaction_id, "124c33293c43417ab7879e14c8d9eb18");
  EXPECT_EQ(cb->fallback_order_code, "");
  EXPECT_EQ(cb->amount, 3000);
  EXPECT_EQ(cb->outcome, PaymentStatus::Completed);
  EXPECT_EQ(cb->provider_reference, "TF230204212323");
}

TEST(PayOsVerify, SignatureIsComparedCaseInsensitively) {
  std::string upper = kSignature;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_TRUE(make_payos(kKeys)->verify(body_of(kData, upper)).ok());
  std::string mixed = kSignature;
  for (std::size_t i = 0; i < mixed.size(); i += 2)
    mixed[i] = static_cast<char>(std::toupper(static_cast<unsigned char>(mixed[i])));
  EXPECT_TRUE(make_payos(kKeys)->verify(body_of(kData, mixed)).ok());
}

TEST(PayOsVerify, KeyOrderAndNumberSpellingInTheBodyDoNotMatter) {
  // Same data, keys in another order and the amount written 3000.0: the same signed string.
  std::string body = body_of(kData, kSignature);
  const auto pos = body.find("\"amount\":3000");
  ASSERT_NE(pos, std::string::npos);
  body.replace(pos, 13, "\"amount\":3000.0");
  EXPECT_EQ(rejection_of(body), CallbackRejection::Malformed)
      << "3000.0 signs like 3000, and is then refused as a non-integer amount";
}

TEST(PayOsVerify, NonSuccessCodeIsAFailureWithItsDescription) {
  const auto cb = make_payos(kKeys)->verify(signed_body(data_with([](json& d) {
    d["code"] = "01";
    d["desc"] = "Giao dịch thất bại";
  })));
  ASSERT_TRUE(cb.ok());
  EXPECT_EQ(cb->outcome, PaymentStatus::Failed);
  EXPECT_EQ(cb->reason, "Giao dịch thất bại");

  const auto no_desc = make_payos(kKeys)->verify(signed_body(data_with([](json& d) {
    d["code"] = "24";
    d.erase("desc");
  })));
  ASSERT_TRUE(no_desc.ok());
  EXPECT_EQ(no_desc->outcome, PaymentStatus::Failed);
  EXPECT_EQ(no_desc->reason, "PayOS code 24");
}

TEST(PayOsVerify, OutcomeComesFromTheSignedDataNotTheUnsignedTopLevelCode) {
  json body = json::parse(signed_body(data_with([](json& d) { d["code"] = "01"; })));
  body["code"] = "00";
  body["success"] = true;
  const auto cb = make_payos(kKeys)->verify(body.dump());
  ASSERT_TRUE(cb.ok());
  EXPECT_EQ(cb->outcome, PaymentStatus::Failed);
}

TEST(PayOsVerify, TamperedOrForgedSignatureIsABadSignature) {
  std::string flipped = kSignature;
  flipped[5] = flipped[5] == 'a' ? 'b' : 'a';
  EXPECT_EQ(rejection_of(body_of(kData, flipped)), CallbackRejection::BadSignature);

  const json more = data_with([](json& d) { d["amount"] = 3001; });  // amount changed after signing
  EXPECT_EQ(rejection_of(body_of(more, kSignature)), CallbackRejection::BadSignature);

  const json other = data_with([](json& d) { d["paymentLinkId"] = "another-link"; });
  const std::string other_signature =
      hmac_sha256_hex(kKeys.checksum_key, payos_canonical_data(other));
  EXPECT_EQ(rejection_of(body_of(kData, other_signature)), CallbackRejection::BadSignature)
      << "the signature of another payload must not verify";

  EXPECT_EQ(rejection_of(body_of(kData, hmac_sha256_hex("wrong key", payos_canonical_data(kData)))),
            CallbackRejection::BadSignature);
  EXPECT_EQ(rejection_of(body_of(kData, "")), CallbackRejection::BadSignature);
  EXPECT_EQ(rejection_of(body_of(kData, kSignature.substr(1))), CallbackRejection::BadSignature);

  const json extra = data_with([](json& d) { d["injected"] = "x"; });
  EXPECT_EQ(rejection_of(body_of(extra, kSignature)), CallbackRejection::BadSignature);
}

TEST(PayOsVerify, SignatureIsCheckedBeforeAnythingInDataIsTrusted) {
  const json unusable = data_with([](json& d) { d.erase("paymentLinkId"); });
  EXPECT_EQ(rejection_of(body_of(unusable, kSignature)), CallbackRejection::BadSignature);
}

TEST(PayOsVerify, BodiesThatAreNotWebhooksAtAll) {
  const std::string sig = "\"" + kSignature + "\"";
  for (const std::string& body : std::vector<std::string>{
           std::string(""),
           std::string("not json"),
           std::string("[]"),
           std::string("{}"),
           R"({"desc":"success","data":{},"signature":)" + sig + "}",
           R"({"code":"00","data":{},"signature":)" + sig + "}",
           R"({"code":"00","desc":"success","signature":)" + sig + "}",
           R"({"code":"00","desc":"success","data":{}})",
           R"({"code":"00","desc":"success","data":"{}","signature":)" + sig + "}",
           R"({"code":"00","desc":"success","data":[],"signature":)" + sig + "}",
           R"({"code":"00","desc":"success","data":{},"signature":1})",
           body_of(kData, kSignature) + std::string(1, '\0') + "junk",
           body_of(kData, kSignature).substr(0, 100),
       }) {
    EXPECT_EQ(rejection_of(body), CallbackRejection::NotACallback) << body;
  }
}

TEST(PayOsVerify, SignedButUnusableDataIsMalformed) {
  for (const json& data : std::vector<json>{
           data_with([](json& d) { d.erase("paymentLinkId"); }),
           data_with([](json& d) { d["paymentLinkId"] = ""; }),
           data_with([](json& d) { d["paymentLinkId"] = 124; }),
           data_with([](json& d) { d.erase("amount"); }),
           data_with([](json& d) { d["amount"] = "3000"; }),
           data_with([](json& d) { d["amount"] = 3000.5; }),
           data_with([](json& d) { d["amount"] = -3000; }),
           data_with([](json& d) { d["amount"] = nullptr; }),
           data_with([](json& d) { d.erase("code"); }),
           data_with([](json& d) { d["code"] = 0; }),
           json::object(),
       }) {
    EXPECT_EQ(rejection_of(signed_body(data)), CallbackRejection::Malformed) << data.dump();
  }
}

// The signed string joins key=value pairs with '&', so a value holding "&key=" could carry a
// pair of its own: a genuine success, re-cut so that `code` swallows the next pair, signs byte
// for byte the same. Such data is refused; so is anything a value or key could be re-read from.
TEST(PayOsVerify, DataWhoseSignedStringReadsBackAsOtherDataIsRefused) {
  const json recut = data_with([](json& d) {
    d.erase("counterAccountBankId");
    d["code"] = "00&counterAccountBankId=";
  });
  ASSERT_EQ(payos_canonical_data(recut), payos_canonical_data(kData));  // the attack is real
  EXPECT_EQ(rejection_of(body_of(recut, kSignature)), CallbackRejection::Malformed);

  for (const json& data : std::vector<json>{
           data_with([](json& d) { d["desc"] = "ok&reference=FT1"; }),
           data_with([](json& d) { d["description"] = "a&b&c=d"; }),
           data_with([](json& d) { d["desc"] = "a&="; }),
           data_with([](json& d) { d["extra"] = json{{"k", "x&code=01"}}; }),
           data_with([](json& d) { d["we&ird"] = "1"; }),
           data_with([](json& d) { d["we=ird"] = "1"; }),
       }) {
    EXPECT_EQ(rejection_of(signed_body(data)), CallbackRejection::Malformed) << data.dump();
  }
  // '&' and '=' on their own read back one way only: such values are PayOS's to send.
  for (const json& data : std::vector<json>{
           data_with([](json& d) { d["counterAccountName"] = "CONG TY A & B"; }),
           data_with([](json& d) { d["description"] = "x=1&y"; }),
           data_with([](json& d) { d["desc"] = "trailing&"; }),
           data_with([](json& d) { d["unknownNewField"] = "v"; }),
       }) {
    EXPECT_TRUE(make_payos(kKeys)->verify(signed_body(data)).ok()) << data.dump();
  }
}

TEST(PayOsVerify, AKeyNamedTwiceOrAStringHoldingNulIsRefused) {
  const std::string signed_text = signed_body(kData);
  // The same body with `code` named twice in `data`: parsers differ on which one counts.
  std::string twice = signed_text;
  const auto at = twice.find(R"("code":"00")", twice.find(R"("data")"));
  ASSERT_NE(at, std::string::npos);
  twice.insert(at, R"("code":"01",)");
  EXPECT_EQ(rejection_of(twice), CallbackRejection::NotACallback);

  for (const json& data : std::vector<json>{
           data_with([](json& d) { d["paymentLinkId"] = std::string("124c\0junk", 9); }),
           data_with([](json& d) { d["desc"] = std::string("no\0pe", 5); }),
       }) {
    EXPECT_EQ(rejection_of(signed_body(data)), CallbackRejection::NotACallback) << data.dump();
  }
}

TEST(PayOsVerify, DeeplyNestedDataIsRefusedWithoutRecursingIntoIt) {
  std::string nested = "1";
  for (int i = 0; i < 5000; ++i) nested = "[" + nested + "]";
  const std::string body =
      R"({"code":"00","desc":"success","data":{"x":)" + nested + R"(},"signature":"00"})";
  EXPECT_EQ(rejection_of(body), CallbackRejection::Malformed);
}

TEST(PayOsVerify, WithoutAChecksumKeyEveryBodyIsNotConfigured) {
  const PayOsKeys none{"client-id", "api-key", ""};
  EXPECT_FALSE(make_payos(none)->configured());
  EXPECT_EQ(rejection_of(body_of(kData, kSignature), none), CallbackRejection::NotConfigured);
  EXPECT_EQ(rejection_of("garbage", none), CallbackRejection::NotConfigured);
}

TEST(PayOsSign, SignedWebhookVerifiesWithTheSameKeys) {
  PayOsWebhookData d;
  d.payment_link_id = "0f1e2d3c4b5a69788796a5b4c3d2e1f0";
  d.order_code = "20251213";
  d.amount = 150000;
  d.reference = "FT25347123456";
  const std::string body = sign_payos_webhook(kKeys, d);
  const auto cb = make_payos(kKeys)->verify(body);
  ASSERT_TRUE(cb.ok()) << body;
  EXPECT_EQ(cb->transaction_id, d.payment_link_id);
  EXPECT_EQ(cb->amount, 150000);
  EXPECT_EQ(cb->outcome, PaymentStatus::Completed);
  EXPECT_EQ(cb->provider_reference, "FT25347123456");

  const json parsed = json::parse(body);
  EXPECT_EQ(parsed["code"], "00");
  EXPECT_EQ(parsed["success"], true);
  EXPECT_EQ(parsed["data"]["orderCode"], 20251213) << "PayOS sends orderCode as a number";
  EXPECT_EQ(parsed["data"]["currency"], "VND");

  PayOsKeys other = kKeys;
  other.checksum_key = "another key";
  EXPECT_EQ(rejection_of(body, other), CallbackRejection::BadSignature);
}

TEST(PayOsSign, FailureWebhookRoundTripsAsAFailure) {
  PayOsWebhookData d;
  d.payment_link_id = "link-1";
  d.order_code = "TB-LTDTNL-20251213-8D39986M";  // not a number: sent as a string
  d.amount = 3000;
  d.code = "01";
  d.desc = "Hết hạn";
  const std::string body = sign_payos_webhook(kKeys, d);
  const auto cb = make_payos(kKeys)->verify(body);
  ASSERT_TRUE(cb.ok()) << body;
  EXPECT_EQ(cb->outcome, PaymentStatus::Failed);
  EXPECT_EQ(cb->reason, "Hết hạn");
  const json parsed = json::parse(body);
  EXPECT_EQ(parsed["success"], false);
  EXPECT_EQ(parsed["code"], "01");
  EXPECT_EQ(parsed["data"]["orderCode"], "TB-LTDTNL-20251213-8D39986M");
}

struct ReplyCase {
  IngestOutcome outcome;
  CallbackRejection rejection;
  int http_status;
  int error;
};

TEST(PayOsReply, EveryOutcomeGetsTheStatusPayOsExpects) {
  const auto provider = make_payos(kKeys);
  const auto any = CallbackRejection::NotACallback;  // ignored unless the outcome is Rejected
  const ReplyCase cases[] = {
      {IngestOutcome::Processed, any, 200, 0},
      {IngestOutcome::Duplicate, any, 200, 0},
      {IngestOutcome::UnknownPayment, any, 200, 0},
      {IngestOutcome::AmountMismatch, any, 409, -1},
      {IngestOutcome::TemporaryFailure, any, 503, -1},
      {IngestOutcome::Rejected, CallbackRejection::BadSignature, 401, -1},
      {IngestOutcome::Rejected, CallbackRejection::NotACallback, 400, -1},
      {IngestOutcome::Rejected, CallbackRejection::Malformed, 400, -1},
      {IngestOutcome::Rejected, CallbackRejection::Unsupported, 400, -1},
      {IngestOutcome::Rejected, CallbackRejection::AppIdMismatch, 400, -1},
      {IngestOutcome::Rejected, CallbackRejection::NotConfigured, 503, -1},
  };
  for (const auto& c : cases) {
    const HttpReply reply = provider->reply(c.outcome, c.rejection);
    SCOPED_TRACE(reply.body);
    EXPECT_EQ(reply.status, c.http_status);
    const json body = json::parse(reply.body);
    EXPECT_EQ(body.size(), 3u);
    EXPECT_EQ(body["error"], c.error);
    EXPECT_TRUE(body["message"].is_string());
    EXPECT_TRUE(body["data"].is_null());
  }
  const std::string ok = R"({"data":null,"error":0,"message":"ok"})";
  EXPECT_EQ(json::parse(provider->reply(IngestOutcome::Processed, any).body), json::parse(ok));
  const auto not_configured =
      json::parse(provider->reply(IngestOutcome::Rejected, CallbackRejection::NotConfigured).body);
  EXPECT_NE(not_configured["message"].get<std::string>().find("PAYOS_CHECKSUM_KEY"),
            std::string::npos);
}

}  // namespace
}  // namespace tbpay

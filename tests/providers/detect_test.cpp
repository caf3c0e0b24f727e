// `POST /webhook` tells the provider from the body's shape.
#include "providers/detect.h"

#include <gtest/gtest.h>

#include "providers/payos/payos.h"
#include "providers/zalopay/zalopay.h"

namespace tbpay {
namespace {

TEST(DetectProvider, SignedBodiesOfEachProviderAreRecognised) {
  const ZaloPayKeys zalopay{"2553", "k1", "k2"};
  EXPECT_EQ(detect_provider(sign_zalopay_callback(zalopay, "251213_TB-1", 1000)),
            Provider::ZaloPay);
  PayOsWebhookData d;
  d.payment_link_id = "link";
  d.order_code = "1";
  d.amount = 1000;
  EXPECT_EQ(detect_provider(sign_payos_webhook(PayOsKeys{"c", "a", "k"}, d)), Provider::PayOS);
}

TEST(DetectProvider, ShapeAloneDecidesWhateverTheValues) {
  EXPECT_EQ(detect_provider(R"({"data":"x","mac":"","type":7})"), Provider::ZaloPay);
  EXPECT_EQ(detect_provider(R"({"code":1,"desc":null,"data":{},"signature":"","extra":1})"),
            Provider::PayOS);
}

TEST(DetectProvider, AnythingElseIsUnknown) {
  for (const char* body :
       {"", "not json", "[]", "{}", R"({"data":"x","mac":""})", R"({"data":"x","type":1})",
        R"({"mac":"","type":1})", R"({"code":"00","desc":"","data":{}})",
        R"({"code":"00","desc":"","signature":""})", R"({"code":"00","data":{},"signature":""})"}) {
    EXPECT_EQ(detect_provider(body), std::nullopt) << body;
  }
  const std::string zalopay_shape = R"({"data":"x","mac":"","type":1})";
  ASSERT_EQ(detect_provider(zalopay_shape), Provider::ZaloPay);
  EXPECT_EQ(detect_provider(zalopay_shape + std::string(1, '\0') + "junk"), std::nullopt);
}

// Parsed once for both detection and verification, and still able to tell "malformed JSON"
// from "not a callback".
TEST(ParseCallbackBody, JsonThatCannotBeTrustedIsStillJsonTextThatIsNotIsNot) {
  const auto ok = parse_callback_body(R"({"data":"x","mac":"","type":1})");
  EXPECT_TRUE(ok.document.is_object());
  EXPECT_TRUE(ok.is_json);
  EXPECT_EQ(detect_provider(ok), Provider::ZaloPay);

  const std::string ambiguous[] = {
      R"({"data":"x","data":"y","mac":"","type":1})", R"({"data":"x\u0000y","mac":"","type":1})",
      R"({"data":"x","mac":"","type":1})" + std::string(1, '\0') + "junk"};
  for (const std::string& body : ambiguous) {
    const auto parsed = parse_callback_body(body);
    EXPECT_TRUE(parsed.document.is_discarded()) << body;
    EXPECT_TRUE(parsed.is_json) << body;
    EXPECT_EQ(detect_provider(parsed), std::nullopt) << body;
  }
  for (const char* body : {"", "not json", R"({"data": )"}) {
    const auto parsed = parse_callback_body(body);
    EXPECT_TRUE(parsed.document.is_discarded()) << body;
    EXPECT_FALSE(parsed.is_json) << body;
  }
}

}  // namespace
}  // namespace tbpay

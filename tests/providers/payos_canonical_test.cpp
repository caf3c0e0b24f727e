// The string PayOS signs (docs/providers.md): expected values came from a JavaScript reference
// (Object.keys().sort(), `${value}`, JSON.stringify with sorted keys) and pasted here.
#include <gtest/gtest.h>

#include <limits>

#include <nlohmann/json.hpp>

#include "crypto/crypto.h"
#include "providers/payos/payos.h"

namespace tbpay {
namespace {

using nlohmann::json;

std::string canonical(std::string_view data_json) {
  return payos_canonical_data(json::parse(data_json));
}

TEST(PayOsCanonical, DocumentationSampleSortsKeysAndEmptiesNull) {
  EXPECT_EQ(
      canonical(
          R"({"orderCode":123,"amount":3000,"description":"VQRIO123","accountNumber":"12345678",)"
          R"("reference":"TF230204212323","transactionDateTime":"2023-02-04 18:25:00","currency":"VND",)"
          R"("paymentLinkId":"124c33293c43417ab7879e14c8d9eb18","code":"00","desc":"Thành công",)"
          R"("counterAccountBankId":"","counterAccountBankName":"","counterAccountName":null,)"
          R"("counterAccountNumber":"","virtualAccountName":"","virtualAccountNumber":""})"),
      "accountNumber=12345678&amount=3000&code=00&counterAccountBankId=&counterAccountBankName=&"
      "counterAccountName=&counterAccountNumber=&currency=VND&desc=Thành công&"
      "description=VQRIO123&orderCode=123&paymentLinkId=124c33293c43417ab7879e14c8d9eb18&"
      "reference=TF230204212323&transactionDateTime=2023-02-04 18:25:00&virtualAccountName=&"
      "virtualAccountNumber=");
}

TEST(PayOsCanonical, NumbersBooleansNullAndEmptyStrings) {
  EXPECT_EQ(canonical(R"({"b":3000.0,"a":3000.5,"c":true,"d":false,"e":null,"f":""})"),
            "a=3000.5&b=3000&c=true&d=false&e=&f=");
}

TEST(PayOsCanonical, NestedArraysAndObjectsAreJsonWithSortedKeys) {
  EXPECT_EQ(
      canonical(
          R"({"items":[{"z":1,"a":{"y":2.50,"b":"x\"q\n"}},[3,null,1e21]],"meta":{"k":"v","b":[true]}})"),
      R"(items=[{"a":{"b":"x\"q\n","y":2.5},"z":1},[3,null,1e+21]]&meta={"b":[true],"k":"v"})");
  EXPECT_EQ(canonical(R"({"a":[],"b":{},"c":[{}]})"), "a=[]&b={}&c=[{}]");
}

TEST(PayOsCanonical, KeysSortInByteOrder) {
  EXPECT_EQ(canonical(R"({"Z":1,"a":2,"_":3,"é":4,"B":5})"), "B=5&Z=1&_=3&a=2&é=4");
}

TEST(PayOsCanonical, StringsAreRawNotEscapedNorEncoded) {
  EXPECT_EQ(canonical(R"({"d":"Thanh toán & xong=1 \"quoted\" 🎫","e":"a\\b/c"})"),
            "d=Thanh toán & xong=1 \"quoted\" 🎫&e=a\\b/c");
  EXPECT_EQ(canonical(R"({"n":"line\nbreak\ttab"})"), "n=line\nbreak\ttab");
}

TEST(PayOsCanonical, ControlCharactersInNestedStringsAreEscapedLikeJsonStringify) {
  EXPECT_EQ(canonical(R"({"a":["\u0001\b\f\r\u001f\u007f"]})"),
            "a=[\"\\u0001\\b\\f\\r\\u001f\x7f\"]");
}

TEST(PayOsCanonical, LargeAndTinyNumbersAsJavaScriptPrintsThem) {
  EXPECT_EQ(
      canonical(R"({"big":12345678901234567890,"neg":-0.0,"small":1e-7,"safe":9007199254740993})"),
      "big=12345678901234567000&neg=0&safe=9007199254740992&small=1e-7");
  EXPECT_EQ(canonical(R"({"max":9007199254740992,"min":-9007199254740992,"n":-42})"),
            "max=9007199254740992&min=-9007199254740992&n=-42");
}

TEST(PayOsCanonical, EmptyDataIsTheEmptyString) { EXPECT_EQ(canonical("{}"), ""); }

TEST(JsNumberText, FollowsNumberToString) {
  // Each right-hand side is what `String(x)` prints in Node.js.
  const std::pair<double, const char*> cases[] = {
      {3000.0, "3000"},
      {3000.5, "3000.5"},
      {0.1, "0.1"},
      {0.1 + 0.2, "0.30000000000000004"},
      {1e21, "1e+21"},
      {1e20, "100000000000000000000"},
      {123456789012345680000.0, "123456789012345680000"},
      {1e-6, "0.000001"},
      {1e-7, "1e-7"},
      {1.5e-7, "1.5e-7"},
      {-1.5, "-1.5"},
      {-0.0, "0"},
      {5e-324, "5e-324"},
      {1.7976931348623157e308, "1.7976931348623157e+308"},
      {std::numeric_limits<double>::infinity(), "Infinity"},
      {-std::numeric_limits<double>::infinity(), "-Infinity"},
  };
  for (const auto& [value, text] : cases) EXPECT_EQ(js_number_text(value), text);
}

}  // namespace
}  // namespace tbpay

// ZaloPay callback parsing and verification on arbitrary input. The first byte picks a mode:
//   '0' (and every byte = 0 mod 3): the rest is a raw callback body;
//   '1': the rest is the `data` text, posted with a correct MAC so the parser after the
//        signature check is reached;
//   '2': the rest drives a signed callback that must verify and round-trip exactly.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "crypto/crypto.h"
#include "providers/detect.h"
#include "providers/zalopay/zalopay.h"

namespace {

using tbpay::CallbackRejection;

const tbpay::ZaloPayKeys kKeys{"2553", "fuzz-key1", "fuzz-key2"};

void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "invariant broken: %s\n", what);
    std::abort();
  }
}

void verify_and_reply(const tbpay::PaymentProvider& zalopay, std::string_view body) {
  const auto result = zalopay.verify(body);
  if (result.ok()) {
    check(!result->transaction_id.empty(), "accepted callback has an app_trans_id");
    check(result->amount >= 0, "accepted amount is not negative");
    check(result->transaction_id.ends_with(result->fallback_order_code), "fallback is a suffix");
    check(result->outcome == tbpay::PaymentStatus::Completed, "ZaloPay callbacks complete");
    (void)zalopay.reply(tbpay::IngestOutcome::Processed, CallbackRejection::NotACallback);
  } else {
    const auto reply = zalopay.reply(tbpay::IngestOutcome::Rejected, result.error());
    check(nlohmann::json::accept(reply.body), "reply is JSON");
  }
}

void raw_body(const tbpay::PaymentProvider& zalopay, std::string_view body) {
  verify_and_reply(zalopay, body);
  (void)tbpay::detect_provider(body);
}

void correctly_signed_data(const tbpay::PaymentProvider& zalopay, std::string_view input) {
  // The JSON string literal for `input` (invalid UTF-8 replaced), and the exact text it decodes to.
  const std::string literal = nlohmann::json(std::string(input))
                                  .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  const std::string data = nlohmann::json::parse(literal).get<std::string>();
  const std::string body = R"({"data":)" + literal + R"(,"mac":")" +
                           tbpay::hmac_sha256_hex(kKeys.key2, data) + R"(","type":1})";
  const auto result = zalopay.verify(body);
  // A `data` holding U+0000 is refused whole, before its MAC: never used cut short.
  const bool nul = data.find('\0') != std::string::npos;
  check(result.ok() || (result.error() != CallbackRejection::BadSignature &&
                        (nul || result.error() != CallbackRejection::NotACallback)),
        "a correctly signed body passes the signature check");
  check(!nul || !result.ok(), "a data holding U+0000 is refused");
  verify_and_reply(zalopay, body);
}

void signed_round_trip(const tbpay::PaymentProvider& zalopay, FuzzedDataProvider& in) {
  tbpay::ZaloPayCallbackData data;
  data.app_trans_id = in.ConsumeRandomLengthString(64);
  data.amount = in.ConsumeIntegralInRange<std::int64_t>(0, INT64_MAX);
  data.zp_trans_id = in.ConsumeIntegral<std::int64_t>();
  data.app_time = in.ConsumeIntegral<std::int64_t>();
  data.app_user = in.ConsumeRandomLengthString(32);
  data.embed_data = in.ConsumeRandomLengthString(64);
  std::string body;
  try {
    body = tbpay::sign_zalopay_callback(kKeys, data);
  } catch (const nlohmann::json::type_error&) {
    return;  // a field that is not UTF-8 cannot be put in JSON: refused, as documented
  }
  check(tbpay::detect_provider(body) == tbpay::Provider::ZaloPay, "signed body is detected");
  const auto result = zalopay.verify(body);
  // Strings holding U+0000 are refused, never cut short.
  for (const std::string* field : {&data.app_trans_id, &data.app_user, &data.embed_data}) {
    if (field->find('\0') != std::string::npos) {
      check(!result.ok() && result.error() == CallbackRejection::Malformed, "NUL is refused");
      return;
    }
  }
  if (data.app_trans_id.empty()) {
    check(!result.ok() && result.error() == CallbackRejection::Malformed, "empty id is malformed");
    return;
  }
  check(result.ok(), "a signed callback verifies");
  check(result->transaction_id == data.app_trans_id, "app_trans_id round-trips");
  check(result->amount == data.amount, "amount round-trips");
  const std::string zp = data.zp_trans_id != 0 ? std::to_string(data.zp_trans_id) : "";
  check(zp.empty() || result->provider_reference == zp, "zp_trans_id round-trips");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
  static const auto zalopay = tbpay::make_zalopay(kKeys);
  if (size == 0) return 0;
  const std::string_view rest(reinterpret_cast<const char*>(bytes) + 1, size - 1);
  switch (bytes[0] % 3) {
    case 0:
      raw_body(*zalopay, rest);
      break;
    case 1:
      correctly_signed_data(*zalopay, rest);
      break;
    default: {
      FuzzedDataProvider in(bytes + 1, size - 1);
      signed_round_trip(*zalopay, in);
    }
  }
  return 0;
}

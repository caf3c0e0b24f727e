// PayOS canonicalisation and webhook verification on arbitrary input. The first byte picks a
// mode (its value mod 4):
//   '0': the rest is a raw webhook body;
//   '1': the rest is a `data` JSON value: canonicalised, then posted with a correct signature
//        so the checks after it are reached;
//   '2': the rest drives a signed webhook that must verify and round-trip exactly;
//   '3': the rest is a double that JavaScript's spelling of must read back unchanged.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "crypto/crypto.h"
#include "providers/detect.h"
#include "providers/payos/payos.h"

namespace {

using nlohmann::json;
using tbpay::CallbackRejection;

const tbpay::PayOsKeys kKeys{"fuzz-client", "fuzz-api-key", "fuzz-checksum-key"};

void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "invariant broken: %s\n", what);
    std::abort();
  }
}

// A value that is refused however it is signed: it holds U+0000, or a '&' followed by a '='
// before the next '&' (the signed string could be read back as other data).
bool refused_value(std::string_view v) {
  if (v.find('\0') != std::string_view::npos) return true;
  for (auto amp = v.find('&'); amp != std::string_view::npos;) {
    const auto next = v.find('&', amp + 1);
    const auto eq = v.find('=', amp + 1);
    if (eq != std::string_view::npos && eq < next) return true;
    amp = next;
  }
  return false;
}

bool holds_nul(const json& v) {
  if (v.is_string()) return v.get_ref<const std::string&>().find('\0') != std::string::npos;
  if (v.is_structured())
    for (auto it = v.begin(); it != v.end(); ++it)
      if ((v.is_object() && it.key().find('\0') != std::string::npos) || holds_nul(*it))
        return true;
  return false;
}

void verify_and_reply(const tbpay::PaymentProvider& payos, std::string_view body) {
  const auto result = payos.verify(body);
  if (result.ok()) {
    check(!result->transaction_id.empty(), "accepted webhook has a paymentLinkId");
    check(result->amount >= 0, "accepted amount is not negative");
    check(result->outcome == tbpay::PaymentStatus::Completed ||
              (result->outcome == tbpay::PaymentStatus::Failed && !result->reason.empty()),
          "a failure has a reason");
  } else {
    const auto reply = payos.reply(tbpay::IngestOutcome::Rejected, result.error());
    check(json::accept(reply.body), "reply is JSON");
  }
}

void raw_body(const tbpay::PaymentProvider& payos, std::string_view body) {
  verify_and_reply(payos, body);
  (void)tbpay::detect_provider(body);
}

void correctly_signed_data(const tbpay::PaymentProvider& payos, std::string_view input) {
  if (std::memchr(input.data(), '\0', input.size()) != nullptr) return;
  const json data = json::parse(input, nullptr, /*allow_exceptions=*/false);
  if (!data.is_object()) return;
  const std::string canonical = tbpay::payos_canonical_data(data);
  // Re-serialising and parsing again must not change what is signed.
  check(tbpay::payos_canonical_data(json::parse(data.dump())) == canonical,
        "canonical form is stable across a JSON round trip");
  const json body = {{"code", "00"},
                     {"desc", "success"},
                     {"data", data},
                     {"signature", tbpay::hmac_sha256_hex(kKeys.checksum_key, canonical)}};
  const std::string text = body.dump();
  const auto result = payos.verify(text);
  // Strings holding U+0000 are refused before the signature, never used cut short.
  const bool nul = holds_nul(data);
  check(result.ok() || result.error() == CallbackRejection::Malformed ||
            (nul && result.error() == CallbackRejection::NotACallback),
        "a correctly signed webhook passes the signature check");
  check(!nul || !result.ok(), "U+0000 is refused");
  verify_and_reply(payos, text);
}

void signed_round_trip(const tbpay::PaymentProvider& payos, FuzzedDataProvider& in) {
  tbpay::PayOsWebhookData data;
  data.payment_link_id = in.ConsumeRandomLengthString(40);
  data.order_code = in.ConsumeRandomLengthString(24);
  data.amount = in.ConsumeIntegralInRange<std::int64_t>(0, INT64_MAX);
  data.code = in.ConsumeBool() ? "00" : in.ConsumeRandomLengthString(4);
  data.desc = in.ConsumeRandomLengthString(32);
  data.description = in.ConsumeRandomLengthString(32);
  data.reference = in.ConsumeRandomLengthString(16);
  std::string body;
  try {
    body = tbpay::sign_payos_webhook(kKeys, data);
  } catch (const json::type_error&) {
    return;  // a field that is not UTF-8 cannot be put in JSON: refused, as documented
  }
  const auto result = payos.verify(body);
  for (const std::string* field : {&data.payment_link_id, &data.order_code, &data.code, &data.desc,
                                   &data.description, &data.reference}) {
    if (refused_value(*field)) {
      // Refused when the body is read, before its shape is looked at.
      check(!result.ok(), "an unreadable or NUL-holding value is refused");
      return;
    }
  }
  check(tbpay::detect_provider(body) == tbpay::Provider::PayOS, "signed body is detected");
  if (data.payment_link_id.empty()) {
    check(!result.ok() && result.error() == CallbackRejection::Malformed, "empty id is malformed");
    return;
  }
  check(result.ok(), "a signed webhook verifies");
  check(result->transaction_id == data.payment_link_id, "paymentLinkId round-trips");
  check(result->amount == data.amount, "amount round-trips");
  check((result->outcome == tbpay::PaymentStatus::Completed) == (data.code == "00"),
        "code 00 and only 00 completes");
}

void js_number(FuzzedDataProvider& in) {
  const double value = in.ConsumeFloatingPoint<double>();
  const std::string text = tbpay::js_number_text(value);
  if (value != value) return;  // NaN
  check(std::strtod(text.c_str(), nullptr) == value, "JavaScript spelling reads back exactly");
  check(text.find(".e") == std::string::npos && (text.size() < 2 || text.back() != '.'),
        "no dangling decimal point");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
  static const auto payos = tbpay::make_payos(kKeys);
  if (size == 0) return 0;
  const std::string_view rest(reinterpret_cast<const char*>(bytes) + 1, size - 1);
  FuzzedDataProvider in(bytes + 1, size - 1);
  switch (bytes[0] % 4) {
    case 0:
      raw_body(*payos, rest);
      break;
    case 1:
      correctly_signed_data(*payos, rest);
      break;
    case 2:
      signed_round_trip(*payos, in);
      break;
    default:
      js_number(in);
  }
  return 0;
}

#include "providers/payos/payos.h"

#include <cctype>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <optional>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>

#include "core/time.h"
#include "crypto/crypto.h"
#include "providers/http/answers.h"
#include "providers/json_text.h"

namespace tbpay {

namespace {

using nlohmann::json;
using Rejected = CallbackRejection;

// Real webhooks are flat; a deeper `data` is refused rather than recursed into.
constexpr int kMaxDataDepth = 64;
constexpr std::int64_t kMaxSafeInteger = (std::int64_t{1} << 53);  // JS Number.MAX_SAFE_INTEGER+1

void append_js_number(std::string& out, double value);

// Integers beyond 2^53 become doubles in JavaScript before they are printed.
template <class Int>
void append_js_integer(std::string& out, Int value) {
  bool exact = true;
  if constexpr (std::is_signed_v<Int>)
    exact = value >= -kMaxSafeInteger && value <= kMaxSafeInteger;
  else
    exact = value <= static_cast<std::uint64_t>(kMaxSafeInteger);
  if (!exact) {
    append_js_number(out, static_cast<double>(value));
    return;
  }
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof buf, value);
  out.append(buf, r.ptr);
}

// ECMAScript Number::toString(10): the shortest round-trip digits, laid out by the exponent.
void append_js_number(std::string& out, double value) {
  if (std::isnan(value)) {
    out.append("NaN");
    return;
  }
  if (value == 0) {  // also -0
    out.push_back('0');
    return;
  }
  if (value < 0) {
    out.push_back('-');
    value = -value;
  }
  if (std::isinf(value)) {
    out.append("Infinity");
    return;
  }

  char buf[32];
  const auto r = std::to_chars(buf, buf + sizeof buf, value, std::chars_format::scientific);
  const std::string_view sci(buf, static_cast<std::size_t>(r.ptr - buf));  // d[.ddd]e±XX
  const auto e_pos = sci.find('e');
  char digits[20];
  int k = 0;
  for (char c : sci.substr(0, e_pos))
    if (c != '.') digits[k++] = c;
  int exponent = 0;
  const auto exp_text = sci.substr(e_pos + 1);
  std::from_chars(exp_text.data() + (exp_text[0] == '+' ? 1 : 0), exp_text.data() + exp_text.size(),
                  exponent);
  const int n = exponent + 1;  // the decimal point sits after n digits

  if (k <= n && n <= 21) {
    out.append(digits, static_cast<std::size_t>(k));
    out.append(static_cast<std::size_t>(n - k), '0');
  } else if (0 < n && n <= 21) {
    out.append(digits, static_cast<std::size_t>(n));
    out.push_back('.');
    out.append(digits + n, static_cast<std::size_t>(k - n));
  } else if (-6 < n && n <= 0) {
    out.append("0.");
    out.append(static_cast<std::size_t>(-n), '0');
    out.append(digits, static_cast<std::size_t>(k));
  } else {
    out.push_back(digits[0]);
    if (k > 1) {
      out.push_back('.');
      out.append(digits + 1, static_cast<std::size_t>(k - 1));
    }
    out.push_back('e');
    out.push_back(n - 1 >= 0 ? '+' : '-');
    char ebuf[8];
    const auto er = std::to_chars(ebuf, ebuf + sizeof ebuf, std::abs(n - 1));
    out.append(ebuf, er.ptr);
  }
}

void append_number(std::string& out, const json& v) {
  if (v.is_number_unsigned())
    append_js_integer(out, v.get<std::uint64_t>());
  else if (v.is_number_integer())
    append_js_integer(out, v.get<std::int64_t>());
  else
    append_js_number(out, v.get<double>());
}

// A string literal as JSON.stringify writes it: only '"', '\\' and control characters escaped.
void append_json_string(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"':
        out.append("\\\"");
        break;
      case '\\':
        out.append("\\\\");
        break;
      case '\b':
        out.append("\\b");
        break;
      case '\f':
        out.append("\\f");
        break;
      case '\n':
        out.append("\\n");
        break;
      case '\r':
        out.append("\\r");
        break;
      case '\t':
        out.append("\\t");
        break;
      default:
        if (c < 0x20) {
          out.append("\\u00");
          out.push_back(kHex[c >> 4]);
          out.push_back(kHex[c & 0xf]);
        } else {
          out.push_back(ch);
        }
    }
  }
  out.push_back('"');
}

// JSON text with object keys in byte order (nlohmann::json keeps objects sorted) and numbers
// as JavaScript prints them. False when nested deeper than `depth_left`.
bool append_json_text(std::string& out, const json& v, int depth_left) {
  switch (v.type()) {
    case json::value_t::object: {
      if (depth_left <= 0) return false;
      out.push_back('{');
      bool first = true;
      for (auto it = v.begin(); it != v.end(); ++it) {
        if (!first) out.push_back(',');
        first = false;
        append_json_string(out, it.key());
        out.push_back(':');
        if (!append_json_text(out, it.value(), depth_left - 1)) return false;
      }
      out.push_back('}');
      return true;
    }
    case json::value_t::array: {
      if (depth_left <= 0) return false;
      out.push_back('[');
      bool first = true;
      for (const auto& item : v) {
        if (!first) out.push_back(',');
        first = false;
        if (!append_json_text(out, item, depth_left - 1)) return false;
      }
      out.push_back(']');
      return true;
    }
    case json::value_t::string:
      append_json_string(out, v.get_ref<const std::string&>());
      return true;
    case json::value_t::boolean:
      out.append(v.get<bool>() ? "true" : "false");
      return true;
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
    case json::value_t::number_float:
      append_number(out, v);
      return true;
    case json::value_t::null:
    case json::value_t::binary:
    case json::value_t::discarded:
      out.append("null");
      return true;
  }
  return true;
}

// One value of `data` as the signed string holds it: a string as it is, null as nothing, and
// anything else as its JSON text. False when nested deeper than `max_depth`.
bool append_value(std::string& out, const json& v, int max_depth) {
  if (v.is_string()) {
    out.append(v.get_ref<const std::string&>());
    return true;
  }
  if (v.is_null() || v.is_binary() || v.is_discarded()) return true;
  return append_json_text(out, v, max_depth);
}

std::optional<std::string> canonical_data(const json& data, int max_depth) {
  std::string out;
  out.reserve(512);
  bool first = true;
  for (auto it = data.begin(); it != data.end(); ++it) {
    if (!first) out.push_back('&');
    first = false;
    out.append(it.key());
    out.push_back('=');
    if (!append_value(out, it.value(), max_depth)) return {};
  }
  return out;
}

// Whether the signed string `key=value&key=value...` names this `data` and no other. It is
// read back by splitting at each '&' whose segment (up to the next '&') holds a '=': that
// segment starts a pair, its key ends at the first '='; any other segment belongs to the value
// before it. So the string is read back to this very object when no key holds '&' or '=', and
// no value holds a '&' whose segment holds a '='. Otherwise a value could carry a pair of its
// own: a success re-cut as {"code": "00&counterAccountBankId=", no counterAccountBankId} signs
// byte for byte the same. PayOS's own values (codes, amounts, ids, bank references, account
// names, descriptions without "&x=") all pass. Each key appears once (parse_json_text).
bool unambiguous_pairs(const json& data, int max_depth) {
  std::string value;
  for (auto it = data.begin(); it != data.end(); ++it) {
    if (it.key().find_first_of("&=") != std::string::npos) return false;
    value.clear();
    if (!append_value(value, it.value(), max_depth)) return false;
    for (auto amp = value.find('&'); amp != std::string::npos;) {
      const auto next = value.find('&', amp + 1);
      const auto eq = value.find('=', amp + 1);
      if (eq != std::string::npos && eq < next) return false;
      amp = next;
    }
  }
  return true;
}

std::optional<std::int64_t> as_int64(const json& v) {
  if (v.is_number_unsigned()) {
    const auto u = v.get<std::uint64_t>();
    if (u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) return {};
    return static_cast<std::int64_t>(u);
  }
  if (v.is_number_integer()) return v.get<std::int64_t>();
  return {};
}

const std::string* string_field(const json& object, std::string_view key) {
  const auto it = object.find(key);
  if (it == object.end() || !it->is_string()) return nullptr;
  return &it->get_ref<const std::string&>();
}

HttpReply payos_reply(int http_status, int error, std::string_view message) {
  json body = {{"error", error}, {"message", message}, {"data", nullptr}};
  HttpReply reply;
  reply.status = http_status;
  reply.body = body.dump();
  return reply;
}

// A path segment: unreserved characters as they are, everything else percent-encoded.
std::string path_segment(std::string_view v) { return percent_encoded(v, "-_.~", false); }

class PayOs final : public PaymentProvider {
 public:
  explicit PayOs(PayOsKeys keys)
      : keys_(std::move(keys)), api_(providers::api_url_or_throw("PAYOS_API_URL", keys_.api_url)) {}

  Provider id() const override { return Provider::PayOS; }
  bool configured() const override { return keys_.configured(); }

  using PaymentProvider::verify;
  Result<PaymentCallback, CallbackRejection> verify(const CallbackBody& body) const override {
    if (!configured()) return Rejected::NotConfigured;

    const json& webhook = body.document;
    if (!webhook.is_object()) return Rejected::NotACallback;
    const auto data = webhook.find("data");
    const auto signature = webhook.find("signature");
    if (!webhook.contains("code") || !webhook.contains("desc") || data == webhook.end() ||
        !data->is_object() || signature == webhook.end() || !signature->is_string())
      return Rejected::NotACallback;

    // Nothing inside `data` is trusted before its signature holds, and a signature only
    // vouches for a `data` its signed string cannot be read as another one.
    const auto canonical = canonical_data(*data, kMaxDataDepth);
    if (!canonical || !unambiguous_pairs(*data, kMaxDataDepth)) return Rejected::Malformed;
    if (!hex_digest_equal(hmac_sha256_hex(keys_.checksum_key, *canonical),
                          signature->get_ref<const std::string&>(), /*ignore_case=*/true))
      return Rejected::BadSignature;

    const std::string* link = string_field(*data, "paymentLinkId");
    const std::string* code = string_field(*data, "code");
    const auto amount_field = data->find("amount");
    if (link == nullptr || link->empty() || code == nullptr || amount_field == data->end())
      return Rejected::Malformed;
    const auto amount = as_int64(*amount_field);
    if (!amount || *amount < 0) return Rejected::Malformed;

    PaymentCallback cb;
    cb.provider = Provider::PayOS;
    cb.transaction_id = *link;
    cb.amount = *amount;
    if (*code == "00") {
      cb.outcome = PaymentStatus::Completed;
    } else {
      cb.outcome = PaymentStatus::Failed;
      const std::string* desc = string_field(*data, "desc");
      cb.reason = desc != nullptr && !desc->empty() ? *desc : "PayOS code " + *code;
    }
    if (const auto ref = data->find("reference"); ref != data->end()) {
      if (ref->is_string())
        cb.provider_reference = ref->get_ref<const std::string&>();
      else if (ref->is_number())
        append_number(cb.provider_reference, *ref);
    }
    return cb;
  }

  HttpReply reply(IngestOutcome outcome, CallbackRejection rejection) const override {
    switch (outcome) {
      case IngestOutcome::Processed:
      case IngestOutcome::Duplicate:
      // PayOS confirms a webhook URL with a signed sample for a payment that does not exist.
      case IngestOutcome::UnknownPayment:
        return payos_reply(200, 0, "ok");
      case IngestOutcome::AmountMismatch:
        return payos_reply(409, -1, "amount mismatch");
      case IngestOutcome::TemporaryFailure:
        return payos_reply(503, -1, "temporarily unavailable, retry later");
      case IngestOutcome::Rejected:
        break;
    }
    switch (rejection) {
      case Rejected::BadSignature:
        return payos_reply(401, -1, "invalid signature");
      case Rejected::NotACallback:
        return payos_reply(400, -1, "not a PayOS webhook");
      case Rejected::Malformed:
        return payos_reply(400, -1, "malformed data");
      case Rejected::AppIdMismatch:
      case Rejected::Unsupported:
        return payos_reply(400, -1, "unsupported webhook");
      case Rejected::NotConfigured:
        return payos_reply(503, -1, "PayOS is not configured: set PAYOS_CHECKSUM_KEY");
    }
    return payos_reply(500, -1, "internal error");
  }

  bool can_query() const override { return keys_.can_query(); }
  std::string_view query_keys_hint() const override {
    return "set PAYOS_CLIENT_ID, PAYOS_API_KEY and PAYOS_CHECKSUM_KEY to query PayOS";
  }

  // GET /v2/payment-requests/{paymentLinkId}; the answer's `data` is signed like a webhook's.
  StatusAnswer query_status(const Payment& payment) const override {
    using Kind = StatusAnswer::Kind;
    ApiRequest request;
    request.target = "/v2/payment-requests/" + path_segment(payment.provider_transaction_id);
    request.headers = {{"x-client-id", keys_.client_id}, {"x-api-key", keys_.api_key}};
    auto sent = client_.send(api_, request);
    StatusAnswer answer;
    if (!providers::usable_answer(sent, answer)) return answer;

    const json body = providers::parse_json_text(sent->body);
    if (!body.is_object()) {
      answer.detail = "PayOS's answer is not a JSON object";
      return answer;
    }
    const std::string* code = string_field(body, "code");
    const std::string* desc = string_field(body, "desc");
    if (code == nullptr || *code != "00") {
      answer.detail = "PayOS code " + (code ? *code : std::string("missing")) +
                      (desc ? ": " + *desc : std::string());
      return answer;
    }
    const auto data = body.find("data");
    if (data == body.end() || !data->is_object()) {
      answer.detail = "PayOS answered without data";
      return answer;
    }
    // Nothing in `data` is trusted before its signature holds.
    const std::string* signature = string_field(body, "signature");
    const auto canonical = canonical_data(*data, kMaxDataDepth);
    if (signature == nullptr || signature->empty()) {
      answer.kind = Kind::Suspicious;
      answer.detail = "PayOS answer has no signature";
      return answer;
    }
    if (!canonical || !hex_digest_equal(hmac_sha256_hex(keys_.checksum_key, *canonical), *signature,
                                        /*ignore_case=*/true)) {
      answer.kind = Kind::Suspicious;
      answer.detail = "PayOS answer's signature does not verify";
      return answer;
    }
    const std::string* id = string_field(*data, "id");
    const std::string* status = string_field(*data, "status");
    if (id == nullptr || *id != payment.provider_transaction_id) {
      answer.kind = Kind::Suspicious;
      answer.detail = "PayOS answered for another payment link";
      return answer;
    }
    if (status == nullptr) {
      answer.detail = "PayOS answered without a status";
      return answer;
    }
    answer.detail = "status " + *status;
    auto amount_of = [&](std::string_view key) -> std::optional<std::int64_t> {
      const auto it = data->find(key);
      return it == data->end() ? std::nullopt : as_int64(*it);
    };
    if (*status == "PENDING" || *status == "PROCESSING") {
      answer.kind = Kind::Pending;
      return answer;
    }
    if (*status == "UNDERPAID") {
      answer.kind = Kind::Suspicious;
      answer.detail = "status UNDERPAID: paid " +
                      std::to_string(amount_of("amountPaid").value_or(0)) + " of " +
                      std::to_string(amount_of("amount").value_or(0));
      return answer;
    }
    if (*status == "PAID") {
      const auto paid = amount_of("amountPaid") ? amount_of("amountPaid") : amount_of("amount");
      if (!paid) {
        answer.detail = "PayOS said PAID without an amount";
        return answer;
      }
      answer.kind = Kind::Settled;
      answer.outcome = PaymentStatus::Completed;
      answer.amount = *paid;
      // The last transaction's bank reference, as a webhook's `reference` carries it.
      if (const auto tx = data->find("transactions");
          tx != data->end() && tx->is_array() && !tx->empty() && tx->back().is_object()) {
        if (const std::string* ref = string_field(tx->back(), "reference"))
          answer.provider_reference = *ref;
      }
      return answer;
    }
    if (*status == "CANCELLED" || *status == "EXPIRED" || *status == "FAILED") {
      answer.kind = Kind::Settled;
      answer.outcome = PaymentStatus::Failed;
      answer.amount = amount_of("amount").value_or(payment.amount_cents);
      const std::string* why = string_field(*data, "cancellationReason");
      answer.reason = why && !why->empty() ? *why : "PayOS status " + *status;
      return answer;
    }
    answer.detail = "PayOS answered an unknown status '" + *status + "'";
    return answer;
  }

 private:
  PayOsKeys keys_;
  ApiUrl api_;
  ApiClient client_;
};

// PayOS sends orderCode as a number.
template <class Json>
Json order_code_value(const std::string& order_code) {
  std::int64_t n = 0;
  const auto* end = order_code.data() + order_code.size();
  const auto [ptr, ec] = std::from_chars(order_code.data(), end, n);
  if (!order_code.empty() && ec == std::errc() && ptr == end && order_code[0] != '-' &&
      (order_code.size() == 1 || order_code[0] != '0'))
    return Json(n);
  return Json(order_code);
}

template <class Json>
Json webhook_data(const PayOsWebhookData& d) {
  Json data;
  data["orderCode"] = order_code_value<Json>(d.order_code);
  data["amount"] = d.amount;
  data["description"] = d.description;
  data["accountNumber"] = d.account_number;
  data["reference"] = d.reference;
  data["transactionDateTime"] = d.transaction_date_time;
  data["currency"] = d.currency;
  data["paymentLinkId"] = d.payment_link_id;
  data["code"] = d.code;
  data["desc"] = d.desc;
  data["counterAccountBankId"] = "";
  data["counterAccountBankName"] = "";
  data["counterAccountName"] = nullptr;
  data["counterAccountNumber"] = "";
  data["virtualAccountName"] = "";
  data["virtualAccountNumber"] = "";
  return data;
}

}  // namespace

std::unique_ptr<PaymentProvider> make_payos(const PayOsKeys& keys) {
  return std::make_unique<PayOs>(keys);
}

std::string payos_canonical_data(const nlohmann::json& data) {
  return canonical_data(data, std::numeric_limits<int>::max()).value_or(std::string());
}

std::string js_number_text(double value) {
  std::string out;
  append_js_number(out, value);
  return out;
}

std::string sign_payos_webhook(const PayOsKeys& keys, const PayOsWebhookData& d) {
  PayOsWebhookData filled = d;
  if (filled.transaction_date_time.empty()) {
    auto text = to_sql_timestamp(now_utc());  // "2025-12-13 06:05:18.385"
    filled.transaction_date_time = text.substr(0, 19);
  }
  if (filled.description.empty()) filled.description = filled.order_code;
  if (filled.reference.empty()) {
    filled.reference = "FT" + std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                                                 now_utc().time_since_epoch())
                                                 .count());
  }

  nlohmann::ordered_json body;  // PayOS's own field order
  body["code"] = filled.code;
  body["desc"] = filled.desc;
  body["success"] = filled.code == "00";
  body["data"] = webhook_data<nlohmann::ordered_json>(filled);
  body["signature"] =
      hmac_sha256_hex(keys.checksum_key, payos_canonical_data(webhook_data<json>(filled)));
  return body.dump();
}

}  // namespace tbpay

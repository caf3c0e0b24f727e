#include "providers/zalopay/zalopay.h"

#include <cctype>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <limits>
#include <optional>
#include <string_view>
#include <utility>

#include <nlohmann/json.hpp>

#include "crypto/crypto.h"
#include "providers/http/answers.h"
#include "providers/http/api_client.h"
#include "providers/json_text.h"

namespace tbpay {

namespace {

using nlohmann::json;
using Rejected = CallbackRejection;

// An integer JSON value as int64, or nothing (floats, strings, out-of-range unsigned).
std::optional<std::int64_t> as_int64(const json& v) {
  if (v.is_number_unsigned()) {
    const auto u = v.get<std::uint64_t>();
    if (u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) return {};
    return static_cast<std::int64_t>(u);
  }
  if (v.is_number_integer()) return v.get<std::int64_t>();
  return {};
}

std::string integer_text(const json& v) {
  return v.is_number_unsigned() ? std::to_string(v.get<std::uint64_t>())
                                : std::to_string(v.get<std::int64_t>());
}

// app_id arrives as a number (ZaloPay's own callbacks) or as a string: compare the text.
std::optional<bool> app_id_matches(const json& v, std::string_view configured) {
  if (v.is_string()) return v.get_ref<const std::string&>() == configured;
  if (v.is_number_integer()) return integer_text(v) == configured;
  return {};
}

HttpReply zalopay_reply(int http_status, int return_code, std::string_view message) {
  json body = {{"return_code", return_code}, {"return_message", message}};
  HttpReply reply;
  reply.status = http_status;
  reply.body = body.dump();
  return reply;
}

// application/x-www-form-urlencoded value.
std::string form_encode(std::string_view v) { return percent_encoded(v, "-_.*", true); }

class ZaloPay final : public PaymentProvider {
 public:
  explicit ZaloPay(ZaloPayKeys keys)
      : keys_(std::move(keys)),
        api_(providers::api_url_or_throw("ZALOPAY_API_URL", keys_.api_url)) {}

  Provider id() const override { return Provider::ZaloPay; }
  bool configured() const override { return keys_.configured(); }

  using PaymentProvider::verify;
  Result<PaymentCallback, CallbackRejection> verify(const CallbackBody& body) const override {
    if (!configured()) return Rejected::NotConfigured;

    const json& callback = body.document;
    if (!callback.is_object()) return Rejected::NotACallback;
    const auto data = callback.find("data");
    const auto mac = callback.find("mac");
    const auto type = callback.find("type");
    if (data == callback.end() || !data->is_string() || mac == callback.end() ||
        !mac->is_string() || type == callback.end())
      return Rejected::NotACallback;

    // Nothing inside `data` is trusted before its MAC holds.
    const auto& data_text = data->get_ref<const std::string&>();
    if (!hex_digest_equal(hmac_sha256_hex(keys_.key2, data_text),
                          mac->get_ref<const std::string&>()))
      return Rejected::BadSignature;
    if (as_int64(*type) != 1) return Rejected::Unsupported;

    const json fields = providers::parse_json_text(data_text);
    if (!fields.is_object()) return Rejected::Malformed;
    const auto app_id = fields.find("app_id");
    if (app_id == fields.end()) return Rejected::Malformed;
    const auto app_id_ok = app_id_matches(*app_id, keys_.app_id);
    if (!app_id_ok) return Rejected::Malformed;
    if (!*app_id_ok) return Rejected::AppIdMismatch;

    const auto app_trans_id = fields.find("app_trans_id");
    const auto amount_field = fields.find("amount");
    if (app_trans_id == fields.end() || !app_trans_id->is_string() ||
        app_trans_id->get_ref<const std::string&>().empty() || amount_field == fields.end())
      return Rejected::Malformed;
    const auto amount = as_int64(*amount_field);
    if (!amount || *amount < 0) return Rejected::Malformed;

    PaymentCallback cb;
    cb.provider = Provider::ZaloPay;
    cb.transaction_id = app_trans_id->get_ref<const std::string&>();
    cb.fallback_order_code = zalopay_fallback_order_code(cb.transaction_id);
    cb.amount = *amount;
    cb.outcome = PaymentStatus::Completed;  // ZaloPay only calls back for successful payments
    if (const auto zp = fields.find("zp_trans_id"); zp != fields.end()) {
      if (zp->is_string())
        cb.provider_reference = zp->get_ref<const std::string&>();
      else if (zp->is_number_integer())
        cb.provider_reference = integer_text(*zp);
    }
    return cb;
  }

  HttpReply reply(IngestOutcome outcome, CallbackRejection rejection) const override {
    switch (outcome) {
      case IngestOutcome::Processed:
        return zalopay_reply(200, 1, "success");
      case IngestOutcome::Duplicate:
        return zalopay_reply(200, 2, "already processed");
      case IngestOutcome::UnknownPayment:
        // Maybe the core service has not committed the payment yet: ask ZaloPay to call again.
        return zalopay_reply(200, 0, "payment not found, retry later");
      case IngestOutcome::AmountMismatch:
        return zalopay_reply(200, -1, "amount mismatch");
      case IngestOutcome::TemporaryFailure:
        return zalopay_reply(200, 0, "temporary failure, retry later");
      case IngestOutcome::Rejected:
        break;
    }
    switch (rejection) {
      // ZaloPay reads return_code only from an HTTP 200: every refusal is 200 with -1.
      case Rejected::NotACallback:
        return zalopay_reply(200, -1, "not a ZaloPay callback");
      case Rejected::Malformed:
        return zalopay_reply(200, -1, "malformed data");
      case Rejected::BadSignature:
        return zalopay_reply(200, -1, "invalid mac");
      case Rejected::AppIdMismatch:
        return zalopay_reply(200, -1, "app_id mismatch");
      case Rejected::Unsupported:
        return zalopay_reply(200, -1, "unsupported callback type");
      case Rejected::NotConfigured:
        return zalopay_reply(503, 0,
                             "ZaloPay is not configured: set ZALOPAY_APP_ID and ZALOPAY_KEY2");
    }
    return zalopay_reply(500, 0, "internal error");
  }

  bool can_query() const override { return keys_.can_query(); }
  std::string_view query_keys_hint() const override {
    return "set ZALOPAY_APP_ID and ZALOPAY_KEY1 to query ZaloPay";
  }

  // POST /v2/query: app_id, app_trans_id, mac = HMAC-SHA256(key1, "app_id|app_trans_id|key1").
  StatusAnswer query_status(const Payment& payment) const override {
    using Kind = StatusAnswer::Kind;
    const std::string& trans = payment.provider_transaction_id;
    ApiRequest request;
    request.method = "POST";
    request.target = "/v2/query";
    request.content_type = "application/x-www-form-urlencoded";
    request.body =
        "app_id=" + form_encode(keys_.app_id) + "&app_trans_id=" + form_encode(trans) +
        "&mac=" + hmac_sha256_hex(keys_.key1, keys_.app_id + "|" + trans + "|" + keys_.key1);
    auto sent = client_.send(api_, request);
    StatusAnswer answer;
    if (!providers::usable_answer(sent, answer)) return answer;

    const json body = providers::parse_json_text(sent->body);
    if (!body.is_object()) {
      answer.detail = "ZaloPay's answer is not a JSON object";
      return answer;
    }
    const auto code_field = body.find("return_code");
    const auto code = code_field != body.end() ? as_int64(*code_field) : std::nullopt;
    if (!code) {
      answer.detail = "ZaloPay answered without a return_code";
      return answer;
    }
    const auto message_field = body.find("return_message");
    const std::string message = message_field != body.end() && message_field->is_string()
                                    ? message_field->get<std::string>()
                                    : std::string();
    const auto processing_field = body.find("is_processing");
    const bool processing = processing_field != body.end() && processing_field->is_boolean() &&
                            processing_field->get<bool>();
    answer.detail = "return_code " + std::to_string(*code) + (processing ? " (processing)" : "") +
                    (message.empty() ? "" : ": " + message);
    if (*code == 3 || ((*code == 1 || *code == 2) && processing)) {
      answer.kind = Kind::Pending;
      return answer;
    }
    if (*code != 1 && *code != 2) return answer;  // a refused query (bad mac, unknown app): retry
    // ZaloPay refuses a query it cannot read (wrong mac, unknown app_id, bad parameters) with
    // return_code 2 as well, telling them apart only by a sub_return_code from -400 to -499
    // (-401 invalid request, -402 invalid mac). Taken for a failed payment, a wrong ZALOPAY_KEY1
    // would fail every stale payment: it is a refusal, asked again once the keys are right.
    const auto sub_field = body.find("sub_return_code");
    const auto sub = sub_field != body.end() ? as_int64(*sub_field) : std::nullopt;
    if (*code == 2 && sub && *sub <= -400 && *sub >= -499) {
      const auto sub_message = body.find("sub_return_message");
      answer.detail = "ZaloPay refused the query (sub_return_code " + std::to_string(*sub) +
                      (sub_message != body.end() && sub_message->is_string()
                           ? ": " + sub_message->get<std::string>()
                           : std::string()) +
                      "); check ZALOPAY_APP_ID and ZALOPAY_KEY1";
      return answer;
    }
    answer.kind = Kind::Settled;
    answer.outcome = *code == 1 ? PaymentStatus::Completed : PaymentStatus::Failed;
    const auto amount = body.contains("amount") ? as_int64(body["amount"]) : std::nullopt;
    if (*code == 1 && !amount) {
      answer.kind = Kind::Unavailable;
      answer.detail = "ZaloPay said paid without an amount";
      return answer;
    }
    // A failed order may come back without its amount: nothing was paid, ours is the one.
    answer.amount = amount && *amount > 0 ? *amount : payment.amount_cents;
    if (const auto zp = body.find("zp_trans_id"); zp != body.end()) {
      if (zp->is_string())
        answer.provider_reference = zp->get_ref<const std::string&>();
      else if (zp->is_number_integer() && as_int64(*zp).value_or(0) != 0)
        answer.provider_reference = integer_text(*zp);
    }
    if (answer.outcome == PaymentStatus::Failed)
      answer.reason = message.empty() ? "ZaloPay return_code 2" : message;
    return answer;
  }

 private:
  ZaloPayKeys keys_;
  ApiUrl api_;
  ApiClient client_;
};

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// ZaloPay sends app_id as a number; keep any non-numeric configured id as a string.
nlohmann::ordered_json app_id_value(const std::string& app_id) {
  std::int64_t n = 0;
  const auto* end = app_id.data() + app_id.size();
  const auto [ptr, ec] = std::from_chars(app_id.data(), end, n);
  if (!app_id.empty() && ec == std::errc() && ptr == end && app_id[0] != '-' &&
      (app_id.size() == 1 || app_id[0] != '0'))
    return n;
  return app_id;
}

}  // namespace

std::unique_ptr<PaymentProvider> make_zalopay(const ZaloPayKeys& keys) {
  return std::make_unique<ZaloPay>(keys);
}

std::string zalopay_app_trans_id(std::string_view order_code, Timestamp at) {
  const std::chrono::year_month_day day{std::chrono::floor<std::chrono::days>(at)};
  char prefix[16];
  std::snprintf(prefix, sizeof prefix, "%02d%02u%02u_", static_cast<int>(day.year()) % 100,
                static_cast<unsigned>(day.month()), static_cast<unsigned>(day.day()));
  std::string id(prefix);
  id.append(order_code);
  return id;
}

std::string sign_zalopay_callback(const ZaloPayKeys& keys, const ZaloPayCallbackData& d) {
  const auto now = now_ms();
  nlohmann::ordered_json data;  // ZaloPay's own field order
  data["app_id"] = app_id_value(d.app_id.empty() ? keys.app_id : d.app_id);
  data["app_trans_id"] = d.app_trans_id;
  data["app_time"] = d.app_time != 0 ? d.app_time : now;
  data["app_user"] = d.app_user;
  data["amount"] = d.amount;
  data["embed_data"] = d.embed_data;
  data["item"] = d.item;
  data["zp_trans_id"] = d.zp_trans_id != 0 ? d.zp_trans_id : now;
  data["server_time"] = d.server_time != 0 ? d.server_time : now;
  data["channel"] = d.channel;
  data["merchant_user_id"] = d.merchant_user_id;
  data["user_fee_amount"] = d.user_fee_amount;
  data["discount_amount"] = d.discount_amount;
  const std::string text = data.dump();

  nlohmann::ordered_json body;
  body["data"] = text;
  body["mac"] = hmac_sha256_hex(keys.key2, text);
  body["type"] = 1;
  return body.dump();
}

std::string sign_zalopay_callback(const ZaloPayKeys& keys, std::string_view app_trans_id,
                                  std::int64_t amount, std::int64_t zp_trans_id) {
  ZaloPayCallbackData data;
  data.app_trans_id = std::string(app_trans_id);
  data.amount = amount;
  data.zp_trans_id = zp_trans_id;
  return sign_zalopay_callback(keys, data);
}

}  // namespace tbpay

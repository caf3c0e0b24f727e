#include "app/webhook.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <exception>
#include <span>
#include <optional>
#include <utility>

#include <nlohmann/json.hpp>

#include "app/serve_metrics.h"
#include "context/context.h"
#include "crypto/crypto.h"
#include "observability/metrics.h"
#include "providers/detect.h"

namespace tbpay {

namespace {

using Clock = std::chrono::steady_clock;

HttpReply json_reply(int status, const nlohmann::json& body, std::string allow = {}) {
  HttpReply r;
  r.status = status;
  r.body = body.dump();
  r.allow = std::move(allow);
  return r;
}

HttpReply error_reply(int status, std::string_view message, std::string allow = {}) {
  return json_reply(status, {{"error", message}}, std::move(allow));
}

std::optional<Provider> provider_for_path(std::string_view path) {
  if (path == "/webhook/zalopay" || path == "/webhook/zalo-pay") return Provider::ZaloPay;
  if (path == "/webhook/payos" || path == "/webhook/pay-os") return Provider::PayOS;
  return std::nullopt;
}

bool is_webhook_path(std::string_view path) {
  return path == "/webhook" || provider_for_path(path).has_value();
}

// "/webhook/zalopay/" is the same route as "/webhook/zalopay".
std::string_view without_trailing_slash(std::string_view path) {
  while (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  return path;
}

}  // namespace

// What one callback came to, gathered for its single log line.
struct CallbackRecord {
  Provider provider = Provider::ZaloPay;
  std::string request_id;
  IngestOutcome outcome = IngestOutcome::Rejected;
  std::optional<CallbackRejection> rejection;
  std::string order_code;
  std::string payment_id;
  std::optional<PaymentStatus> status;
  std::optional<std::int64_t> amount, expected_amount;
  std::string detail;  // e.g. the store's error message (never a key or signature)
};

namespace {

// A verified callback's record, before the database has its say.
CallbackRecord record_of(const DatabaseWork& work) {
  CallbackRecord rec;
  rec.provider = work.provider;
  rec.request_id = work.request_id;
  rec.order_code = work.callback.fallback_order_code;
  rec.amount = work.callback.amount;
  return rec;
}

IngestOutcome outcome_of(TransitionResult r) {
  switch (r) {
    case TransitionResult::Applied: return IngestOutcome::Processed;
    case TransitionResult::Duplicate: return IngestOutcome::Duplicate;
    case TransitionResult::PaymentNotFound: return IngestOutcome::UnknownPayment;
    case TransitionResult::AmountMismatch: return IngestOutcome::AmountMismatch;
  }
  return IngestOutcome::TemporaryFailure;
}

// A verified callback's record, with what the database made of it.
CallbackRecord record_of(const DatabaseWork& work, const Result<TransitionOutcome>& applied) {
  CallbackRecord rec = record_of(work);
  if (!applied && applied.error().kind == ErrorKind::Invalid) {
    // Signed, but not storable as given (e.g. a NUL byte): refused, never shortened.
    rec.outcome = IngestOutcome::Rejected;
    rec.rejection = CallbackRejection::Malformed;
    rec.detail = applied.error().message;
  } else if (!applied) {
    rec.outcome = IngestOutcome::TemporaryFailure;
    rec.detail = applied.error().message;
  } else {
    const TransitionOutcome& out = applied.value();
    rec.outcome = outcome_of(out.result);
    if (!out.order_code.empty()) rec.order_code = out.order_code;
    rec.payment_id = out.payment_id;
    if (out.result != TransitionResult::PaymentNotFound) rec.status = out.status;
    if (out.result == TransitionResult::AmountMismatch) rec.expected_amount = out.expected_amount;
  }
  return rec;
}

// How a callback's line is written.
struct LogLine {
  LogLevel level = LogLevel::Info;
  std::string_view message;
  bool alert = false;     // a security event: "alert": true
  bool budgeted = false;  // anyone can cause it: within the rejected lines' budget
};

// What each outcome is called (log field "outcome", metric label), counted as and logged as.
struct OutcomeTraits {
  IngestOutcome outcome;
  std::string_view name;
  std::string_view metric;  // EMF, by provider
  LogLine line;
};

// clang-format off
constexpr std::array<OutcomeTraits, 6> kOutcomes{{
    {IngestOutcome::Processed, "processed", "WebhookProcessed", {LogLevel::Info, "webhook"}},
    {IngestOutcome::Duplicate, "duplicate", "WebhookDuplicate", {LogLevel::Info, "webhook"}},
    {IngestOutcome::UnknownPayment, "unknown_payment", "WebhookUnknownPayment",
     {LogLevel::Warn, "webhook for unknown payment"}},
    {IngestOutcome::AmountMismatch, "amount_mismatch", "WebhookAmountMismatch",
     {LogLevel::Error, "webhook amount does not match the payment", /*alert=*/true}},
    {IngestOutcome::TemporaryFailure, "temporary_failure", "WebhookTemporaryFailure",
     {LogLevel::Error, "webhook temporary failure"}},
    {IngestOutcome::Rejected, "rejected", "WebhookRejected",
     {LogLevel::Warn, "webhook rejected", false, /*budgeted=*/true}},
}};
// clang-format on
static_assert([] {
  for (std::size_t i = 0; i < kOutcomes.size(); ++i)
    if (static_cast<std::size_t>(kOutcomes[i].outcome) != i) return false;
  return true;
}());

const OutcomeTraits& traits(IngestOutcome o) { return kOutcomes[static_cast<std::size_t>(o)]; }

// The outcome's line, but for three cases that say more.
LogLine log_line(const CallbackRecord& rec) {
  if (rec.rejection == CallbackRejection::AppIdMismatch)
    return {LogLevel::Error, "webhook signed for another app_id", /*alert=*/true};
  if (rec.rejection == CallbackRejection::NotConfigured)
    return {LogLevel::Warn, "webhook provider not configured", false, /*budgeted=*/true};
  if (rec.outcome == IngestOutcome::UnknownPayment && rec.provider == Provider::PayOS)
    return {LogLevel::Info,
            "webhook for unknown payment acknowledged (PayOS URL confirmation sample)"};
  return traits(rec.outcome).line;
}

// Writes the line when the budget allows, with "suppressed": N when lines were left out.
void log_within(LogBudget& budget, const Logger& log, LogLevel level, std::string_view message,
                nlohmann::json fields) {
  std::uint64_t suppressed = 0;
  if (!budget.admit(LogBudget::Clock::now(), suppressed)) return;
  if (suppressed > 0) fields["suppressed"] = suppressed;
  log.log(level, message, fields);
}

// Callbacks naming one payment share a lane in `serve` ("ZALOPAY 251213_TB-1").
std::string payment_key(const PaymentCallback& cb) {
  std::string key(to_string(cb.provider));
  key += ' ';
  key += cb.transaction_id;
  return key;
}

}  // namespace

bool LogBudget::admit(Clock::time_point now, std::uint64_t& suppressed) {
  std::lock_guard lock(mutex_);
  if (last_ != Clock::time_point{})
    tokens_ = std::min(burst_,
                       tokens_ + std::chrono::duration<double>(now - last_).count() * per_second_);
  last_ = now;
  if (tokens_ < 1) {
    ++suppressed_;
    return false;
  }
  tokens_ -= 1;
  suppressed = std::exchange(suppressed_, 0);
  return true;
}

void LogBudget::set(int per_second, int burst) {
  std::lock_guard lock(mutex_);
  per_second_ = per_second;
  burst_ = std::max(1, burst);
  tokens_ = burst_;
}

std::string_view outcome_name(IngestOutcome o) { return traits(o).name; }

std::string_view rejection_name(CallbackRejection r) {
  switch (r) {
    case CallbackRejection::NotACallback: return "not_a_callback";
    case CallbackRejection::Malformed: return "malformed";
    case CallbackRejection::BadSignature: return "bad_signature";
    case CallbackRejection::AppIdMismatch: return "app_id_mismatch";
    case CallbackRejection::Unsupported: return "unsupported";
    case CallbackRejection::NotConfigured: return "not_configured";
  }
  return "malformed";
}

WebhookIngestion::WebhookIngestion(Context& ctx) : ctx_(ctx) {}
WebhookIngestion::WebhookIngestion(Context& ctx, Metrics& metrics, ServeMetrics* exposed)
    : ctx_(ctx), metrics_(&metrics), exposed_(exposed) {}

void WebhookIngestion::set_log_budget(int per_second, int burst) {
  rejected_budget_.set(per_second, burst);
  unrecognised_budget_.set(per_second, burst);
  not_ready_budget_.set(per_second, burst);
}

HttpReply WebhookIngestion::handle(const WebhookRequest& request) {
  auto routed = route(request);
  if (auto* reply = std::get_if<HttpReply>(&routed)) return std::move(*reply);
  return run(std::get<DatabaseWork>(routed));
}

std::variant<HttpReply, DatabaseWork> WebhookIngestion::route(const WebhookRequest& request) {
  const std::string_view path = without_trailing_slash(request.path);
  const std::string_view method = request.method;
  const bool read = method == "GET" || method == "HEAD";

  if (path == "/healthz") {
    if (!read) return error_reply(405, "method not allowed", "GET, HEAD");
    return json_reply(200, {{"status", "ok"}});
  }
  if (path == "/readyz") {
    if (!read) return error_reply(405, "method not allowed", "GET, HEAD");
    DatabaseWork work;
    work.kind = DatabaseWork::Kind::Readiness;
    work.started = Clock::now();
    return work;
  }
  if (!is_webhook_path(path)) return error_reply(404, "not found");
  if (method != "POST") return error_reply(405, "method not allowed", "POST");

  const auto started = Clock::now();
  std::string request_id = request.request_id.empty() ? uuid_v4() : request.request_id;
  // Parsed once: plain /webhook tells the provider from it, the provider verifies it.
  const CallbackBody body = parse_callback_body(request.body);
  auto provider = provider_for_path(path);
  if (!provider) provider = detect_provider(body);  // plain /webhook: by the body's shape
  if (!provider) {
    log_within(unrecognised_budget_, ctx_.log, LogLevel::Warn, "webhook rejected",
               {{"request_id", request_id},
                {"outcome", "rejected"},
                {"reason", "unrecognised body"},
                {"body_bytes", request.body.size()}});
    if (metrics_) metrics_->count("WebhookUnrecognised");
    if (exposed_) exposed_->webhook_unrecognised();
    return error_reply(400, body.is_json ? "not a ZaloPay or PayOS callback" : "malformed JSON");
  }
  return verify(*provider, body, std::move(request_id), started);
}

std::variant<HttpReply, DatabaseWork> WebhookIngestion::verify(Provider provider,
                                                               const CallbackBody& body,
                                                               std::string request_id,
                                                               Clock::time_point started) {
  CallbackRecord rec;
  rec.provider = provider;
  try {
    auto verified = ctx_.provider(provider).verify(body);  // NotConfigured without keys
    if (verified) {
      DatabaseWork work;
      work.provider = provider;
      work.request_id = std::move(request_id);
      work.callback = std::move(verified).value();
      work.payment_key = payment_key(work.callback);
      work.started = started;
      return work;
    }
    rec.outcome = IngestOutcome::Rejected;
    rec.rejection = verified.error();
  } catch (const std::exception& e) {
    // A bug or an adapter surprise: ask the provider to retry rather than lose the callback.
    rec.outcome = IngestOutcome::TemporaryFailure;
    rec.detail = std::string("unexpected: ") + e.what();
  }
  rec.request_id = std::move(request_id);
  return conclude(rec, started);
}

HttpReply WebhookIngestion::retry_later(const DatabaseWork& work, std::chrono::milliseconds waited) {
  if (work.kind == DatabaseWork::Kind::Readiness)
    return json_reply(503, {{"status", "unavailable"}, {"error", "database busy"}});
  CallbackRecord rec = record_of(work);
  rec.outcome = IngestOutcome::TemporaryFailure;
  rec.detail = "not run: waited " + std::to_string(waited.count()) +
               " ms for its turn, behind a callback for the same payment that waited out "
               "lock_timeout, or behind a busy database";
  return conclude(rec, work.started);
}

HttpReply WebhookIngestion::run(const DatabaseWork& work) {
  if (work.kind == DatabaseWork::Kind::Readiness) {
    auto ping = ctx_.db->payments().ping();
    if (ping) return json_reply(200, {{"status", "ready"}});
    log_within(not_ready_budget_, ctx_.log, LogLevel::Warn, "not ready",
               {{"error", ping.error().message}});
    return json_reply(503, {{"status", "unavailable"}, {"error", "database unreachable"}});
  }
  std::optional<HttpReply> reply;
  const DatabaseWork* works[] = {&work};
  run_all(works, [&](std::size_t, HttpReply r) { reply = std::move(r); });
  return std::move(*reply);
}

void WebhookIngestion::run_all(std::span<const DatabaseWork* const> works, const Answer& answer) {
  std::vector<bool> answered(works.size(), false);
  const auto conclude_one = [&](std::size_t i, const CallbackRecord& rec) {
    HttpReply reply = conclude(rec, works[i]->started);
    answered[i] = true;
    answer(i, std::move(reply));
  };
  try {
    if (exposed_) exposed_->commit_group(works.size());
    std::vector<TransitionRequest> requests;
    requests.reserve(works.size());
    for (const DatabaseWork* work : works)
      requests.push_back({work->callback, uuid_v4(), now_utc()});
    ctx_.db->payments().apply_all(requests, [&](std::size_t i, Result<TransitionOutcome> applied) {
      conclude_one(i, record_of(*works[i], applied));
    });
  } catch (const std::exception& e) {
    // A bug or an adapter surprise: ask the provider to retry rather than lose the callback.
    for (std::size_t i = 0; i < works.size(); ++i) {
      if (answered[i]) continue;
      CallbackRecord rec = record_of(*works[i]);
      rec.outcome = IngestOutcome::TemporaryFailure;
      rec.detail = std::string("unexpected: ") + e.what();
      conclude_one(i, rec);
    }
  }
}

// The one log line of a callback, its metrics and its reply.
HttpReply WebhookIngestion::conclude(const CallbackRecord& rec, Clock::time_point started) {
  const Provider provider = rec.provider;
  HttpReply reply = ctx_.provider(provider).reply(
      rec.outcome, rec.rejection.value_or(CallbackRejection::Malformed));
  // A provider without keys answers 503, whatever its usual reply convention.
  if (rec.rejection == CallbackRejection::NotConfigured) reply.status = 503;

  nlohmann::json fields = {{"request_id", rec.request_id},
                           {"provider", to_string(provider)},
                           {"outcome", outcome_name(rec.outcome)},
                           {"http_status", reply.status}};
  if (!rec.order_code.empty()) fields["order_code"] = rec.order_code;
  if (!rec.payment_id.empty()) fields["payment_id"] = rec.payment_id;
  if (rec.status) fields["status"] = to_string(*rec.status);
  if (rec.rejection) fields["reason"] = rejection_name(*rec.rejection);
  if (rec.amount) fields["amount"] = *rec.amount;
  if (rec.expected_amount) fields["expected_amount"] = *rec.expected_amount;
  if (!rec.detail.empty()) fields["error"] = rec.detail;
  const auto took = Clock::now() - started;
  fields["latency_ms"] = std::chrono::duration<double, std::milli>(took).count();

  const LogLine line = log_line(rec);
  if (line.alert) fields["alert"] = true;
  if (line.budgeted)  // with a count of the lines left out
    log_within(rejected_budget_, ctx_.log, line.level, line.message, std::move(fields));
  else
    ctx_.log.log(line.level, line.message, fields);

  if (metrics_) {
    const MetricDimension dim{"Provider", to_string(provider)};
    metrics_->count("WebhookReceived", 1, dim);
    metrics_->count(traits(rec.outcome).metric, 1, dim);
    if (rec.rejection == CallbackRejection::AppIdMismatch)
      metrics_->count("WebhookAppIdMismatch", 1, dim);
    if (rec.rejection == CallbackRejection::BadSignature)
      metrics_->count("WebhookBadSignature", 1, dim);
  }
  if (exposed_) exposed_->webhook(provider, rec.outcome, rec.rejection, took);
  return reply;
}

}  // namespace tbpay

#include "app/reconcile.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "context/context.h"
#include "crypto/crypto.h"
#include "observability/metrics.h"

namespace tbpay {

namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// A Retry-After longer than this is not waited for within one run: the rest of that
// provider's payments wait for the next run.
constexpr auto kMaxRetryAfterWait = 60s;
constexpr auto kProgressEvery = 2s;

// Spaces one provider's requests at least 1/rps apart, and holds them while it asked us to
// wait (429 Retry-After).
class RateGate {
 public:
  explicit RateGate(int rps)
      : interval_(rps > 0 ? std::chrono::duration_cast<Clock::duration>(1s) / rps
                          : Clock::duration::zero()) {}

  // Reserves the next slot; the caller sends at the returned time.
  Clock::time_point reserve() {
    std::lock_guard lock(mutex_);
    const auto at = std::max({Clock::now(), next_, blocked_until_});
    next_ = at + interval_;
    return at;
  }

  void block_until(Clock::time_point t) {
    std::lock_guard lock(mutex_);
    blocked_until_ = std::max(blocked_until_, t);
    next_ = std::max(next_, blocked_until_);
  }

 private:
  std::mutex mutex_;
  Clock::duration interval_;
  Clock::time_point next_{};
  Clock::time_point blocked_until_{};
};

// Sleeps until `t` unless `stop` is requested first. False when it was.
bool sleep_until(std::stop_token stop, Clock::time_point t) {
  if (t <= Clock::now()) return !stop.stop_requested();
  std::mutex m;
  std::condition_variable_any cv;
  std::unique_lock lock(m);
  cv.wait_until(lock, stop, t, [] { return false; });
  return !stop.stop_requested();
}

std::size_t provider_index(Provider p) { return p == Provider::ZaloPay ? 0 : 1; }

struct Item {
  Payment payment;
  bool leaving = false;  // its age passed the window since the previous run: last chance
};

nlohmann::json payment_fields(const Payment& p) {
  return {{"provider", to_string(p.provider)},
          {"payment_id", p.id},
          {"order_code", p.order_code},
          {"amount", p.amount_cents},
          {"created_at", to_iso8601(p.created_at)}};
}

}  // namespace

ReconcileOptions ReconcileOptions::from(const ReconcileSettings& s) {
  ReconcileOptions o;
  o.older_than = s.after;
  o.younger_than = s.within;
  o.concurrency = s.concurrency;
  o.rps = s.rps;
  return o;
}

nlohmann::json to_json(const ReconcileReport& r) {
  nlohmann::json j = {{"checked", r.checked}, {"completed", r.completed},
                      {"failed", r.failed},   {"still_pending", r.still_pending},
                      {"errors", r.errors},   {"mismatches", r.mismatches}};
  if (r.left_window) j["left_window"] = r.left_window;
  if (r.skipped) j["skipped"] = r.skipped;
  if (r.dry_run) j["dry_run"] = true;
  if (r.store_error) j["error"] = *r.store_error;
  return j;
}

Reconciler::Reconciler(Context& ctx, Metrics* metrics) : ctx_(ctx), metrics_(metrics) {}

ReconcileReport Reconciler::run(const ReconcileOptions& options, Timestamp now) {
  ReconcileReport report;
  report.dry_run = options.dry_run;

  std::vector<Provider> providers;
  for (Provider p : {Provider::ZaloPay, Provider::PayOS}) {
    const PaymentProvider& provider = ctx_.provider(p);
    if (provider.can_query()) {
      providers.push_back(p);
    } else if (!warned_unconfigured_[provider_index(p)]) {
      warned_unconfigured_[provider_index(p)] = true;
      ctx_.log.warn("reconcile skips a provider without keys",
                    {{"provider", to_string(p)}, {"hint", provider.query_keys_hint()}});
    }
  }
  if (providers.empty()) return report;

  // One read: the window, and with `every` the payments that left it since the previous run
  // (created in the `every` before its start), each part at most `limit`.
  const Timestamp window_start = now - options.younger_than;
  const Timestamp from = options.every > 0ms ? window_start - options.every : window_start;
  auto stale = ctx_.db->payments().pending_created_between(from, window_start,
                                                           now - options.older_than, providers,
                                                           options.limit);
  if (!stale) {
    report.store_error = "cannot read stale payments: " + stale.error().message;
    ctx_.log.error("reconcile cannot read stale payments", {{"error", stale.error().message}});
    return report;
  }
  std::vector<Item> items;
  for (auto& p : *stale) {
    const bool leaving = p.created_at < window_start;
    items.push_back({std::move(p), leaving});
  }
  if (items.empty()) return report;

  RateGate gates[2] = {RateGate(options.rps), RateGate(options.rps)};
  std::atomic<std::size_t> next{0};
  std::mutex mutex;  // guards report and last_progress
  auto last_progress = Clock::now();

  auto tally = [&](std::int64_t ReconcileReport::*field) {
    std::lock_guard lock(mutex);
    ++(report.*field);
    if (progress_ && Clock::now() - last_progress >= kProgressEvery) {
      last_progress = Clock::now();
      progress_(report);
    }
  };

  // Unless settled, a payment leaving the window is reported now, once.
  auto report_leaving = [&](const Item& item, std::string_view detail) {
    if (!item.leaving) return;
    auto fields = payment_fields(item.payment);
    fields["detail"] = detail;
    fields["alert"] = true;
    ctx_.log.error("payment left the reconcile window still PENDING", fields);
    tally(&ReconcileReport::left_window);
  };

  auto settle = [&](const Item& item, const StatusAnswer& answer) {
    const Payment& payment = item.payment;
    auto fields = payment_fields(payment);
    fields["outcome"] = to_string(answer.outcome);
    if (!answer.provider_reference.empty())
      fields["provider_reference"] = answer.provider_reference;
    if (!answer.reason.empty()) fields["reason"] = answer.reason;
    if (answer.amount != payment.amount_cents) {
      fields["provider_amount"] = answer.amount;
      fields["alert"] = true;
      ctx_.log.error("reconcile: provider's amount does not match the payment", fields);
      tally(&ReconcileReport::mismatches);
      report_leaving(item, "amount mismatch");
      return;
    }
    auto count_outcome = [&] {
      tally(answer.outcome == PaymentStatus::Completed ? &ReconcileReport::completed
                                                       : &ReconcileReport::failed);
    };
    if (options.dry_run) {
      ctx_.log.info("reconcile would settle (dry run)", fields);
      count_outcome();
      return;
    }
    PaymentCallback cb;
    cb.provider = payment.provider;
    cb.transaction_id = payment.provider_transaction_id;
    cb.amount = answer.amount;
    cb.outcome = answer.outcome;
    cb.reason = answer.reason;
    cb.provider_reference = answer.provider_reference;
    auto applied = ctx_.db->payments().apply(TransitionRequest{cb, uuid_v4(), now_utc()});
    if (!applied) {
      fields["error"] = applied.error().message;
      ctx_.log.error("reconcile could not settle the payment", fields);
      tally(&ReconcileReport::errors);
      report_leaving(item, "store error");
      return;
    }
    switch (applied->result) {
      case TransitionResult::Applied:
        fields["event_id"] = applied->event_id;
        ctx_.log.info("reconcile settled the payment", fields);
        count_outcome();
        return;
      case TransitionResult::Duplicate:  // a callback got there first
        fields["status"] = to_string(applied->status);
        ctx_.log.info("reconcile: payment already settled", fields);
        return;
      case TransitionResult::AmountMismatch:
        fields["provider_amount"] = answer.amount;
        fields["expected_amount"] = applied->expected_amount;
        fields["alert"] = true;
        ctx_.log.error("reconcile: provider's amount does not match the payment", fields);
        tally(&ReconcileReport::mismatches);
        return;
      case TransitionResult::PaymentNotFound:
        ctx_.log.warn("reconcile: payment vanished", fields);
        tally(&ReconcileReport::errors);
        return;
    }
  };

  auto work = [&] {
    for (;;) {
      const std::size_t i = next.fetch_add(1);
      if (i >= items.size()) return;
      const Item& item = items[i];
      const Provider pid = item.payment.provider;
      const auto at = gates[provider_index(pid)].reserve();
      const bool too_late = options.deadline && at > *options.deadline;
      if (too_late || at - Clock::now() > kMaxRetryAfterWait || !sleep_until(options.stop, at)) {
        tally(&ReconcileReport::skipped);
        continue;
      }
      const StatusAnswer answer = ctx_.provider(pid).query_status(item.payment);
      tally(&ReconcileReport::checked);
      auto fields = payment_fields(item.payment);
      fields["detail"] = answer.detail;
      switch (answer.kind) {
        case StatusAnswer::Kind::Settled:
          settle(item, answer);
          break;
        case StatusAnswer::Kind::Pending:
          ctx_.log.debug("reconcile: still pending at the provider", fields);
          tally(&ReconcileReport::still_pending);
          report_leaving(item, answer.detail);
          break;
        case StatusAnswer::Kind::Suspicious:
          fields["alert"] = true;
          ctx_.log.error("reconcile: provider's answer cannot settle the payment", fields);
          tally(&ReconcileReport::mismatches);
          report_leaving(item, answer.detail);
          break;
        case StatusAnswer::Kind::Unavailable:
          if (answer.retry_after) {
            gates[provider_index(pid)].block_until(Clock::now() + *answer.retry_after);
            fields["retry_after_ms"] = answer.retry_after->count();
          }
          ctx_.log.warn("reconcile: no usable answer from the provider", fields);
          tally(&ReconcileReport::errors);
          report_leaving(item, answer.detail);
          break;
      }
    }
  };

  const std::size_t threads = std::min<std::size_t>(
      static_cast<std::size_t>(std::max(options.concurrency, 1)), items.size());
  {
    std::vector<std::jthread> workers;
    workers.reserve(threads);
    for (std::size_t t = 0; t < threads; ++t) workers.emplace_back(work);
  }

  if (metrics_) {
    metrics_->count("ReconcileChecked", static_cast<double>(report.checked));
    metrics_->count("ReconcileCompleted", static_cast<double>(report.completed));
    metrics_->count("ReconcileFailed", static_cast<double>(report.failed));
    metrics_->count("ReconcileStillPending", static_cast<double>(report.still_pending));
    metrics_->count("ReconcileErrors", static_cast<double>(report.errors));
    metrics_->count("ReconcileMismatches", static_cast<double>(report.mismatches));
    metrics_->count("ReconcileLeftWindow", static_cast<double>(report.left_window));
  }
  ctx_.log.info("reconcile run", to_json(report));
  return report;
}

}  // namespace tbpay

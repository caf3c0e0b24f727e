#pragma once
// What `tbpay serve` exposes on GET /metrics (Prometheus): the counts its CloudWatch EMF lines
// carry, under Prometheus names, plus the outbox and database pool gauges an operator watches.
// The README's "Prometheus metrics" table lists every series.
//
// Recording is lock-free (atomics on series registered up front), so the webhook path pays
// nothing noticeable. render() reads memory only: the outbox gauges are set by the background
// work that queries the outbox anyway, and the pool gauges are the pool's own counters.
#include <array>
#include <chrono>
#include <optional>
#include <string>

#include "core/time.h"
#include "observability/prometheus.h"
#include "providers/provider.h"

namespace tbpay {

class Database;
struct OutboxBacklog;
struct RelayReport;
struct CleanupReport;
struct ReconcileReport;

class ServeMetrics {
 public:
  // `db` (for the pool gauges, when it has a pool) must outlive this object.
  explicit ServeMetrics(const Database& db);

  // One callback for a known provider, from receipt to reply.
  void webhook(Provider provider, IngestOutcome outcome, std::optional<CallbackRejection> rejection,
               std::chrono::duration<double> took);
  // A body on /webhook that is no provider's callback.
  void webhook_unrecognised();
  // Callbacks sent to the database together (group commit), `callbacks` of them.
  void commit_group(std::size_t callbacks);

  void relay_run(const RelayReport& report);
  void cleanup_run(const CleanupReport& report);
  void reconcile_run(const ReconcileReport& report);
  // The outbox as of `at` (read by the background work, never by a scrape).
  void outbox(const OutboxBacklog& backlog, Timestamp at);

  // The exposition (text format 0.0.4).
  std::string render() const { return registry_.render(); }

 private:
  static constexpr std::size_t kProviders = 2;
  static constexpr std::size_t kOutcomes = 6;
  static constexpr std::size_t kRejections = 6;

  prometheus::Registry registry_;
  std::array<std::array<prometheus::Counter*, kOutcomes>, kProviders> callbacks_{};
  std::array<std::array<prometheus::Counter*, kRejections>, kProviders> rejections_{};
  std::array<prometheus::Histogram*, kProviders> webhook_seconds_{};
  prometheus::Counter* unrecognised_ = nullptr;
  prometheus::Counter* commit_groups_ = nullptr;
  prometheus::Counter* grouped_callbacks_ = nullptr;
  prometheus::Counter* relay_runs_ = nullptr;
  prometheus::Counter* relay_failures_ = nullptr;
  prometheus::Counter* relay_published_ = nullptr;
  prometheus::Counter* relay_failed_ = nullptr;
  prometheus::Counter* relay_dead_ = nullptr;
  prometheus::Counter* cleanup_runs_ = nullptr;
  prometheus::Counter* cleanup_failures_ = nullptr;
  prometheus::Counter* cleanup_deleted_ = nullptr;
  prometheus::Counter* reconcile_runs_ = nullptr;
  prometheus::Counter* reconcile_failures_ = nullptr;
  std::array<prometheus::Counter*, 6> reconcile_payments_{};  // by kReconcileOutcomes
  prometheus::Counter* reconcile_left_window_ = nullptr;
};

}  // namespace tbpay

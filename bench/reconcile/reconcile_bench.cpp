// Reconciliation throughput: N stale PENDING payments (half ZaloPay, half PayOS) on a fresh
// SQLite file, settled by the reconciler against the fake provider APIs of the tests, which
// answer each status query after a fixed latency (20 ms, as a provider across the internet
// does). The rate limit is lifted; `--concurrency` requests are in flight, so nothing can go
// faster than concurrency / latency: the bench prints the rate next to that bound.
//
//   reconcile_bench [--payments N] [--concurrency C] [--latency-ms MS] [--pending 1]
//
// Prints `key=value` lines for scripts/bench.sh, then one line.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "app/reconcile.h"
#include "crypto/crypto.h"
#include "providers/fake_provider_api.h"
#include "wiring/wiring.h"

namespace {

using namespace tbpay;
using Clock = std::chrono::steady_clock;

int arg(int argc, char** argv, const std::string& name, int fallback) {
  for (int i = 1; i + 1 < argc; ++i)
    if (argv[i] == name) return std::atoi(argv[i + 1]);
  return fallback;
}

}  // namespace

int main(int argc, char** argv) {
  const int payments = arg(argc, argv, "--payments", 10'000);
  const int concurrency = arg(argc, argv, "--concurrency", 32);
  const int latency_ms = arg(argc, argv, "--latency-ms", 20);

  const auto folder = std::filesystem::temp_directory_path() / ("tbpay-reconcile-" + uuid_v4());
  std::filesystem::create_directories(folder);

  Config config;
  config.zalopay = {"2554", "bench-key1", "bench-key2"};
  config.payos = {"bench-client", "bench-api-key", "bench-checksum"};
  test::FakeProviderApi::Options fake_options;
  fake_options.zalopay = config.zalopay;
  fake_options.payos = config.payos;
  fake_options.latency = std::chrono::milliseconds(latency_ms);
  test::FakeProviderApi fake(fake_options);
  test::FakeAnswer paid;
  // --pending 1: every answer is "not paid yet" (the queries alone, no write).
  const bool pending = arg(argc, argv, "--pending", 0) != 0;
  paid.kind = pending ? test::FakeAnswer::Kind::Pending : test::FakeAnswer::Kind::Paid;
  paid.amount = 150000;
  paid.reference = "230912000123";
  fake.set_default(paid);

  config.zalopay.api_url = fake.url();
  config.payos.api_url = fake.url();
  config.database_url = "sqlite:" + (folder / "bench.db").string();
  config.events_file = (folder / "events.jsonl").string();
  config.log_level = "error";
  auto ctx = make_context(config);
  if (!ctx->db->schema().migrate()) {
    std::fprintf(stderr, "reconcile_bench: cannot create the schema\n");
    return 1;
  }
  const Timestamp created = now_utc() - std::chrono::minutes(10);
  for (int i = 0; i < payments; ++i) {
    NewPayment p;
    p.id = uuid_v4();
    p.order_code = "TB-BENCH-" + std::to_string(i);
    p.amount_cents = 150000;
    p.provider = i % 2 == 0 ? Provider::ZaloPay : Provider::PayOS;
    p.provider_transaction_id = (i % 2 == 0 ? "251213_" : "plink") + p.order_code;
    p.idempotency_key = p.id;
    p.at = created;
    if (!ctx->db->payments().create(p)) {
      std::fprintf(stderr, "reconcile_bench: cannot seed payment %d\n", i);
      return 1;
    }
  }

  ReconcileOptions options;
  options.limit = static_cast<std::size_t>(payments);
  options.concurrency = concurrency;
  options.rps = 0;  // lifted
  Reconciler reconciler(*ctx);
  const auto t0 = Clock::now();
  const ReconcileReport report = reconciler.run(options);
  const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();

  const double rate = static_cast<double>(report.checked) / seconds;
  const double bound = concurrency * 1000.0 / latency_ms;
  std::printf(
      "reconcile_payments=%d\nreconcile_completed=%lld\nreconcile_errors=%lld\n"
      "reconcile_seconds=%.2f\nreconcile_payments_per_s=%.0f\nreconcile_bound_per_s=%.0f\n"
      "reconcile_ratio=%.2f\n",
      payments, static_cast<long long>(report.completed), static_cast<long long>(report.errors),
      seconds, rate, bound, rate / bound);
  std::printf(
      "reconcile: %d stale payments, %d ms provider latency, %d in flight: %.0f payments/s "
      "(bound %.0f/s, %.2f of it), %lld completed, %lld errors\n",
      payments, latency_ms, concurrency, rate, bound, rate / bound,
      static_cast<long long>(report.completed), static_cast<long long>(report.errors));
  ctx.reset();
  std::filesystem::remove_all(folder);
  return report.checked == payments && report.errors == 0 ? 0 : 1;
}

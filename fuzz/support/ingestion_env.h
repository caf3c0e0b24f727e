#pragma once
// Webhook ingestion on a SQLite file in a temporary folder, with known keys and a few PENDING
// payments, for the fuzzers that drive whole requests (HTTP, API Gateway). Built once per
// fuzzing process and never destroyed (libFuzzer exits without unwinding).
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "app/webhook.h"
#include "core/time.h"
#include "crypto/crypto.h"
#include "observability/metrics.h"
#include "providers/payos/payos.h"
#include "providers/zalopay/zalopay.h"
#include "wiring/wiring.h"

namespace tbpay::fuzzing {

// Seed inputs in fuzz/corpus/ are signed with these (fuzz/support/make_seeds.py).
inline const ZaloPayKeys kZaloPayKeys{"2553", "fuzz-key1", "fuzz-key2"};
inline const PayOsKeys kPayOsKeys{"fuzz-client", "fuzz-api-key", "fuzz-checksum"};

inline void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "invariant broken: %s\n", what);
    std::abort();
  }
}

struct IngestionEnv {
  IngestionEnv() {
    std::string pattern = (std::filesystem::temp_directory_path() / "tbpay-fuzz-XXXXXX").string();
    check(::mkdtemp(pattern.data()) != nullptr, "mkdtemp");
    folder = pattern;
    Config config;
    config.database_url = "sqlite:" + folder + "/fuzz.db";
    config.zalopay = kZaloPayKeys;
    config.payos = kPayOsKeys;
    // Logs go nowhere: the fuzzer would drown in them (and they are not what is tested).
    ctx = make_context(config, Logger(LogLevel::Error, "/dev/null"));
    check(ctx->db->schema().migrate().ok(), "migrate");
    add_payment("TB-FUZZ-Z1", 150000, Provider::ZaloPay, "251213_TB-FUZZ-Z1");
    add_payment("TB-FUZZ-Z2", 99000, Provider::ZaloPay, "251213_TB-FUZZ-Z2");
    add_payment("TB-FUZZ-P1", 120000, Provider::PayOS, "0f1e2d3c4b5a69788796a5b4c3d2e1f0");
    add_payment("TB-FUZZ-P2", 50000, Provider::PayOS, "a5b4c3d2e1f00f1e2d3c4b5a69788796");
    metrics = std::make_unique<Metrics>("webhook", [](std::string_view) {});
    ingestion = std::make_unique<WebhookIngestion>(*ctx, *metrics);
    // The folder goes when the fuzzing process exits normally.
    static std::string to_remove;
    to_remove = folder;
    std::atexit([] {
      std::error_code ec;
      std::filesystem::remove_all(to_remove, ec);
    });
  }

  void add_payment(const std::string& order_code, std::int64_t amount, Provider provider,
                   const std::string& transaction_id) {
    NewPayment p;
    p.id = uuid_v4();
    p.order_code = order_code;
    p.amount_cents = amount;
    p.provider = provider;
    p.provider_transaction_id = transaction_id;
    p.idempotency_key = "fuzz-" + order_code;
    p.redirect_url = "https://tb.example/return";
    p.payment_url = "https://pay.example/" + order_code;
    p.at = now_utc();
    check(ctx->db->payments().create(p).ok(), "create payment");
  }

  std::string folder;
  std::unique_ptr<Context> ctx;
  std::unique_ptr<Metrics> metrics;
  std::unique_ptr<WebhookIngestion> ingestion;
};

// Statuses a webhook runtime may answer with (README "HTTP endpoints", docs/providers.md): 500 is
// not among them, whatever the input.
inline bool documented_status(int status) {
  switch (status) {
    case 200:
    case 400:
    case 401:
    case 404:
    case 405:
    case 409:
    case 413:
    case 431:
    case 501:  // a transfer coding before the final chunked
    case 503:
      return true;
    default:
      return false;
  }
}

}  // namespace tbpay::fuzzing

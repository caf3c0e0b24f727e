// Micro-benchmarks of a callback's verification and of its log line, each next to a baseline
// measured in the same run, so that the summary at the end reads as ratios (what tbpay adds
// over the bare HMAC / parse / dump).
//
//   zalopay/verify             the whole ZaloPay verify(): parse body, HMAC of `data`, compare,
//                              parse `data`, read the fields
//   zalopay/mac_check          hmac_sha256_hex + hex_digest_equal on `data` (tbpay's crypto/)
//   baseline/hmac_oneshot_zp   OpenSSL's one-shot HMAC() of the same bytes
//   baseline/hmac_keyed_zp     a keyed EVP_MAC context set up once, duplicated per message
//   payos/canonical            payos_canonical_data() of an already parsed `data`
//   payos/verify               the whole PayOS verify(): parse, canonicalise, HMAC, compare
//   baseline/json_parse_payos  nlohmann::json::parse of the same body (no canonical form, no MAC)
//   baseline/hmac_oneshot_payos  one-shot HMAC() of the canonical string
//   log/webhook_line           Logger::log of a processed callback's line (its fields as the
//                              webhook gives them), lines buffered as `serve` buffers them
//   baseline/json_dump_line    the same line as one nlohmann object, dump()ed
#include <benchmark/benchmark.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstdio>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/time.h"
#include "crypto/crypto.h"
#include "observability/log.h"
#include "providers/payos/payos.h"
#include "providers/zalopay/zalopay.h"

namespace {

using tbpay::PayOsKeys;
using tbpay::ZaloPayKeys;

// The demo keys of config/dev.env: not secrets.
const ZaloPayKeys kZaloPay{"2553", "demo-zalopay-key1-not-a-secret",
                           "demo-zalopay-key2-not-a-secret"};
const PayOsKeys kPayOs{"demo-payos-client", "demo-payos-api-key-not-a-secret",
                       "demo-payos-checksum-key-not-a-secret"};

// Fixed field values: the bodies are byte-identical from run to run.
std::string zalopay_body() {
  tbpay::ZaloPayCallbackData d;
  d.app_trans_id = "251213_TB-LTDTNL-20251213-8D39986M";
  d.amount = 1250000;
  d.app_time = 1765605918385;
  d.zp_trans_id = 251213000000123;
  d.server_time = 1765605920112;
  d.merchant_user_id = "u-7f3a";
  return tbpay::sign_zalopay_callback(kZaloPay, d);
}

std::string payos_body() {
  tbpay::PayOsWebhookData d;
  d.payment_link_id = "6c0e1b5d8f0a4e4f9b2f0b1f3c2d7a9e";
  d.order_code = "251213123";
  d.amount = 1250000;
  d.description = "TB-LTDTNL-20251213-8D39986M";
  d.reference = "FT25347123456789";
  d.transaction_date_time = "2025-12-13 13:05:18";
  return tbpay::sign_payos_webhook(kPayOs, d);
}

struct Fixtures {
  std::string zp_body = zalopay_body();
  std::string zp_data;
  std::string zp_mac;
  std::string payos_body_text = payos_body();
  nlohmann::json payos_data;
  std::string payos_canonical;
  std::unique_ptr<tbpay::PaymentProvider> zalopay = tbpay::make_zalopay(kZaloPay);
  std::unique_ptr<tbpay::PaymentProvider> payos = tbpay::make_payos(kPayOs);

  Fixtures() {
    const auto zp = nlohmann::json::parse(zp_body);
    zp_data = zp.at("data").get<std::string>();
    zp_mac = zp.at("mac").get<std::string>();
    payos_data = nlohmann::json::parse(payos_body_text).at("data");
    payos_canonical = tbpay::payos_canonical_data(payos_data);
    // A benchmark of a path that rejects would measure the wrong thing.
    if (!zalopay->verify(zp_body) || !payos->verify(payos_body_text))
      throw std::logic_error("fixture callbacks do not verify");
  }
};

const Fixtures& fixtures() {
  static const Fixtures f;
  return f;
}

std::string hex(const unsigned char* p, std::size_t n) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(n * 2);
  for (std::size_t i = 0; i < n; ++i) {
    out.push_back(kHex[p[i] >> 4]);
    out.push_back(kHex[p[i] & 0xf]);
  }
  return out;
}

std::string oneshot_hmac_hex(const std::string& key, const std::string& message) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(), md, &len);
  return hex(md, len);
}

// An HMAC-SHA256 context keyed once; each message works on a copy of it.
class KeyedHmac {
 public:
  explicit KeyedHmac(const std::string& key) {
    mac_.reset(EVP_MAC_fetch(nullptr, "HMAC", nullptr));
    ctx_.reset(EVP_MAC_CTX_new(mac_.get()));
    char digest[] = "SHA256";
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                           OSSL_PARAM_construct_end()};
    if (!ctx_ || EVP_MAC_init(ctx_.get(), reinterpret_cast<const unsigned char*>(key.data()),
                              key.size(), params) != 1)
      throw std::runtime_error("EVP_MAC_init failed");
  }
  std::string hex_of(const std::string& message) const {
    std::unique_ptr<EVP_MAC_CTX, decltype(&EVP_MAC_CTX_free)> c(EVP_MAC_CTX_dup(ctx_.get()),
                                                                &EVP_MAC_CTX_free);
    unsigned char md[EVP_MAX_MD_SIZE];
    std::size_t len = 0;
    EVP_MAC_update(c.get(), reinterpret_cast<const unsigned char*>(message.data()), message.size());
    EVP_MAC_final(c.get(), md, &len, sizeof md);
    return hex(md, len);
  }

 private:
  std::unique_ptr<EVP_MAC, decltype(&EVP_MAC_free)> mac_{nullptr, &EVP_MAC_free};
  std::unique_ptr<EVP_MAC_CTX, decltype(&EVP_MAC_CTX_free)> ctx_{nullptr, &EVP_MAC_CTX_free};
};

void zalopay_verify(benchmark::State& state) {
  const auto& f = fixtures();
  for (auto _ : state) benchmark::DoNotOptimize(f.zalopay->verify(f.zp_body));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * f.zp_body.size()));
}

void zalopay_mac_check(benchmark::State& state) {
  const auto& f = fixtures();
  for (auto _ : state)
    benchmark::DoNotOptimize(
        tbpay::hex_digest_equal(tbpay::hmac_sha256_hex(kZaloPay.key2, f.zp_data), f.zp_mac));
}

void hmac_oneshot_zp(benchmark::State& state) {
  const auto& f = fixtures();
  for (auto _ : state) benchmark::DoNotOptimize(oneshot_hmac_hex(kZaloPay.key2, f.zp_data));
}

void hmac_keyed_zp(benchmark::State& state) {
  const auto& f = fixtures();
  const KeyedHmac keyed(kZaloPay.key2);
  for (auto _ : state) benchmark::DoNotOptimize(keyed.hex_of(f.zp_data));
}

void payos_canonical(benchmark::State& state) {
  const auto& f = fixtures();
  for (auto _ : state) benchmark::DoNotOptimize(tbpay::payos_canonical_data(f.payos_data));
}

void payos_verify(benchmark::State& state) {
  const auto& f = fixtures();
  for (auto _ : state) benchmark::DoNotOptimize(f.payos->verify(f.payos_body_text));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * f.payos_body_text.size()));
}

void json_parse_payos(benchmark::State& state) {
  const auto& f = fixtures();
  for (auto _ : state) benchmark::DoNotOptimize(nlohmann::json::parse(f.payos_body_text));
}

void hmac_oneshot_payos(benchmark::State& state) {
  const auto& f = fixtures();
  for (auto _ : state)
    benchmark::DoNotOptimize(oneshot_hmac_hex(kPayOs.checksum_key, f.payos_canonical));
}

// A processed callback's log line: the fields WebhookIngestion::conclude gives the logger.
nlohmann::json webhook_line_fields() {
  return {{"request_id", "384b6096-ca08-48bd-99f7-41b2367d2977"},
          {"provider", "ZALOPAY"},
          {"outcome", "processed"},
          {"http_status", 200},
          {"order_code", "TB-LTDTNL-20251213-8D39986M"},
          {"payment_id", "97908679-f9cc-0eee-1de6-46b15e250169"},
          {"status", "COMPLETED"},
          {"amount", 1250000},
          {"latency_ms", 3.805285}};
}

void log_webhook_line(benchmark::State& state) {
  tbpay::Logger log(tbpay::LogLevel::Info, std::string("/dev/null"));
  log.buffer_lines_below(tbpay::LogLevel::Warn);
  const auto fields = webhook_line_fields();
  for (auto _ : state) log.info("webhook", fields);
}

void json_dump_webhook_line(benchmark::State& state) {
  const auto fields = webhook_line_fields();
  for (auto _ : state) {
    nlohmann::json line = {{"time", tbpay::to_iso8601(tbpay::now_utc())},
                           {"level", "info"},
                           {"message", "webhook"}};
    line.update(fields);
    benchmark::DoNotOptimize(line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  }
}

// Keeps each run's time per iteration so that main() can print the ratios.
class RatioReporter : public benchmark::ConsoleReporter {
 public:
  std::map<std::string, double> ns;
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const auto& run : runs)
      if (run.run_type == Run::RT_Iteration && !run.error_occurred)
        ns[run.benchmark_name()] = run.GetAdjustedCPUTime();  // CPU time: the box may be shared
    ConsoleReporter::ReportRuns(runs);
  }
};

}  // namespace

BENCHMARK(zalopay_verify)->Name("zalopay/verify");
BENCHMARK(zalopay_mac_check)->Name("zalopay/mac_check");
BENCHMARK(hmac_oneshot_zp)->Name("baseline/hmac_oneshot_zp");
BENCHMARK(hmac_keyed_zp)->Name("baseline/hmac_keyed_zp");
BENCHMARK(payos_canonical)->Name("payos/canonical");
BENCHMARK(payos_verify)->Name("payos/verify");
BENCHMARK(json_parse_payos)->Name("baseline/json_parse_payos");
BENCHMARK(hmac_oneshot_payos)->Name("baseline/hmac_oneshot_payos");
BENCHMARK(log_webhook_line)->Name("log/webhook_line");
BENCHMARK(json_dump_webhook_line)->Name("baseline/json_dump_line");

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  fixtures();
  RatioReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();

  const std::pair<const char*, const char*> ratios[] = {
      {"zalopay/verify", "baseline/hmac_oneshot_zp"},
      {"zalopay/mac_check", "baseline/hmac_oneshot_zp"},
      {"baseline/hmac_keyed_zp", "baseline/hmac_oneshot_zp"},
      {"payos/verify", "baseline/hmac_oneshot_payos"},
      {"payos/verify", "baseline/json_parse_payos"},
      {"payos/canonical", "baseline/hmac_oneshot_payos"},
      {"log/webhook_line", "baseline/json_dump_line"},
  };
  std::printf("\n%-28s %-30s %10s %10s %7s\n", "measured", "baseline (same run)", "cpu ns",
              "base ns", "ratio");
  for (const auto& [what, base] : ratios) {
    const auto a = reporter.ns.find(what);
    const auto b = reporter.ns.find(base);
    if (a == reporter.ns.end() || b == reporter.ns.end() || b->second <= 0) continue;
    std::printf("%-28s %-30s %10.0f %10.0f %6.2fx\n", what, base, a->second, b->second,
                a->second / b->second);
  }
  return 0;
}

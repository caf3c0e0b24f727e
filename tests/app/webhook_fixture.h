#pragma once
// Webhook ingestion on a fresh database of either engine, with its logs captured in a file and
// its metrics in memory. Shared by the app and http tests (header only: the test executables
// are globbed from *_test.cpp files).
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "app/webhook.h"
#include "core/payment.h"
#include "crypto/crypto.h"
#include "observability/metrics.h"
#include "providers/payos/payos.h"
#include "providers/zalopay/zalopay.h"
#include "support/signed_callbacks.h"
#include "support/test_database.h"
#include "wiring/wiring.h"

namespace tbpay::test {

inline constexpr const char* kZaloPayAppId = "2553";
inline constexpr const char* kZaloPayKey1 = "zp-key1-TEST-4b1c0e7a";
inline constexpr const char* kZaloPayKey2 = "zp-key2-TEST-d93f57aa";
inline constexpr const char* kPayOsApiKey = "payos-api-TEST-91c2";
inline constexpr const char* kPayOsChecksumKey = "payos-checksum-TEST-5e6d8f";

inline ZaloPayKeys zalopay_keys() { return {kZaloPayAppId, kZaloPayKey1, kZaloPayKey2}; }
inline PayOsKeys payos_keys() { return {"payos-client-1", kPayOsApiKey, kPayOsChecksumKey}; }

// "251213_<order code>", as the core service builds ZaloPay's app_trans_id.
inline std::string zalopay_transaction_id(const std::string& order_code) {
  return "251213_" + order_code;
}

struct Keys {
  bool zalopay = true;
  bool payos = true;
};

class WebhookEnv {
 public:
  // A fresh database of that engine, migrated.
  explicit WebhookEnv(Engine engine, Keys keys = {}) : db_(make_test_database(engine)) {
    db_->migrate();
    build(db_->config(), keys);
  }
  // A given DATABASE_URL (e.g. one nobody listens on); nothing is migrated.
  explicit WebhookEnv(const std::string& database_url, Keys keys = {}) {
    Config config;
    config.database_url = database_url;
    build(config, keys);
  }
  ~WebhookEnv() {
    ingestion_.reset();
    ctx_.reset();
    std::error_code ec;
    std::filesystem::remove_all(folder_, ec);
  }

  Context& ctx() { return *ctx_; }
  WebhookIngestion& ingestion() { return *ingestion_; }
  Metrics& metrics() { return *metrics_; }
  TestDatabase& db() { return *db_; }

  // PENDING payments, inserted the way the core service inserts them.
  Payment create_zalopay(const std::string& order_code, std::int64_t amount,
                         const std::string& app_trans_id = {}) {
    SeedPayment seed{.order_code = order_code, .amount_cents = amount,
                     .provider = Provider::ZaloPay,
                     .provider_transaction_id =
                         app_trans_id.empty() ? zalopay_transaction_id(order_code) : app_trans_id};
    insert_payment(*db_, seed);
    return payment(order_code);
  }
  Payment create_payos(const std::string& order_code, std::int64_t amount,
                       const std::string& payment_link_id) {
    insert_payment(*db_, {.order_code = order_code, .amount_cents = amount,
                          .provider = Provider::PayOS,
                          .provider_transaction_id = payment_link_id});
    return payment(order_code);
  }
  Payment payment(const std::string& order_code) {
    auto found = ctx_->db->payments().find_by_order_code(order_code);
    if (!found) throw std::runtime_error("find_by_order_code: " + found.error().message);
    if (!found.value()) throw std::runtime_error("no payment " + order_code);
    return *found.value();
  }
  std::vector<OutboxEvent> events(const Payment& p) {
    auto events = ctx_->db->payments().events_for_payment(p.id);
    if (!events) throw std::runtime_error("events_for_payment: " + events.error().message);
    return events.value();
  }
  std::int64_t outbox_rows() { return db_->count("SELECT COUNT(*) FROM outbox"); }

  HttpReply post(const std::string& path, const std::string& body) {
    return ingestion_->handle({"POST", path, body, ""});
  }
  HttpReply get(const std::string& path) { return ingestion_->handle({"GET", path, "", ""}); }

  std::string log_text() {
    ctx_->log.flush();
    std::ifstream in(log_path_);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }
  std::vector<nlohmann::json> log_lines() {
    std::vector<nlohmann::json> lines;
    std::istringstream in(log_text());
    for (std::string line; std::getline(in, line);)
      if (!line.empty()) lines.push_back(nlohmann::json::parse(line));
    return lines;
  }
  // Log lines that say "alert": true.
  std::vector<nlohmann::json> alerts() {
    std::vector<nlohmann::json> out;
    for (auto& l : log_lines())
      if (l.value("alert", false)) out.push_back(l);
    return out;
  }
  // Flushes the metrics and returns their EMF lines, parsed.
  std::vector<nlohmann::json> flush_metrics() {
    metrics_->flush();
    std::lock_guard lock(metric_mutex_);
    std::vector<nlohmann::json> out;
    for (auto& l : metric_lines_) out.push_back(nlohmann::json::parse(l));
    metric_lines_.clear();
    return out;
  }
  // The value of one metric for one provider in the lines flush_metrics() returned.
  static double metric(const std::vector<nlohmann::json>& lines, const std::string& name,
                       const std::string& provider) {
    double total = 0;
    for (auto& l : lines)
      if (l.value("Provider", "") == provider && l.contains(name)) total += l[name].get<double>();
    return total;
  }

 private:
  void build(Config config, Keys keys) {
    folder_ = (std::filesystem::temp_directory_path() / ("tbpay-webhook-" + uuid_v4())).string();
    std::filesystem::create_directories(folder_);
    log_path_ = folder_ + "/log.jsonl";
    if (keys.zalopay) config.zalopay = zalopay_keys();
    if (keys.payos) config.payos = payos_keys();
    ctx_ = make_context(config, Logger(LogLevel::Debug, log_path_));
    metrics_ = std::make_unique<Metrics>("webhook", [this](std::string_view line) {
      std::lock_guard lock(metric_mutex_);
      metric_lines_.emplace_back(line);
    });
    ingestion_ = std::make_unique<WebhookIngestion>(*ctx_, *metrics_);
  }

  std::unique_ptr<TestDatabase> db_;
  std::string folder_;
  std::string log_path_;
  std::unique_ptr<Context> ctx_;
  std::mutex metric_mutex_;
  std::vector<std::string> metric_lines_;
  std::unique_ptr<Metrics> metrics_;
  std::unique_ptr<WebhookIngestion> ingestion_;
};

// Signed with this suite's keys (support/signed_callbacks.h).
inline std::string zalopay_callback(const std::string& app_trans_id, std::int64_t amount,
                                    ZaloPayKeys keys = zalopay_keys()) {
  return signed_zalopay_callback(keys, app_trans_id, amount);
}

inline std::string payos_webhook(const std::string& payment_link_id, std::int64_t amount,
                                 std::string code = "00", std::string desc = "success",
                                 PayOsKeys keys = payos_keys()) {
  return signed_payos_webhook(keys, payment_link_id, amount, code, desc);
}

inline nlohmann::json body_of(const HttpReply& r) { return nlohmann::json::parse(r.body); }

}  // namespace tbpay::test

#pragma once
// Configuration from the environment (names kept from the Node.js deployment; docs/operations.md).
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "core/result.h"

namespace tbpay {

enum class AppEnv { Dev, Staging, Prod };
enum class SaslMechanism { None, Plain, ScramSha256, ScramSha512 };

struct ZaloPayKeys {
  std::string app_id;
  std::string key1;  // signs requests we send (order creation; not used by callbacks)
  std::string key2;  // verifies callbacks
  // ZALOPAY_API_URL; load_config: https://openapi.zalopay.vn in prod, else the sandbox.
  std::string api_url = "https://sb-openapi.zalopay.vn";
  bool configured() const { return !app_id.empty() && !key2.empty(); }
  bool can_query() const { return !app_id.empty() && !key1.empty(); }  // status queries
};

struct PayOsKeys {
  std::string client_id;
  std::string api_key;
  std::string checksum_key;
  std::string api_url = "https://api-merchant.payos.vn";  // PAYOS_API_URL
  bool configured() const { return !checksum_key.empty(); }
  bool can_query() const {  // status queries
    return !client_id.empty() && !api_key.empty() && !checksum_key.empty();
  }
};

// Asking the providers about stale PENDING payments (`tbpay reconcile`).
struct ReconcileSettings {
  std::chrono::milliseconds after{std::chrono::minutes(2)};  // RECONCILE_AFTER
  std::chrono::milliseconds within{std::chrono::hours(72)};  // RECONCILE_WITHIN
  int concurrency = 8;                                       // RECONCILE_CONCURRENCY
  int rps = 20;                                              // RECONCILE_RPS, per provider
};

struct KafkaSettings {
  std::string brokers;  // empty: JSON-lines file; "embedded": in-process mock cluster
  bool ssl = false;
  std::string username;
  std::string password;
  SaslMechanism sasl = SaslMechanism::None;
  std::string topic_prefix;
};

struct Config {
  AppEnv env = AppEnv::Dev;
  std::string log_level = "info";
  std::string database_url;  // empty: SQLite file var/tbpay.db
  std::string events_file = "var/events.jsonl";
  std::string listen_addr = "127.0.0.1:8080";
  KafkaSettings kafka;
  ZaloPayKeys zalopay;
  PayOsKeys payos;
  int outbox_batch_size = 500;
  int outbox_max_retries = 3;
  int outbox_retention_days = 7;  // load_config: 30 when env is Prod
  ReconcileSettings reconcile;

  bool uses_postgres() const;
  // SQLite file path when not on PostgreSQL ("sqlite:" prefix and file: URLs stripped).
  std::string sqlite_path() const;
};

// "90s", "2m", "72h", "3d", "500ms" (a whole number and a unit); nullopt for anything else.
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);

using EnvLookup = std::function<std::optional<std::string>(const std::string& name)>;
EnvLookup process_env();

// A bad value (not a number, unknown mechanism) is an error naming the variable.
Result<Config, std::string> load_config(const EnvLookup& env);

}  // namespace tbpay

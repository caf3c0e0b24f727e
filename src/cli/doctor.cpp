// `tbpay doctor`: a read-only pre-flight of the environment tbpay runs in (database, schema,
// lookup index, outbox, Kafka, provider keys). Every check runs, whatever the others found: a
// check that cannot run fails with the reason. Exit 0 only when every check passes.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>
#include <regex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "app/cleanup.h"
#include "app/event_topics.h"
#include "app/lookup_index.h"
#include "cli/commands.h"
#include "publish/kafka/probe.h"
#include "wiring/wiring.h"

namespace tbpay::cli {

namespace {

// An outbox event pending longer than this means the relay is not keeping up (it runs every
// minute).
constexpr double kBacklogMinutes = 10;

struct Check {
  std::string name;
  bool ok = false;
  std::string detail;
};

struct DoctorOptions {
  bool json = false;
  int kafka_timeout_ms = 5000;
};

std::string fixed(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : "; ") + i;
  return out;
}

// What is wrong with a key's value, never the value itself; empty when it looks right.
std::string key_problem(const std::string& name, const std::string& value, const std::regex& shape,
                        const std::string& expected) {
  if (value.empty()) return name + " is not set";
  if (value.find_first_of(" \t\r\n\"'") != std::string::npos)
    return name + " holds whitespace or quotes (copied with them?)";
  if (!std::regex_match(value, shape))
    return name + " is not " + expected + " (" + std::to_string(value.size()) + " characters)";
  return "";
}

Check zalopay_check(const ZaloPayKeys& k) {
  static const std::regex digits("[0-9]+"), key("[\\x21-\\x7e]{16,128}");
  std::vector<std::string> problems;
  for (const auto& p : {key_problem("ZALOPAY_APP_ID", k.app_id, digits, "a number"),
                        key_problem("ZALOPAY_KEY2", k.key2, key, "16 to 128 printable characters"),
                        k.key1.empty() ? std::string()
                                       : key_problem("ZALOPAY_KEY1", k.key1, key,
                                                     "16 to 128 printable characters")})
    if (!p.empty()) problems.push_back(p);
  if (problems.empty())
    return {"zalopay_keys", true,
            "ZALOPAY_APP_ID " + k.app_id + ", ZALOPAY_KEY2 set (" + std::to_string(k.key2.size()) +
                " characters)" +
                (k.key1.empty() ? ", ZALOPAY_KEY1 not set (callbacks need only KEY2)"
                                : ", ZALOPAY_KEY1 set")};
  return {"zalopay_keys", false, joined(problems)};
}

Check payos_check(const PayOsKeys& k) {
  static const std::regex uuid(
      "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"),
      hex64("[0-9a-fA-F]{64}");
  std::vector<std::string> problems;
  for (const auto& p :
       {key_problem("PAYOS_CLIENT_ID", k.client_id, uuid, "a UUID"),
        key_problem("PAYOS_API_KEY", k.api_key, uuid, "a UUID"),
        key_problem("PAYOS_CHECKSUM_KEY", k.checksum_key, hex64, "64 hexadecimal characters")})
    if (!p.empty()) problems.push_back(p);
  if (problems.empty())
    return {"payos_keys", true, "PAYOS_CLIENT_ID, PAYOS_API_KEY and PAYOS_CHECKSUM_KEY set"};
  return {"payos_keys", false, joined(problems)};
}

void database_checks(Context& ctx, std::vector<Check>& checks) {
  Database& db = *ctx.db;
  if (auto ping = db.payments().ping(); ping)
    checks.push_back({"database", true, "answers: " + db.describe()});
  else
    checks.push_back(
        {"database", false, "cannot reach " + db.describe() + ": " + ping.error().message});

  if (auto problems = db.schema().schema_problems(); !problems)
    checks.push_back({"schema", false, "cannot read the schema: " + problems.error().message});
  else if (!problems->empty())
    checks.push_back({"schema", false, joined(*problems)});
  else
    checks.push_back(
        {"schema", true, "payments and outbox have every column and enum value tbpay uses"});

  if (auto index = db.schema().provider_transaction_index(); !index)
    checks.push_back(
        {"payos_lookup_index", false, "cannot read the indexes: " + index.error().message});
  else if (!*index)
    checks.push_back({"payos_lookup_index", false,
                      std::string("no index serves payments lookups by providerTransactionId: "
                                  "every PayOS webhook reads the whole table; run `") +
                          kLookupIndexFix + "`"});
  else
    checks.push_back({"payos_lookup_index", true, "served by index " + **index});

  const int max_retries = ctx.config.outbox_max_retries;
  if (auto stats = db.outbox().stats(now_utc(), max_retries); !stats) {
    const std::string why = "cannot read the outbox: " + stats.error().message;
    checks.push_back({"outbox_backlog", false, why});
    checks.push_back({"outbox_dead", false, why});
  } else {
    const double age = stats->oldest_pending_age_minutes.value_or(0);
    std::string detail = std::to_string(stats->pending) + " pending";
    if (stats->oldest_pending_age_minutes) detail += ", the oldest " + fixed(age) + " minutes old";
    detail += "; " + std::to_string(stats->published) + " published";
    if (stats->published_at_only > 0)
      detail += ", of which " + std::to_string(stats->published_at_only) +
                " marked only by \"publishedAt\" (the Node.js relay's rows; the next relay or "
                "cleanup run flags them, never republishes them)";
    const bool ok = age <= kBacklogMinutes;
    if (!ok) detail += "; older than " + fixed(kBacklogMinutes) + " minutes: is the relay running?";
    checks.push_back({"outbox_backlog", ok, detail});
    if (stats->dead == 0)
      checks.push_back({"outbox_dead", true, "no dead events"});
    else
      checks.push_back({"outbox_dead", false,
                        std::to_string(stats->dead) + " dead events (retried " +
                            std::to_string(max_retries) +
                            " times): `tbpay outbox dead`, then `tbpay outbox requeue`"});
  }
}

void kafka_checks(const Config& config, int timeout_ms, std::vector<Check>& checks) {
  const KafkaSettings& kafka = config.kafka;
  if (kafka.brokers.empty()) {
    const bool prod = config.env == AppEnv::Prod;
    checks.push_back({"kafka", !prod,
                      std::string("KAFKA_BROKERS is not set: events are appended to ") +
                          config.events_file +
                          (prod ? ", not sent to Kafka (APP_ENV is prod)" : "")});
    return;
  }
  if (kafka.brokers == "embedded") {
    checks.push_back({"kafka", config.env != AppEnv::Prod,
                      "KAFKA_BROKERS=embedded: an in-process mock cluster (development only)"});
    return;
  }
  const auto probe = kafka::probe_cluster(kafka::producer_settings(kafka, kafka.brokers),
                                          std::chrono::milliseconds(timeout_ms));
  bool any = false;
  for (const auto& b : probe.brokers) {
    checks.push_back({"kafka_broker " + b.broker, b.ok, b.detail});
    any = any || b.ok;
  }
  std::vector<std::string> missing, present;
  for (const char* type : {"PAYMENT_COMPLETED", "PAYMENT_FAILED", "PAYMENT_CANCELLED"}) {
    const std::string topic = *topic_for(type, kafka.topic_prefix);
    (probe.topics.contains(topic) ? present : missing).push_back(topic);
  }
  if (!any)
    checks.push_back({"kafka_topics", false, "cannot list topics: no broker answered"});
  else if (!missing.empty())
    checks.push_back({"kafka_topics", false, "missing: " + joined(missing)});
  else
    checks.push_back({"kafka_topics", true, "present: " + joined(present)});
}

int doctor(const DoctorOptions& opts) {
  std::vector<Check> checks;
  auto config = load_config(process_env());
  if (!config) {
    checks.push_back({"configuration", false, config.error()});
  } else {
    checks.push_back({"configuration", true,
                      std::string("APP_ENV ") + (config->env == AppEnv::Prod      ? "prod"
                                                 : config->env == AppEnv::Staging ? "staging"
                                                                                  : "dev")});
    std::unique_ptr<Context> ctx;
    try {
      ctx = make_context(*config);
      // stdout carries the result only.
      ctx->log = Logger(LogLevel::Error, "/dev/stderr");
    } catch (const std::exception& e) {
      checks.push_back({"database", false, e.what()});
    }
    if (ctx) database_checks(*ctx, checks);
    kafka_checks(*config, opts.kafka_timeout_ms, checks);
    checks.push_back(zalopay_check(config->zalopay));
    checks.push_back(payos_check(config->payos));
  }

  bool all = true;
  for (const auto& c : checks) all = all && c.ok;
  if (opts.json) {
    // In the documented order: {"ok", "checks": [{"name", "ok", "detail"}...]}.
    nlohmann::ordered_json list = nlohmann::ordered_json::array();
    for (const auto& c : checks)
      list.push_back({{"name", c.name}, {"ok", c.ok}, {"detail", c.detail}});
    std::cout << nlohmann::ordered_json{{"ok", all}, {"checks", list}}.dump() << std::endl;
  } else {
    std::size_t width = 5;
    for (const auto& c : checks) width = std::max(width, c.name.size());
    for (const auto& c : checks)
      std::printf("%-*s  %-4s  %s\n", static_cast<int>(width), c.name.c_str(), c.ok ? "ok" : "FAIL",
                  c.detail.c_str());
    std::printf("%s\n", all ? "all checks passed" : "some checks FAILED");
  }
  std::fflush(stdout);
  if (!all) std::fprintf(stderr, "tbpay doctor: some checks failed\n");
  return all ? 0 : 1;
}

}  // namespace

void add_doctor(CLI::App& app, ExitCode& exit) {
  auto opts = std::make_shared<DoctorOptions>();
  auto* cmd = app.add_subcommand(
      "doctor",
      "Read-only pre-flight: database, schema, lookup index, outbox, Kafka brokers and topics, "
      "provider keys; exit 0 only when every check passes");
  cmd->add_flag("--json", opts->json,
                R"(One JSON object: {"ok": bool, "checks": [{"name", "ok", "detail"}...]})");
  cmd->add_option("--kafka-timeout-ms", opts->kafka_timeout_ms,
                  "how long each Kafka broker gets to answer (default 5000)")
      ->check(CLI::Range(100, 60000));
  cmd->callback([opts, &exit] { exit.value = doctor(*opts); });
}

}  // namespace tbpay::cli

// `tbpay doctor` as an operator runs it: the built binary, the production-like environment, a
// PostgreSQL database with the core service's schema exactly as migrated, the librdkafka mock
// cluster; the table, the JSON, the exit code, and nothing secret in either stream.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "publish/kafka/embedded_cluster.h"
#include "support/test_database.h"

namespace tbpay::test {
namespace {

using nlohmann::json;

// Well-formed keys, as the providers issue them (none of them real).
const std::string kZaloPayKey1 = "PcY4iZIKFCIdgZvA6ueMcMHHUbRLYjPL";
const std::string kZaloPayKey2 = "kLtgPl8HHhfvMuDHPwKfgfsY4Ydm9eIz";
const std::string kPayOsClientId = "3f6e2b1a-9c4d-4e8f-a1b2-c3d4e5f60718";
const std::string kPayOsApiKey = "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d";
const std::string kPayOsChecksum =
    "1a54716c8f0efb2744fb28b6e38b25da7f67a925d98bc1c18bd8faaecadd7675";
const std::string kKafkaPassword = "kafka-secret-d0c70r";

struct CliResult {
  int exit = -1;
  std::string out, err;
};

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

CliResult tbpay(const std::vector<std::string>& args, const std::map<std::string, std::string>& env) {
  const char* binary = std::getenv("TBPAY_BINARY");
  if (!binary) throw std::runtime_error("TBPAY_BINARY is not set (ctest sets it)");
  static int calls = 0;
  const std::string out = ::testing::TempDir() + "tbpay_doctor_" + std::to_string(getpid()) + "_" +
                          std::to_string(++calls),
                    err = out + ".err";
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600), 1);
    dup2(open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600), 2);
    std::vector<std::string> strings{"PATH=/usr/bin:/bin"};
    for (const auto& [k, v] : env) strings.push_back(k + "=" + v);
    std::vector<char*> argv{const_cast<char*>(binary)}, envp;
    for (auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    for (auto& e : strings) envp.push_back(e.data());
    envp.push_back(nullptr);
    execve(binary, argv.data(), envp.data());
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  CliResult r{WIFEXITED(status) ? WEXITSTATUS(status) : -1, slurp(out), slurp(err)};
  std::remove(out.c_str());
  std::remove(err.c_str());
  return r;
}

class Doctor : public ::testing::Test {
 protected:
  void SetUp() override {
    db_.create_core_service_schema();
    for (const char* topic : {"payment.completed", "payment.failed", "payment.cancelled"})
      rd_kafka_mock_topic_create(cluster_.mock(), topic, 1, 1);
  }

  std::map<std::string, std::string> env() const {
    return {{"DATABASE_URL", db_.url()},     {"KAFKA_BROKERS", cluster_.bootstrap()},
            {"KAFKA_SSL", "false"},          {"APP_ENV", "prod"},
            {"ZALOPAY_APP_ID", "2553"},      {"ZALOPAY_KEY1", kZaloPayKey1},
            {"ZALOPAY_KEY2", kZaloPayKey2},  {"PAYOS_CLIENT_ID", kPayOsClientId},
            {"PAYOS_API_KEY", kPayOsApiKey}, {"PAYOS_CHECKSUM_KEY", kPayOsChecksum}};
  }

  // The JSON of `tbpay doctor --json`, checked for shape and for secrets; its checks by name.
  std::map<std::string, json> doctor(const std::map<std::string, std::string>& environment,
                                     int expected_exit, bool* all_ok = nullptr) {
    const CliResult r = tbpay({"doctor", "--json", "--kafka-timeout-ms", "2000"}, environment);
    EXPECT_EQ(r.exit, expected_exit) << r.out << r.err;
    for (const auto& secret :
         {kZaloPayKey1, kZaloPayKey2, kPayOsApiKey, kPayOsChecksum, kKafkaPassword}) {
      EXPECT_EQ(r.out.find(secret), std::string::npos) << "a secret on stdout: " << r.out;
      EXPECT_EQ(r.err.find(secret), std::string::npos) << "a secret on stderr: " << r.err;
    }
    std::map<std::string, json> by_name;
    if (!json::accept(r.out)) {
      ADD_FAILURE() << "not one JSON object: " << r.out;
      return by_name;
    }
    const json j = json::parse(r.out);
    EXPECT_TRUE(j["ok"].is_boolean());
    EXPECT_EQ(j["ok"], expected_exit == 0);
    if (all_ok) *all_ok = j["ok"];
    for (const auto& c : j["checks"]) {
      EXPECT_TRUE(c["name"].is_string() && c["ok"].is_boolean() && c["detail"].is_string()) << c;
      by_name[c["name"]] = c;
    }
    return by_name;
  }

  PgTestDatabase db_;
  kafka::EmbeddedCluster cluster_;
};

TEST_F(Doctor, EverythingInPlacePassesAndPrintsATable) {
  ASSERT_EQ(tbpay({"migrate", "--lookup-index"}, env()).exit, 0);

  const auto checks = doctor(env(), 0);
  for (const char* name :
       {"configuration", "database", "schema", "payos_lookup_index", "outbox_backlog",
        "outbox_dead", "zalopay_keys", "payos_keys", "kafka_topics"})
    EXPECT_EQ(checks.count(name), 1u) << name;
  for (const auto& [name, c] : checks) EXPECT_TRUE(c["ok"]) << c;
  EXPECT_TRUE(checks.at("kafka_broker " + cluster_.bootstrap())["ok"]);

  const CliResult table = tbpay({"doctor"}, env());
  EXPECT_EQ(table.exit, 0) << table.out << table.err;
  EXPECT_NE(table.out.find("payos_lookup_index"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("all checks passed"), std::string::npos) << table.out;
}

TEST_F(Doctor, TheSchemaAsMigratedLacksThePayOSLookupIndexAndTheOutboxIsReported) {
  // An old pending event, a dead one, and rows the Node.js relay published (publishedAt only).
  const auto payment = insert_payment(db_, {.order_code = "TB-DOC-1"});
  insert_event(db_, {.aggregate_id = payment, .created_at = now_utc() - std::chrono::hours(2)});
  insert_event(db_, {.aggregate_id = payment,
                     .created_at = now_utc() - std::chrono::hours(3),
                     .retry_count = 3,
                     .last_error = "broker said no"});
  for (int i = 0; i < 4; ++i)
    insert_event(db_, {.aggregate_id = payment,
                       .created_at = now_utc() - std::chrono::hours(48),
                       .published_at = now_utc() - std::chrono::hours(47)});

  const auto checks = doctor(env(), 1);

  EXPECT_TRUE(checks.at("database")["ok"]);
  EXPECT_TRUE(checks.at("schema")["ok"]) << checks.at("schema");
  EXPECT_FALSE(checks.at("payos_lookup_index")["ok"]);
  const std::string index = checks.at("payos_lookup_index")["detail"];
  EXPECT_NE(index.find("providerTransactionId"), std::string::npos) << index;
  EXPECT_NE(index.find("tbpay migrate --lookup-index"), std::string::npos) << index;
  EXPECT_FALSE(checks.at("outbox_backlog")["ok"]);
  const std::string backlog = checks.at("outbox_backlog")["detail"];
  EXPECT_NE(backlog.find("1 pending"), std::string::npos) << backlog;
  EXPECT_NE(backlog.find("4 published"), std::string::npos) << backlog;
  EXPECT_NE(backlog.find("4 marked only by \"publishedAt\""), std::string::npos) << backlog;
  EXPECT_FALSE(checks.at("outbox_dead")["ok"]);
  EXPECT_NE(std::string(checks.at("outbox_dead")["detail"]).find("1 dead"), std::string::npos);
  EXPECT_TRUE(checks.at("kafka_topics")["ok"]);
  EXPECT_TRUE(checks.at("zalopay_keys")["ok"]);
  EXPECT_TRUE(checks.at("payos_keys")["ok"]);
  // Read-only: the Node.js rows are still as the Node.js relay left them.
  EXPECT_EQ(
      db_.count(R"(SELECT count(*) FROM outbox WHERE NOT published AND "publishedAt" IS NOT NULL)"),
      4);
}

TEST_F(Doctor, ADatabaseThatIsDownFailsItsChecksWithTheReasonAndTheOthersStillRun) {
  auto e = env();
  e["DATABASE_URL"] = "postgresql://tbpay:db-password-x1@127.0.0.1:1/nowhere";

  const auto checks = doctor(e, 1);

  for (const char* name : {"database", "schema", "payos_lookup_index", "outbox_backlog"}) {
    ASSERT_EQ(checks.count(name), 1u) << name;
    EXPECT_FALSE(checks.at(name)["ok"]) << name;
    EXPECT_FALSE(std::string(checks.at(name)["detail"]).empty()) << name;
  }
  EXPECT_NE(std::string(checks.at("database")["detail"]).find("127.0.0.1:1"), std::string::npos)
      << checks.at("database");
  EXPECT_TRUE(checks.at("kafka_topics")["ok"]);
  EXPECT_TRUE(checks.at("zalopay_keys")["ok"]);
  EXPECT_TRUE(checks.at("payos_keys")["ok"]);
  const CliResult r = tbpay({"doctor", "--json", "--kafka-timeout-ms", "2000"}, e);
  EXPECT_EQ(r.out.find("db-password-x1"), std::string::npos) << r.out;
  EXPECT_EQ(r.err.find("db-password-x1"), std::string::npos) << r.err;
}

TEST_F(Doctor, MissingColumnsAndEnumValuesAreNamed) {
  db_.exec(R"(ALTER TABLE outbox DROP COLUMN "lastError")");
  db_.exec(R"(ALTER TYPE "PaymentStatus" RENAME VALUE 'CANCELLED' TO 'CANCELED')");
  db_.exec(R"(ALTER TABLE payments ALTER COLUMN "amountCents" TYPE text)");
  ASSERT_EQ(tbpay({"migrate", "--lookup-index"}, env()).exit, 0);

  const auto checks = doctor(env(), 1);

  EXPECT_FALSE(checks.at("schema")["ok"]);
  const std::string detail = checks.at("schema")["detail"];
  EXPECT_NE(detail.find("outbox.lastError"), std::string::npos) << detail;
  EXPECT_NE(detail.find("CANCELLED"), std::string::npos) << detail;
  EXPECT_NE(detail.find("payments.amountCents is text"), std::string::npos) << detail;
  EXPECT_TRUE(checks.at("payos_lookup_index")["ok"]);
}

TEST_F(Doctor, EveryBrokerIsAskedWithTheConfiguredSecurityAndMissingTopicsAreNamed) {
  ASSERT_EQ(tbpay({"migrate", "--lookup-index"}, env()).exit, 0);
  kafka::EmbeddedCluster bare;  // no topics
  auto e = env();
  e["KAFKA_BROKERS"] = bare.bootstrap() + ",127.0.0.1:1";

  auto checks = doctor(e, 1);

  EXPECT_TRUE(checks.at("kafka_broker " + bare.bootstrap())["ok"]);
  EXPECT_FALSE(checks.at("kafka_broker 127.0.0.1:1")["ok"]);
  EXPECT_FALSE(checks.at("kafka_topics")["ok"]);
  const std::string topics = checks.at("kafka_topics")["detail"];
  EXPECT_NE(topics.find("payment.completed"), std::string::npos) << topics;
  EXPECT_NE(topics.find("payment.cancelled"), std::string::npos) << topics;

  // TLS and SASL as configured: the mock cluster speaks neither, so it does not answer.
  e = env();
  e["KAFKA_SSL"] = "true";
  e["KAFKA_SASL_MECHANISM"] = "SCRAM-SHA-512";
  e["KAFKA_USERNAME"] = "tbpay";
  e["KAFKA_PASSWORD"] = kKafkaPassword;
  checks = doctor(e, 1);
  const json broker = checks.at("kafka_broker " + cluster_.bootstrap());
  EXPECT_FALSE(broker["ok"]) << broker;
  EXPECT_NE(std::string(broker["detail"]).find("TLS on"), std::string::npos) << broker;
  EXPECT_FALSE(checks.at("kafka_topics")["ok"]);
}

TEST_F(Doctor, MalformedOrMissingKeysFailWithoutShowingThem) {
  ASSERT_EQ(tbpay({"migrate", "--lookup-index"}, env()).exit, 0);
  auto e = env();
  e["ZALOPAY_KEY2"] = kZaloPayKey2 + "\n";
  e.erase("PAYOS_CHECKSUM_KEY");
  e["PAYOS_API_KEY"] = kPayOsApiKey.substr(0, 20);

  const auto checks = doctor(e, 1);

  EXPECT_FALSE(checks.at("zalopay_keys")["ok"]);
  EXPECT_NE(std::string(checks.at("zalopay_keys")["detail"]).find("ZALOPAY_KEY2"),
            std::string::npos);
  EXPECT_FALSE(checks.at("payos_keys")["ok"]);
  const std::string payos = checks.at("payos_keys")["detail"];
  EXPECT_NE(payos.find("PAYOS_CHECKSUM_KEY is not set"), std::string::npos) << payos;
  EXPECT_NE(payos.find("PAYOS_API_KEY is not a UUID"), std::string::npos) << payos;
  EXPECT_EQ(payos.find(kPayOsApiKey.substr(0, 20)), std::string::npos) << payos;
  EXPECT_TRUE(checks.at("database")["ok"]);
}

}  // namespace
}  // namespace tbpay::test

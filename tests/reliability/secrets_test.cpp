// Scenario 7, secrets: the whole flow with known keys and passwords (migrate, serve with
// callbacks of both providers, forged ones among them, relay to Kafka and to an unreachable
// broker with credentials, cleanup, outbox and payment commands, a database that refuses us),
// then not one line any process printed, on stdout or stderr, holds a key, a password, a full
// MAC or a full signature.
#include <gtest/gtest.h>

#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "publish/kafka/embedded_cluster.h"
#include "reliability/support/serve.h"
#include "support/test_database.h"

namespace tbpay::reliability {
namespace {

using nlohmann::json;

constexpr const char* kDatabasePassword = "pg-pass-RELIABILITY-8d2f41";
constexpr const char* kKafkaPassword = "kafka-pass-RELIABILITY-3e9c77";

// postgresql://user@host... -> postgresql://user:password@host...
std::string with_password(const std::string& url, const std::string& password) {
  const auto user = url.find("://") + 3;
  const auto at = url.find('@', user);
  if (at == std::string::npos) throw std::runtime_error("no user in " + url);
  return url.substr(0, at) + ":" + password + url.substr(at);
}

struct Output {
  std::string process;
  std::string text;
};

TEST(Secrets, NoLineAnyProcessPrintsHoldsAKeyAPasswordOrAFullSignature) {
  test::PgTestDatabase db;
  db.migrate();
  TempFolder folder;
  const auto payments = seed_payments(db.url(), "TB-SECRET-", 8);
  // The test server trusts every local connection, so any password is accepted: the point
  // is that tbpay is given one and never repeats it.
  const std::string url = with_password(db.url(), kDatabasePassword);
  kafka::EmbeddedCluster cluster(1);
  const auto env = tbpay_env(url, {"LOG_LEVEL=debug", "KAFKA_BROKERS=" + cluster.bootstrap()});
  std::vector<Output> outputs;
  auto keep = [&](const std::string& name, const Finished& f) {
    outputs.push_back({name + " stdout", f.out});
    outputs.push_back({name + " stderr", f.err});
  };

  auto migrate = run_tbpay({"migrate"}, env, folder.path(), "migrate");
  EXPECT_EQ(migrate.exit_code, 0) << migrate.err;
  keep("migrate", migrate);

  // Callbacks: genuine ones of both providers, duplicates, forgeries, mismatches.
  std::vector<std::string> bodies;
  for (std::size_t i = 0; i < 4; ++i) bodies.push_back(signed_callback(payments[i], i == 3));
  bodies.push_back(bodies[0]);                                                 // duplicate
  bodies.push_back(zalopay_callback(payments[4].provider_transaction_id, 1));  // amount mismatch
  bodies.push_back(payos_webhook(payments[5].provider_transaction_id, 1));     // amount mismatch
  ZaloPayKeys wrong_zalopay = zalopay_keys();
  wrong_zalopay.key2 = "wrong";
  PayOsKeys wrong_payos = payos_keys();
  wrong_payos.checksum_key = "wrong";
  bodies.push_back(
      zalopay_callback(payments[6].provider_transaction_id, payments[6].amount, wrong_zalopay));
  bodies.push_back(
      payos_webhook(payments[7].provider_transaction_id, payments[7].amount, "00", wrong_payos));
  std::vector<std::string> signatures;
  for (const auto& b : bodies) {
    const auto j = json::parse(b);
    signatures.push_back(j.contains("mac") ? j["mac"].get<std::string>()
                                           : j["signature"].get<std::string>());
  }
  {
    ServeUnderTest serve(env, folder.path(), "serve");
    HttpClient conn(serve.port());
    for (const auto& b : bodies) {
      const bool zalopay = json::parse(b).contains("mac");
      ASSERT_TRUE(conn.post(zalopay ? "/webhook/zalopay" : "/webhook/payos", b))
          << conn.last_error();
      ASSERT_TRUE(conn.post("/webhook", b)) << conn.last_error();
    }
    ASSERT_TRUE(conn.get("/readyz"));
    ASSERT_TRUE(conn.post("/webhook", "not json"));
    serve.process().signal(SIGTERM);
    EXPECT_EQ(serve.process().wait_exit(40s), 0);
    outputs.push_back({"serve stdout", serve.process().stdout_text()});
    outputs.push_back({"serve stderr", serve.process().stderr_text()});
  }
  EXPECT_EQ(pg_count(db.url(), "SELECT count(*) FROM outbox"), 4);

  // A relay that cannot reach its (SASL) brokers, then one that can.
  auto unreachable = run_tbpay(
      {"relay", "--budget", "2"},
      tbpay_env(url, {"LOG_LEVEL=debug", "KAFKA_BROKERS=127.0.0.1:1", "KAFKA_USERNAME=tbpay",
                      std::string("KAFKA_PASSWORD=") + kKafkaPassword,
                      "KAFKA_SASL_MECHANISM=scram-sha-512"}),
      folder.path(), "relay-unreachable", 120s);
  keep("relay (unreachable brokers)", unreachable);
  auto relay = run_tbpay({"relay"}, env, folder.path(), "relay", 120s);
  EXPECT_EQ(relay.exit_code, 0) << relay.err;
  keep("relay", relay);
  EXPECT_EQ(pg_count(db.url(), "SELECT count(*) FROM outbox WHERE published"), 4);
  for (const auto& args :
       std::vector<std::vector<std::string>>{{"cleanup"},
                                             {"outbox", "stats"},
                                             {"outbox", "dead"},
                                             {"payments", "show", payments[0].order_code}}) {
    auto f = run_tbpay(args, env, folder.path(), args[0]);
    EXPECT_EQ(f.exit_code, 0) << args[0] << ": " << f.err;
    keep(args[0], f);
  }

  // A database that refuses us: the error names it, not its password.
  const std::string refused =
      "postgresql://tbpay:" + std::string(kDatabasePassword) + "@127.0.0.1:1/payments";
  auto bad_migrate = run_tbpay({"migrate"}, tbpay_env(refused), folder.path(), "migrate-refused");
  EXPECT_NE(bad_migrate.exit_code, 0);
  keep("migrate (refused)", bad_migrate);
  auto bad_relay =
      run_tbpay({"relay"}, tbpay_env(refused, {"KAFKA_BROKERS=" + cluster.bootstrap()}),
                folder.path(), "relay-refused");
  EXPECT_NE(bad_relay.exit_code, 0);
  keep("relay (refused)", bad_relay);
  {
    ServeUnderTest serve(tbpay_env(refused, {"LOG_LEVEL=debug"}), folder.path(), "serve-refused");
    auto r = http_once(serve.port(), raw_request("GET", "/readyz", {}));
    ASSERT_TRUE(r);
    EXPECT_EQ(status_of(*r), 503);
    auto cb = http_once(serve.port(), raw_request("POST", "/webhook/zalopay", bodies[0]));
    ASSERT_TRUE(cb);
    serve.process().signal(SIGTERM);
    serve.process().wait_exit(40s);
    outputs.push_back({"serve (refused) stdout", serve.process().stdout_text()});
    outputs.push_back({"serve (refused) stderr", serve.process().stderr_text()});
  }

  std::vector<std::string> secrets = {kZaloPayKey1,      kZaloPayKey2,      kPayOsApiKey,
                                      kPayOsChecksumKey, kDatabasePassword, kKafkaPassword};
  secrets.insert(secrets.end(), signatures.begin(), signatures.end());
  // Nothing that looks like a whole HMAC-SHA256 either (64 hex digits in a row).
  const std::regex digest("[0-9a-fA-F]{64}");
  std::size_t lines = 0;
  for (const auto& o : outputs) {
    std::istringstream in(o.text);
    for (std::string line; std::getline(in, line);) {
      ++lines;
      for (const auto& s : secrets)
        EXPECT_EQ(line.find(s), std::string::npos) << o.process << " printed a secret: " << line;
      EXPECT_FALSE(std::regex_search(line, digest)) << o.process << " printed a digest: " << line;
    }
  }
  // The check saw real output: every process logged.
  EXPECT_GT(lines, 40u);
  std::printf("secrets: %zu lines from %zu outputs checked against %zu secrets and signatures\n",
              lines, outputs.size(), secrets.size());
}

}  // namespace
}  // namespace tbpay::reliability

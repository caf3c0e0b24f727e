// `tbpay reconcile` as an operator runs it: the real binary against fake ZaloPay and PayOS
// status APIs (plain HTTP on loopback, and TLS with a CA made for the test), on PostgreSQL
// (the core service's schema) and SQLite. Every run's output is also checked for secrets.
#include <gtest/gtest.h>

#include <regex>
#include <thread>

#include <nlohmann/json.hpp>

#include "app/background.h"
#include "app/serve_metrics.h"
#include "app/webhook.h"
#include "observability/metrics.h"
#include "providers/fake_provider_api.h"
#include "providers/http/api_client.h"
#include "providers/zalopay/zalopay.h"
#include "reliability/support/serve.h"
#include "support/promtool.h"
#include "support/test_context.h"
#include "support/test_database.h"

namespace tbpay::test {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using reliability::Finished;
using reliability::TempFolder;
using Kind = FakeAnswer::Kind;

FakeAnswer answer(Kind kind, std::int64_t amount = 150000) {
  FakeAnswer a;
  a.kind = kind;
  a.amount = amount;
  a.reference = "230912000123";
  return a;
}

std::vector<json> json_lines(const std::string& text) {
  std::vector<json> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    auto j = json::parse(line, nullptr, false);
    if (j.is_object()) out.push_back(std::move(j));
  }
  return out;
}

class ReconcileTest : public ::testing::TestWithParam<Engine> {
 protected:
  void SetUp() override {
    db = make_test_database(GetParam());
    db->create_core_service_schema();
    fake = std::make_unique<FakeProviderApi>(FakeProviderApi::Options{
        reliability::zalopay_keys(), reliability::payos_keys(), "", "", 0ms});
  }

  // Runs `tbpay reconcile ARGS` with both providers pointing at `fake` (unless `extra` says
  // otherwise); checks that no line holds a key or a full MAC/signature.
  Finished reconcile(const std::vector<std::string>& args, std::vector<std::string> extra = {}) {
    std::vector<std::string> env_extra = {"ZALOPAY_API_URL=" + fake->url(),
                                          "PAYOS_API_URL=" + fake->url()};
    env_extra.insert(env_extra.end(), extra.begin(), extra.end());
    std::vector<std::string> argv = {"reconcile"};
    argv.insert(argv.end(), args.begin(), args.end());
    Finished run = reliability::run_tbpay(argv, reliability::tbpay_env(db->url(), env_extra),
                                          folder.path(), "reconcile" + std::to_string(++runs));
    for (const char* secret : {reliability::kZaloPayKey1, reliability::kZaloPayKey2,
                               reliability::kPayOsApiKey, reliability::kPayOsChecksumKey}) {
      EXPECT_EQ(run.out.find(secret), std::string::npos) << secret;
      EXPECT_EQ(run.err.find(secret), std::string::npos) << secret;
    }
    static const std::regex digest("[0-9a-fA-F]{64}");
    EXPECT_FALSE(std::regex_search(run.err, digest)) << run.err;
    EXPECT_FALSE(std::regex_search(run.out, digest)) << run.out;
    return run;
  }

  static json summary(const Finished& run) {
    auto j = json::parse(run.out, nullptr, false);
    EXPECT_TRUE(j.is_object()) << "stdout: " << run.out << "\nstderr: " << run.err;
    return j;
  }

  std::string seed(const std::string& order_code, Provider provider,
                   std::chrono::milliseconds age = 10min, std::int64_t amount = 150000) {
    SeedPayment p;
    p.order_code = order_code;
    p.provider = provider;
    p.amount_cents = amount;
    p.provider_transaction_id =
        provider == Provider::ZaloPay ? "251213_" + order_code : "plink" + order_code;
    p.created_at = now_utc() - age;
    insert_payment(*db, p);
    return p.provider_transaction_id;
  }

  std::string status(const std::string& order_code) {
    return db->scalar(R"(SELECT status FROM payments WHERE "orderCode" = $1)", {order_code});
  }
  std::vector<Row> events(const std::string& order_code) {
    return db->query(
        R"(SELECT o."eventType", o.payload FROM outbox o JOIN payments p ON p.id = o."aggregateId"
            WHERE p."orderCode" = $1)",
        {order_code});
  }
  std::int64_t event_count() { return db->count("SELECT count(*) FROM outbox"); }

  std::unique_ptr<TestDatabase> db;
  std::unique_ptr<FakeProviderApi> fake;
  TempFolder folder;
  int runs = 0;
};

TEST_P(ReconcileTest, SettlesWhatTheProvidersSettledThroughTheCallbackTransition) {
  fake->set(seed("TB-ZP-PAID", Provider::ZaloPay), answer(Kind::Paid));
  fake->set(seed("TB-ZP-FAILED", Provider::ZaloPay), answer(Kind::Failed));
  fake->set(seed("TB-ZP-WAIT", Provider::ZaloPay), answer(Kind::Pending));
  fake->set(seed("TB-ZP-PROC", Provider::ZaloPay), answer(Kind::Processing));
  fake->set(seed("TB-PO-PAID", Provider::PayOS), answer(Kind::Paid));
  FakeAnswer cancelled = answer(Kind::Failed);
  cancelled.payos_status = "CANCELLED";
  fake->set(seed("TB-PO-CANC", Provider::PayOS), cancelled);
  FakeAnswer expired = answer(Kind::Failed);
  expired.payos_status = "EXPIRED";
  expired.reason = "";
  fake->set(seed("TB-PO-EXP", Provider::PayOS), expired);
  fake->set(seed("TB-PO-WAIT", Provider::PayOS), answer(Kind::Processing));

  const Finished run = reconcile({});

  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(summary(run), (json{{"checked", 8},
                                {"completed", 2},
                                {"failed", 3},
                                {"still_pending", 3},
                                {"errors", 0},
                                {"mismatches", 0}}));
  EXPECT_EQ(fake->bad_auth(), 0);
  EXPECT_EQ(status("TB-ZP-PAID"), "COMPLETED");
  EXPECT_EQ(status("TB-ZP-FAILED"), "FAILED");
  EXPECT_EQ(status("TB-ZP-WAIT"), "PENDING");
  EXPECT_EQ(status("TB-ZP-PROC"), "PENDING");
  EXPECT_EQ(status("TB-PO-PAID"), "COMPLETED");
  EXPECT_EQ(status("TB-PO-CANC"), "FAILED");
  EXPECT_EQ(status("TB-PO-EXP"), "FAILED");
  EXPECT_EQ(status("TB-PO-WAIT"), "PENDING");

  // The same event a callback writes, with the provider's transaction id as reference.
  auto zp = events("TB-ZP-PAID");
  ASSERT_EQ(zp.size(), 1u);
  EXPECT_EQ(zp[0][0], "PAYMENT_COMPLETED");
  const json zp_payload = json::parse(*zp[0][1]);
  EXPECT_EQ(zp_payload["order_code"], "TB-ZP-PAID");
  EXPECT_EQ(zp_payload["transaction_id"], "251213_TB-ZP-PAID");
  EXPECT_EQ(zp_payload["provider_reference"], "230912000123");
  EXPECT_EQ(zp_payload["amount_cents"], 150000);
  auto po = events("TB-PO-PAID");
  ASSERT_EQ(po.size(), 1u);
  EXPECT_EQ(json::parse(*po[0][1])["provider_reference"], "230912000123");
  auto canc = events("TB-PO-CANC");
  ASSERT_EQ(canc.size(), 1u);
  EXPECT_EQ(canc[0][0], "PAYMENT_FAILED");
  EXPECT_EQ(json::parse(*canc[0][1])["reason"], "customer cancelled");
  EXPECT_EQ(json::parse(*events("TB-PO-EXP")[0][1])["reason"], "PayOS status EXPIRED");
  EXPECT_EQ(event_count(), 5);

  // A later run asks only about what is still PENDING.
  const Finished again = reconcile({});
  EXPECT_EQ(summary(again), (json{{"checked", 3},
                                  {"completed", 0},
                                  {"failed", 0},
                                  {"still_pending", 3},
                                  {"errors", 0},
                                  {"mismatches", 0}}));
  EXPECT_EQ(event_count(), 5);
}

TEST_P(ReconcileTest, OnlyPaymentsBetweenTheTwoAgesAreAsked) {
  fake->set_default(answer(Kind::Paid));
  seed("TB-YOUNG", Provider::ZaloPay, 30s);
  seed("TB-STALE", Provider::ZaloPay, 3h);
  seed("TB-OLD", Provider::PayOS, 80h);

  const Finished run = reconcile({});
  EXPECT_EQ(summary(run)["checked"], 1);
  EXPECT_EQ(status("TB-STALE"), "COMPLETED");
  EXPECT_EQ(status("TB-YOUNG"), "PENDING");
  EXPECT_EQ(status("TB-OLD"), "PENDING");

  const Finished wide = reconcile({"--older-than", "10s", "--younger-than", "4d", "--limit", "1"});
  EXPECT_EQ(summary(wide)["checked"], 1);  // the oldest first
  EXPECT_EQ(status("TB-OLD"), "COMPLETED");
  EXPECT_EQ(status("TB-YOUNG"), "PENDING");

  const Finished from_env = reconcile({}, {"RECONCILE_AFTER=10s"});
  EXPECT_EQ(summary(from_env)["completed"], 1);
  EXPECT_EQ(status("TB-YOUNG"), "COMPLETED");
}

TEST_P(ReconcileTest, MismatchesAndUnverifiedAnswersChangeNothingAndRaiseAnAlert) {
  fake->set(seed("TB-ZP-AMOUNT", Provider::ZaloPay), answer(Kind::Paid, 1000));
  fake->set(seed("TB-PO-AMOUNT", Provider::PayOS), answer(Kind::Paid, 1000));
  fake->set(seed("TB-PO-UNDER", Provider::PayOS), answer(Kind::Underpaid));
  fake->set(seed("TB-PO-FORGED", Provider::PayOS), answer(Kind::BadSignature));
  fake->set(seed("TB-PO-UNSIGNED", Provider::PayOS), answer(Kind::NoSignature));

  for (const bool dry : {true, false}) {
    const Finished run =
        reconcile(dry ? std::vector<std::string>{"--dry-run"} : std::vector<std::string>{});
    ASSERT_EQ(run.exit_code, 0) << run.err;
    const json s = summary(run);
    EXPECT_EQ(s["checked"], 5);
    EXPECT_EQ(s["mismatches"], 5);
    EXPECT_EQ(s["completed"], 0);
    int alerts = 0;
    for (const json& line : json_lines(run.err))
      if (line.value("alert", false) && line.value("level", "") == "error") ++alerts;
    EXPECT_EQ(alerts, 5) << run.err;
  }
  for (const char* code :
       {"TB-ZP-AMOUNT", "TB-PO-AMOUNT", "TB-PO-UNDER", "TB-PO-FORGED", "TB-PO-UNSIGNED"})
    EXPECT_EQ(status(code), "PENDING") << code;
  EXPECT_EQ(event_count(), 0);
}

TEST_P(ReconcileTest, ProviderTroubleIsCountedAsErrorsAndChangesNothing) {
  fake->set(seed("TB-502", Provider::ZaloPay), answer(Kind::ServerError));
  fake->set(seed("TB-JUNK", Provider::ZaloPay), answer(Kind::Malformed));
  fake->set(seed("TB-SLOW", Provider::ZaloPay), answer(Kind::Hang));  // past the 5 s timeout
  fake->set(seed("TB-429", Provider::ZaloPay), answer(Kind::TooMany));
  seed("TB-REFUSED", Provider::PayOS);
  // A port nothing listens on: connection refused.
  std::string closed;
  {
    FakeProviderApi gone({});
    closed = gone.url();
  }

  const Finished run = reconcile({}, {"PAYOS_API_URL=" + closed});

  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(summary(run), (json{{"checked", 5},
                                {"completed", 0},
                                {"failed", 0},
                                {"still_pending", 0},
                                {"errors", 5},
                                {"mismatches", 0}}));
  for (const char* code : {"TB-502", "TB-JUNK", "TB-SLOW", "TB-429", "TB-REFUSED"})
    EXPECT_EQ(status(code), "PENDING") << code;
  EXPECT_EQ(event_count(), 0);
}

TEST_P(ReconcileTest, A429IsHonouredBeforeTheNextRequestToThatProvider) {
  FakeAnswer limited = answer(Kind::TooMany);
  limited.retry_after_s = 1;
  const auto first = seed("TB-FIRST", Provider::ZaloPay, 20min);
  const auto second = seed("TB-SECOND", Provider::ZaloPay, 10min);
  fake->set(first, limited);
  fake->set(second, answer(Kind::Paid));

  const Finished run = reconcile({}, {"RECONCILE_CONCURRENCY=1"});

  EXPECT_EQ(summary(run)["errors"], 1);
  EXPECT_EQ(summary(run)["completed"], 1);
  EXPECT_EQ(status("TB-FIRST"), "PENDING");
  EXPECT_EQ(status("TB-SECOND"), "COMPLETED");
  const auto a = fake->arrivals(first), b = fake->arrivals(second);
  ASSERT_EQ(a.size(), 1u);
  ASSERT_EQ(b.size(), 1u);
  EXPECT_GE(b[0] - a[0], 1s);
}

TEST_P(ReconcileTest, RequestsInFlightAndPerProviderRateAreBounded) {
  fake = std::make_unique<FakeProviderApi>(FakeProviderApi::Options{
      reliability::zalopay_keys(), reliability::payos_keys(), "", "", 150ms});
  for (int i = 0; i < 12; ++i) seed("TB-C" + std::to_string(i), Provider::ZaloPay);
  const Finished run = reconcile({}, {"RECONCILE_CONCURRENCY=3", "RECONCILE_RPS=1000"});
  EXPECT_EQ(summary(run)["still_pending"], 12);
  EXPECT_LE(fake->max_in_flight(), 3);
  EXPECT_GE(fake->max_in_flight(), 1);

  fake = std::make_unique<FakeProviderApi>(FakeProviderApi::Options{
      reliability::zalopay_keys(), reliability::payos_keys(), "", "", 0ms});
  for (int i = 0; i < 6; ++i) seed("TB-R" + std::to_string(i), Provider::PayOS);
  const Finished paced = reconcile({"--older-than", "1m"}, {"RECONCILE_RPS=5"});
  EXPECT_EQ(summary(paced)["checked"], 18);
  // 12 ZaloPay and 6 PayOS requests, each provider at most 5 a second: ZaloPay's are 11
  // intervals of 200 ms apart, first to last (less a generous allowance for a loaded machine
  // sending the first one late; without the limit all 18 go out at once).
  const auto all = fake->all_arrivals();
  ASSERT_EQ(all.size(), 18u);
  EXPECT_GE(all.back() - all.front(), 1800ms);
}

TEST_P(ReconcileTest, AQueryZaloPayRefusesWithAWrongKeyFailsNoPayment) {
  // ZaloPay answers a query with a wrong mac as return_code 2 (sub_return_code -402), the
  // code of a failed payment: the payment must stay PENDING, counted as an error.
  fake->set(seed("TB-WRONG-KEY", Provider::ZaloPay), answer(Kind::Paid));
  const Finished run = reconcile({}, {"ZALOPAY_KEY1=zp-key1-NOT-THE-ONE-ZALOPAY-HOLDS"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(fake->bad_auth(), 1);
  EXPECT_EQ(summary(run), (json{{"checked", 1},
                                {"completed", 0},
                                {"failed", 0},
                                {"still_pending", 0},
                                {"errors", 1},
                                {"mismatches", 0}}));
  EXPECT_EQ(status("TB-WRONG-KEY"), "PENDING");
  EXPECT_EQ(event_count(), 0);
  EXPECT_NE(run.err.find("ZALOPAY_KEY1"), std::string::npos) << run.err;
}

TEST_P(ReconcileTest, ADatabaseThatCannotBeReadIsAnErrorOnStderrAndNothingOnStdout) {
  // A port nothing listens on: the run cannot read the stale payments.
  std::string closed;
  {
    FakeProviderApi gone({});
    closed = gone.url().substr(std::string("http://").size());
  }
  const Finished run =
      reconcile({}, {"DATABASE_URL=postgresql://tbpay@" + closed + "/none?connect_timeout=5"});
  EXPECT_EQ(run.exit_code, 1) << run.err;
  EXPECT_EQ(run.out, "") << "a failed run prints no summary";
  EXPECT_NE(run.err.find("tbpay reconcile: "), std::string::npos) << run.err;
  EXPECT_EQ(fake->requests(), 0);
}

TEST_P(ReconcileTest, DryRunAsksAndReportsButChangesNothing) {
  fake->set(seed("TB-D1", Provider::ZaloPay), answer(Kind::Paid));
  fake->set(seed("TB-D2", Provider::PayOS), answer(Kind::Failed));
  const Finished run = reconcile({"--dry-run"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(summary(run), (json{{"checked", 2},
                                {"completed", 1},
                                {"failed", 1},
                                {"still_pending", 0},
                                {"errors", 0},
                                {"mismatches", 0},
                                {"dry_run", true}}));
  EXPECT_EQ(status("TB-D1"), "PENDING");
  EXPECT_EQ(status("TB-D2"), "PENDING");
  EXPECT_EQ(event_count(), 0);
}

TEST_P(ReconcileTest, AProviderWithoutKeysIsSkippedWithOneWarning) {
  fake->set_default(answer(Kind::Paid));
  seed("TB-K1", Provider::ZaloPay);
  seed("TB-K2", Provider::PayOS);
  seed("TB-K3", Provider::PayOS);
  const Finished run = reconcile({}, {"PAYOS_API_KEY="});
  EXPECT_EQ(summary(run)["checked"], 1);
  EXPECT_EQ(status("TB-K1"), "COMPLETED");
  EXPECT_EQ(status("TB-K2"), "PENDING");
  int warnings = 0;
  for (const json& line : json_lines(run.err))
    if (line.value("provider", "") == "PAYOS" && line.value("level", "") == "warn") ++warnings;
  EXPECT_EQ(warnings, 1) << run.err;
}

TEST_P(ReconcileTest, APaymentLeavingTheWindowStillPendingIsReportedOnce) {
  seed("TB-LEAVING", Provider::ZaloPay, 72h + 30s);  // aged out within the last minute
  seed("TB-LEFT", Provider::ZaloPay, 72h + 5min);    // reported by an earlier run
  fake->set(seed("TB-LEAVING-PAID", Provider::PayOS, 72h + 20s), answer(Kind::Paid));
  const Finished run = reconcile({"--every", "1m"});
  const json s = summary(run);
  EXPECT_EQ(s["checked"], 2);
  EXPECT_EQ(s["left_window"], 1);
  EXPECT_EQ(status("TB-LEAVING-PAID"), "COMPLETED");  // the last look settled it
  std::vector<json> alerts;
  for (const json& line : json_lines(run.err))
    if (line.value("alert", false)) alerts.push_back(line);
  ASSERT_EQ(alerts.size(), 1u) << run.err;
  EXPECT_EQ(alerts[0]["order_code"], "TB-LEAVING");
}

TEST_P(ReconcileTest, ACallbackAndAReconcileAtOnceMakeOneTransitionAndOneEvent) {
  // Answers take 50 ms and callbacks come every 30 ms, so that both run over the same second.
  fake = std::make_unique<FakeProviderApi>(FakeProviderApi::Options{
      reliability::zalopay_keys(), reliability::payos_keys(), "", "", 50ms});
  fake->set_default(answer(Kind::Paid));
  std::vector<std::string> transactions;
  for (int i = 0; i < 24; ++i)
    transactions.push_back(seed("TB-RACE-" + std::to_string(i), Provider::ZaloPay));

  Config config;
  config.zalopay = reliability::zalopay_keys();
  config.log_level = "error";
  auto ctx = make_test_context(*db, config);
  WebhookIngestion ingestion(*ctx);
  reliability::ChildProcess child(
      {"reconcile"},
      reliability::tbpay_env(db->url(), {"ZALOPAY_API_URL=" + fake->url(),
                                         "PAYOS_API_URL=" + fake->url(), "RECONCILE_RPS=1000"}),
      folder.path(), "race");
  int processed = 0;
  for (const auto& t : transactions) {
    const HttpReply r = ingestion.handle(
        {"POST", "/webhook/zalopay",
         sign_zalopay_callback(reliability::zalopay_keys(), t, 150000, 230912000123), ""});
    ASSERT_EQ(r.status, 200);
    if (json::parse(r.body)["return_code"] == 1) ++processed;
    std::this_thread::sleep_for(30ms);
  }
  ASSERT_EQ(child.wait_exit(60s), 0) << child.stderr_text();
  const json s = json::parse(child.stdout_text());
  EXPECT_EQ(processed + s["completed"].get<int>(), 24) << s;
  for (int i = 0; i < 24; ++i) {
    const std::string code = "TB-RACE-" + std::to_string(i);
    EXPECT_EQ(status(code), "COMPLETED");
    EXPECT_EQ(events(code).size(), 1u) << code;
  }
  EXPECT_EQ(event_count(), 24);
}

TEST_P(ReconcileTest, OverTlsTheProviderCertificateIsVerified) {
  TempFolder certs;
  const TestCertificates c = make_test_certificates(certs.path());
  fake = std::make_unique<FakeProviderApi>(FakeProviderApi::Options{
      reliability::zalopay_keys(), reliability::payos_keys(), c.cert_file, c.key_file, 0ms});
  fake->set_default(answer(Kind::Paid));
  seed("TB-TLS-1", Provider::ZaloPay);
  seed("TB-TLS-2", Provider::PayOS);

  // Not trusted: OpenSSL's default store does not hold the test CA.
  const Finished untrusted = reconcile(
      {}, {"ZALOPAY_API_URL=" + fake->url("localhost"), "PAYOS_API_URL=" + fake->url("127.0.0.1"),
           "SSL_CERT_FILE=" + certs.path() + "/server.csr"});
  EXPECT_EQ(summary(untrusted)["errors"], 2);
  EXPECT_EQ(status("TB-TLS-1"), "PENDING");
  EXPECT_EQ(fake->requests(), 0);

  // SSL_CERT_FILE names the test CA: both the DNS name and the IP address verify.
  const Finished trusted =
      reconcile({}, {"ZALOPAY_API_URL=" + fake->url("localhost"),
                     "PAYOS_API_URL=" + fake->url("127.0.0.1"), "SSL_CERT_FILE=" + c.ca_file});
  EXPECT_EQ(summary(trusted)["completed"], 2) << trusted.err;
  EXPECT_EQ(status("TB-TLS-1"), "COMPLETED");
  EXPECT_EQ(status("TB-TLS-2"), "COMPLETED");
}

TEST_P(ReconcileTest, PlainHttpToAnotherHostAndBadSettingsStopStartUp) {
  seed("TB-H1", Provider::ZaloPay);
  const Finished plain = reconcile({}, {"ZALOPAY_API_URL=http://openapi.zalopay.vn"});
  EXPECT_EQ(plain.exit_code, 2);
  EXPECT_NE(plain.err.find("ZALOPAY_API_URL"), std::string::npos) << plain.err;
  EXPECT_TRUE(plain.out.empty());
  EXPECT_EQ(reconcile({}, {"RECONCILE_CONCURRENCY=none"}).exit_code, 2);
  EXPECT_NE(reconcile({"--older-than", "soon"}).exit_code, 0);
  EXPECT_EQ(status("TB-H1"), "PENDING");
  EXPECT_EQ(fake->requests(), 0);
}

TEST_P(ReconcileTest, ServeReconcilesInTheBackground) {
  fake->set(seed("TB-BG-PAID", Provider::ZaloPay), answer(Kind::Paid));
  fake->set(seed("TB-BG-WAIT", Provider::PayOS), answer(Kind::Pending));
  Config config;
  config.zalopay = reliability::zalopay_keys();
  config.payos = reliability::payos_keys();
  config.zalopay.api_url = fake->url();
  config.payos.api_url = fake->url();
  config.events_file = folder.path() + "/events.jsonl";
  config.log_level = "error";
  auto ctx = make_test_context(*db, config);
  std::vector<std::string> lines;
  std::mutex lines_mutex;
  Metrics metrics("serve", [&](std::string_view l) {
    std::lock_guard lock(lines_mutex);
    lines.emplace_back(l);
  });
  OutboxBackgroundOptions options;
  options.first_reconcile_after = 0ms;  // serve waits a minute; the loop is the same
  options.reconcile_every = 100ms;
  options.first_cleanup_after = 1h;
  ServeMetrics exposed(*ctx->db);
  const auto sample = [&](const std::string& series) {
    const auto s = samples(exposed.render());
    return s.count(series) ? s.at(series) : -1.0;
  };
  const auto wait_until = [](auto done) {
    for (int i = 0; i < 600 && !done(); ++i) std::this_thread::sleep_for(50ms);
    return done();
  };
  {
    OutboxBackground background(*ctx, metrics, exposed, options);
    EXPECT_TRUE(wait_until([&] {
      return status("TB-BG-PAID") == "COMPLETED" && fake->arrivals("plinkTB-BG-WAIT").size() >= 2;
    }));
    // Prometheus has the runs and what they made of each payment.
    EXPECT_TRUE(wait_until([&] { return sample("tbpay_reconcile_runs_total") >= 2; }))
        << exposed.render();
    EXPECT_EQ(sample(R"(tbpay_reconcile_payments_total{outcome="completed"})"), 1);
    EXPECT_GE(sample(R"(tbpay_reconcile_payments_total{outcome="still_pending"})"), 2);
    EXPECT_EQ(sample(R"(tbpay_reconcile_payments_total{outcome="mismatch"})"), 0);
    EXPECT_EQ(sample("tbpay_reconcile_run_failures_total"), 0);
    // A database that cannot be read fails the run, and the failure is counted.
    db->exec(R"(ALTER TABLE payments RENAME TO payments_away)");
    EXPECT_TRUE(wait_until([&] { return sample("tbpay_reconcile_run_failures_total") >= 1; }))
        << exposed.render();
    db->exec(R"(ALTER TABLE payments_away RENAME TO payments)");
  }
  const auto check = check_metrics(exposed.render());
  EXPECT_EQ(check.exit_code, 0) << check.output;
  EXPECT_EQ(status("TB-BG-PAID"), "COMPLETED");
  EXPECT_EQ(events("TB-BG-PAID").size(), 1u);
  // Asked again on the next run: still pending there, still PENDING here.
  EXPECT_GE(fake->arrivals("plinkTB-BG-WAIT").size(), 2u);
  EXPECT_EQ(status("TB-BG-WAIT"), "PENDING");
  metrics.flush();
  bool counted = false;
  for (const auto& l : lines)
    if (json::parse(l).value("ReconcileCompleted", 0.0) >= 1) counted = true;
  EXPECT_TRUE(counted);
}

INSTANTIATE_TEST_SUITE_P(Engines, ReconcileTest, ::testing::ValuesIn(all_engines()), EngineName{});

TEST(ApiUrl, HttpsAnywhereHttpOnlyToLoopback) {
  auto u = parse_api_url("https://sb-openapi.zalopay.vn/");
  ASSERT_TRUE(u);
  EXPECT_TRUE(u->tls);
  EXPECT_EQ(u->host, "sb-openapi.zalopay.vn");
  EXPECT_EQ(u->port, "443");
  EXPECT_EQ(u->path, "");
  auto local = parse_api_url("http://127.0.0.1:8081/base");
  ASSERT_TRUE(local);
  EXPECT_FALSE(local->tls);
  EXPECT_EQ(local->path, "/base");
  EXPECT_TRUE(parse_api_url("http://localhost:1"));
  EXPECT_TRUE(parse_api_url("http://[::1]:8080"));
  EXPECT_FALSE(parse_api_url("http://api-merchant.payos.vn"));
  EXPECT_FALSE(parse_api_url("http://10.0.0.1"));
  EXPECT_FALSE(parse_api_url("ftp://x"));
  EXPECT_FALSE(parse_api_url("https://"));
  EXPECT_FALSE(parse_api_url("https://host:99999"));
}

}  // namespace
}  // namespace tbpay::test

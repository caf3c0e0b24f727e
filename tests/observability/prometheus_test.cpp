// The Prometheus exposition /metrics answers: Prometheus's parser (promtool) reads it, and the
// numbers in it are the ones recorded.
#include "observability/prometheus.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <stdexcept>
#include <thread>
#include <vector>

#include "support/promtool.h"

namespace tbpay::prometheus {
namespace {

using test::check_metrics;
using test::samples;

TEST(Prometheus, CountersGaugesAndHistogramsRenderAsPromtoolReadsThem) {
  Registry r;
  r.counter("shop_orders_total", "Orders, by provider.", {{"provider", "zalopay"}}).add(3);
  r.counter("shop_orders_total", "Orders, by provider.", {{"provider", "payos"}}).add();
  r.gauge("shop_queue_events", "Events waiting.").set(42);
  auto& h = r.histogram("shop_request_duration_seconds", "Request time.", {0.01, 0.001, 0.005},
                        {{"provider", "zalopay"}});
  h.observe(0.001);  // on a bound: counted in that bucket (le is "less or equal")
  h.observe(0.0042);
  h.observe(0.009);
  h.observe(2.5);  // past every bound: +Inf only

  const std::string text = r.render();
  const auto check = check_metrics(text);
  EXPECT_EQ(check.exit_code, 0) << check.output << "\n" << text;
  EXPECT_EQ(check.output, "") << text;

  const auto s = samples(text);
  EXPECT_EQ(s.at(R"(shop_orders_total{provider="zalopay"})"), 3);
  EXPECT_EQ(s.at(R"(shop_orders_total{provider="payos"})"), 1);
  EXPECT_EQ(s.at("shop_queue_events"), 42);
  // Buckets are cumulative and in ascending order, whatever order the bounds were given in.
  EXPECT_EQ(s.at(R"(shop_request_duration_seconds_bucket{provider="zalopay",le="0.001"})"), 1);
  EXPECT_EQ(s.at(R"(shop_request_duration_seconds_bucket{provider="zalopay",le="0.005"})"), 2);
  EXPECT_EQ(s.at(R"(shop_request_duration_seconds_bucket{provider="zalopay",le="0.01"})"), 3);
  EXPECT_EQ(s.at(R"(shop_request_duration_seconds_bucket{provider="zalopay",le="+Inf"})"), 4);
  EXPECT_EQ(s.at(R"(shop_request_duration_seconds_count{provider="zalopay"})"), 4);
  EXPECT_DOUBLE_EQ(s.at(R"(shop_request_duration_seconds_sum{provider="zalopay"})"),
                   0.001 + 0.0042 + 0.009 + 2.5);
  EXPECT_LT(text.find("le=\"0.001\""), text.find("le=\"0.005\"")) << text;
  // One HELP and TYPE per name, however many series it has.
  EXPECT_EQ(text.find("# TYPE shop_orders_total counter"),
            text.rfind("# TYPE shop_orders_total counter"));
}

TEST(Prometheus, LabelValuesAndHelpAreEscaped) {
  Registry r;
  r.counter("odd_values_total", "Help with a backslash \\ and\na new line.",
            {{"path", "a\"b\\c\nd"}})
      .add();
  const std::string text = r.render();
  const auto check = check_metrics(text);
  EXPECT_EQ(check.exit_code, 0) << check.output << "\n" << text;
  EXPECT_NE(text.find(R"(odd_values_total{path="a\"b\\c\nd"} 1)"), std::string::npos) << text;
  EXPECT_NE(text.find(R"(# HELP odd_values_total Help with a backslash \\ and\na new line.)"),
            std::string::npos)
      << text;
}

TEST(Prometheus, TheSameNameAndLabelsAreTheSameSeries) {
  Registry r;
  auto& a = r.counter("same_total", "x", {{"k", "v"}});
  auto& b = r.counter("same_total", "x", {{"k", "v"}});
  EXPECT_EQ(&a, &b);
  EXPECT_NE(&a, &r.counter("same_total", "x", {{"k", "w"}}));
  EXPECT_THROW(r.gauge("same_total", "x"), std::logic_error);
  EXPECT_THROW(r.counter("bad-name_total", "x"), std::logic_error);
  EXPECT_THROW(r.histogram("h_seconds", "x", {1}, {{"le", "1"}}), std::logic_error);
}

TEST(Prometheus, CountsFromManyThreadsAreAllKept) {
  Registry r;
  auto& c = r.counter("hits_total", "Hits.");
  auto& h = r.histogram("hit_seconds", "Hit time.", {0.001, 0.01});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 20000; ++i) {
        c.add();
        h.observe(0.005);
      }
    });
  for (auto& t : threads) t.join();
  const auto s = samples(r.render());
  EXPECT_EQ(s.at("hits_total"), 80000);
  EXPECT_EQ(s.at(R"(hit_seconds_bucket{le="0.01"})"), 80000);
  EXPECT_EQ(s.at(R"(hit_seconds_bucket{le="0.001"})"), 0);
  EXPECT_NEAR(s.at("hit_seconds_sum"), 400, 1e-6);
}

TEST(Prometheus, GaugesRefreshedBeforeRenderShowTheValueOfThatMoment) {
  Registry r;
  auto& g = r.gauge("pool_in_use", "In use.");
  int now = 0;
  r.before_render([&] { g.set(now); });
  now = 5;
  EXPECT_EQ(samples(r.render()).at("pool_in_use"), 5);
  now = 2;
  EXPECT_EQ(samples(r.render()).at("pool_in_use"), 2);
}

// The checker itself is strict: what it accepts above, it had a chance to refuse.
TEST(Prometheus, PromtoolRefusesABrokenExposition) {
  EXPECT_NE(check_metrics("# TYPE x counter\nx{a=\"b} 1\n").exit_code, 0);
  EXPECT_NE(check_metrics("# HELP x_seconds t\n# TYPE x_seconds counter\nx_seconds 1\n").exit_code,
            0);  // a counter without _total
}

// The alert rules the README offers load in Prometheus, and fire when they should
// (deploy/prometheus/alerts_test.yml).
TEST(PrometheusAlerts, RulesLoadAndFireOnDeadEventsAndAnOldBacklog) {
  const std::string dir = std::string(std::getenv("TBPAY_SOURCE_DIR")) + "/deploy/prometheus";
  auto check = test::promtool("check rules " + dir + "/alerts.yml");
  EXPECT_EQ(check.exit_code, 0) << check.output;
  EXPECT_NE(check.output.find("SUCCESS"), std::string::npos) << check.output;
  auto unit = test::promtool("test rules " + dir + "/alerts_test.yml");
  EXPECT_EQ(unit.exit_code, 0) << unit.output;
}

}  // namespace
}  // namespace tbpay::prometheus

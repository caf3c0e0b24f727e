// The embedded default publisher: one JSON line per event, on disk before it counts.
#include "publish/jsonl/jsonl_publisher.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "config/config.h"
#include "publish/open.h"

namespace tbpay {
namespace {

namespace fs = std::filesystem;

class JsonLinesPublisherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir = fs::temp_directory_path() /
          ("tbpay-jsonl-" + std::to_string(::getpid()) + "-" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir);
  }
  void TearDown() override { fs::remove_all(dir); }

  std::vector<nlohmann::json> lines(const fs::path& file) {
    std::vector<nlohmann::json> out;
    std::ifstream in(file);
    for (std::string line; std::getline(in, line);) out.push_back(nlohmann::json::parse(line));
    return out;
  }

  static OutgoingMessage message(std::string id, std::string value) {
    return {id,
            "payment.completed",
            "payment-1",
            std::move(value),
            {{"eventId", id},
             {"eventType", "PAYMENT_COMPLETED"},
             {"aggregateType", "Payment"},
             {"content-type", "application/json"}}};
  }

  fs::path dir;
};

TEST_F(JsonLinesPublisherTest, WritesOneDocumentedLinePerEventCreatingTheDirectory) {
  const fs::path file = dir / "var" / "events.jsonl";
  jsonl::JsonLinesPublisher publisher(file);
  const std::vector<OutgoingMessage> batch = {
      message("e1", R"({"order_code":"TB-1","amount_cents":5000})"),
      message("e2", R"({"order_code":"TB-2"})")};

  const auto outcomes = publisher.publish(batch, std::chrono::seconds(1));

  ASSERT_EQ(outcomes.size(), 2u);
  EXPECT_TRUE(outcomes[0].delivered);
  EXPECT_TRUE(outcomes[1].delivered);
  const auto got = lines(file);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0], nlohmann::json::parse(R"({"topic":"payment.completed","key":"payment-1",
      "headers":{"eventId":"e1","eventType":"PAYMENT_COMPLETED","aggregateType":"Payment",
                 "content-type":"application/json"},
      "value":{"order_code":"TB-1","amount_cents":5000}})"));
  EXPECT_EQ(got[1]["value"]["order_code"], "TB-2");
}

TEST_F(JsonLinesPublisherTest, AppendsAcrossBatchesAndPublishers) {
  const fs::path file = dir / "events.jsonl";
  jsonl::JsonLinesPublisher(file).publish(std::vector{message("e1", "{}")},
                                          std::chrono::seconds(1));
  jsonl::JsonLinesPublisher(file).publish(std::vector{message("e2", "{}")},
                                          std::chrono::seconds(1));
  const auto got = lines(file);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0]["headers"]["eventId"], "e1");
  EXPECT_EQ(got[1]["headers"]["eventId"], "e2");
}

TEST_F(JsonLinesPublisherTest, APayloadThatIsNotJsonFailsAloneAndWritesNothing) {
  const fs::path file = dir / "events.jsonl";
  jsonl::JsonLinesPublisher publisher(file);
  const auto outcomes = publisher.publish(
      std::vector{message("bad", "{not json"), message("good", "{}")}, std::chrono::seconds(1));
  EXPECT_FALSE(outcomes[0].delivered);
  EXPECT_NE(outcomes[0].error.find("JSON"), std::string::npos);
  EXPECT_TRUE(outcomes[1].delivered);
  const auto got = lines(file);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0]["headers"]["eventId"], "good");
}

TEST_F(JsonLinesPublisherTest, AFileThatCannotBeWrittenReportsEveryMessageFailed) {
  fs::create_directories(dir);
  const fs::path blocker = dir / "not-a-directory";
  std::ofstream(blocker) << "x";
  jsonl::JsonLinesPublisher publisher(blocker / "events.jsonl");
  const auto outcomes = publisher.publish(std::vector{message("e1", "{}"), message("e2", "{}")},
                                          std::chrono::seconds(1));
  for (const auto& o : outcomes) {
    EXPECT_FALSE(o.delivered);
    EXPECT_FALSE(o.error.empty());
  }
}

TEST_F(JsonLinesPublisherTest, IsTheDefaultWhenNoBrokersAreConfigured) {
  Config config;
  config.events_file = (dir / "var" / "events.jsonl").string();
  auto publisher = open_publisher(config, Logger(LogLevel::Error));
  EXPECT_EQ(publisher->describe(), "file " + config.events_file);
  EXPECT_TRUE(
      publisher->publish(std::vector{message("e1", "{}")}, std::chrono::seconds(1))[0].delivered);
  EXPECT_EQ(lines(config.events_file).size(), 1u);
}

TEST(OpenPublisher, EmbeddedStartsAnInProcessClusterAndProducesToIt) {
  Config config;
  config.kafka.brokers = "embedded";
  auto publisher = open_publisher(config, Logger(LogLevel::Error));
  EXPECT_EQ(publisher->describe().rfind("kafka (embedded) 127.0.0.1:", 0), 0u)
      << publisher->describe();
  OutgoingMessage m{"e1", "payment.completed", "k", "{}", {{"eventId", "e1"}}};
  EXPECT_TRUE(publisher->publish(std::vector{m}, std::chrono::seconds(10))[0].delivered);
}

}  // namespace
}  // namespace tbpay

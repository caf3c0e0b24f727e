// The Kafka publisher against librdkafka's mock cluster: what reaches Kafka, and what is
// reported delivered when brokers are away or refuse writes.
#include "publish/kafka/kafka_publisher.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <thread>

#include "publish/kafka/embedded_cluster.h"
#include "publish/kafka_fixture.h"

namespace tbpay {
namespace {

using std::chrono::milliseconds;
using testing::ConsumedMessage;

OutgoingMessage message(std::string id, std::string topic, std::string key, std::string value) {
  OutgoingMessage m;
  m.event_id = id;
  m.topic = std::move(topic);
  m.key = std::move(key);
  m.value = std::move(value);
  m.headers = {{"eventId", id},
               {"eventType", "PAYMENT_COMPLETED"},
               {"aggregateType", "Payment"},
               {"content-type", "application/json"}};
  return m;
}

std::vector<OutgoingMessage> messages(int n, const std::string& topic,
                                      const std::string& prefix = "e") {
  std::vector<OutgoingMessage> out;
  for (int i = 0; i < n; ++i)
    out.push_back(message(prefix + std::to_string(i), topic, "payment-" + std::to_string(i % 7),
                          R"({"order_code":"TB-)" + std::to_string(i) + R"(","amount_cents":)" +
                              std::to_string(1000 + i) + "}"));
  return out;
}

std::size_t delivered(const std::vector<DeliveryOutcome>& outcomes) {
  return static_cast<std::size_t>(
      std::count_if(outcomes.begin(), outcomes.end(), [](const auto& o) { return o.delivered; }));
}

class KafkaPublisherTest : public ::testing::Test {
 protected:
  kafka::ProducerSettings settings(milliseconds message_timeout = std::chrono::seconds(10)) {
    kafka::ProducerSettings s;
    s.bootstrap_servers = cluster.bootstrap();
    s.message_timeout = message_timeout;
    // Come back quickly when a test brings a broker back.
    s.extra = {{"reconnect.backoff.ms", "50"}, {"reconnect.backoff.max.ms", "200"}};
    return s;
  }
  Logger log{LogLevel::Error};
  kafka::EmbeddedCluster cluster{1};
};

TEST_F(KafkaPublisherTest, EveryMessageReachesItsTopicWithKeyHeadersAndValue) {
  kafka::KafkaPublisher publisher(settings(), log);
  auto batch = messages(50, "payment.completed");
  auto failed = messages(3, "payment.failed", "f");
  batch.insert(batch.end(), failed.begin(), failed.end());

  const auto outcomes = publisher.publish(batch, std::chrono::seconds(10));

  ASSERT_EQ(outcomes.size(), batch.size());
  for (std::size_t i = 0; i < batch.size(); ++i) {
    EXPECT_EQ(outcomes[i].event_id, batch[i].event_id);
    EXPECT_TRUE(outcomes[i].delivered) << outcomes[i].error;
  }
  for (auto reader : {+[](const std::string&bootstrap, const std::string&topic) {
                        return testing::consume_all(bootstrap, {topic}, 1);
                      },
                      +[](const std::string&bootstrap, const std::string&topic) {
                        return testing::consume_with_kcat(bootstrap, topic);
                      }}) {
    std::vector<ConsumedMessage> got = reader(cluster.bootstrap(), "payment.completed");
    auto more = reader(cluster.bootstrap(), "payment.failed");
    got.insert(got.end(), more.begin(), more.end());
    ASSERT_EQ(got.size(), batch.size());
    for (const OutgoingMessage& sent : batch) {
      auto it = std::find_if(got.begin(), got.end(), [&](const ConsumedMessage& c) {
        return c.headers.at("eventId") == sent.event_id;
      });
      ASSERT_NE(it, got.end()) << sent.event_id;
      EXPECT_EQ(it->topic, sent.topic);
      EXPECT_EQ(it->key, sent.key);
      EXPECT_EQ(it->value, sent.value);
      EXPECT_EQ(it->headers,
                (std::map<std::string, std::string>(sent.headers.begin(), sent.headers.end())));
    }
  }
}

TEST_F(KafkaPublisherTest, MessagesOfOneKeyKeepTheirOrderOnTheirPartition) {
  kafka::KafkaPublisher publisher(settings(), log);
  std::vector<OutgoingMessage> batch;
  for (int i = 0; i < 30; ++i)
    batch.push_back(
        message("o" + std::to_string(i), "payment.completed", "payment-1", std::to_string(i)));

  ASSERT_EQ(delivered(publisher.publish(batch, std::chrono::seconds(10))), batch.size());

  const auto got = testing::consume_all(cluster.bootstrap(), {"payment.completed"}, batch.size());
  ASSERT_EQ(got.size(), batch.size());
  for (std::size_t i = 0; i < got.size(); ++i) EXPECT_EQ(got[i].value, std::to_string(i));
}

TEST_F(KafkaPublisherTest, BrokerDownMeansNothingDeliveredThenEverythingOnceItIsBack) {
  kafka::KafkaPublisher publisher(settings(milliseconds(1500)), log);
  // Connected and topic known first, as in a running relay.
  ASSERT_EQ(delivered(publisher.publish(messages(1, "payment.completed", "warm"),
                                        std::chrono::seconds(10))),
            1u);
  rd_kafka_mock_broker_set_down(cluster.mock(), 1);

  const auto batch = messages(20, "payment.completed");
  const auto while_down = publisher.publish(batch, std::chrono::seconds(10));
  ASSERT_EQ(while_down.size(), batch.size());
  for (const auto& o : while_down) {
    EXPECT_FALSE(o.delivered);
    EXPECT_FALSE(o.error.empty());
  }

  rd_kafka_mock_broker_set_up(cluster.mock(), 1);
  const auto after = publisher.publish(batch, std::chrono::seconds(10));
  EXPECT_EQ(delivered(after), batch.size());
  const auto got =
      testing::consume_all(cluster.bootstrap(), {"payment.completed"}, batch.size() + 1);
  std::set<std::string> ids;
  for (const auto& c : got) ids.insert(c.headers.at("eventId"));
  for (const auto& m : batch) EXPECT_TRUE(ids.count(m.event_id)) << m.event_id;
}

// What a relay's next run does: try again until Kafka takes them.
std::size_t delivered_eventually(kafka::KafkaPublisher& publisher,
                                 const std::vector<OutgoingMessage>& batch) {
  std::size_t n = 0;
  for (int attempt = 0; attempt < 40 && n < batch.size(); ++attempt) {
    if (attempt > 0) std::this_thread::sleep_for(milliseconds(250));
    n = delivered(publisher.publish(batch, std::chrono::seconds(10)));
  }
  return n;
}

TEST_F(KafkaPublisherTest, RefusedWritesAreReportedFailedWithTheBrokersReasonThenGoThrough) {
  kafka::KafkaPublisher publisher(settings(milliseconds(3000)), log);
  ASSERT_EQ(
      delivered(publisher.publish(messages(1, "payment.failed", "warm"), std::chrono::seconds(10))),
      1u);
  // Every produce request refused, more often than the batch needs requests.
  std::vector<rd_kafka_resp_err_t> errors(50, RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED);
  rd_kafka_mock_push_request_errors_array(cluster.mock(), 0 /* Produce */, errors.size(),
                                          errors.data());
  const auto batch = messages(5, "payment.failed");

  const auto outcomes = publisher.publish(batch, std::chrono::seconds(10));

  ASSERT_EQ(outcomes.size(), 5u);
  for (const auto& o : outcomes) {
    EXPECT_FALSE(o.delivered);
    EXPECT_NE(o.error.find("authoriz"), std::string::npos) << o.error;
  }
  EXPECT_TRUE(testing::consume_all(cluster.bootstrap(), {"payment.failed"}, 1).size() == 1u);
  rd_kafka_mock_clear_request_errors(cluster.mock(), 0);
  EXPECT_EQ(delivered_eventually(publisher, batch), batch.size());
}

TEST_F(KafkaPublisherTest, WritesRefusedForLongerThanTheMessageTimeoutFailThenGoThrough) {
  kafka::KafkaPublisher publisher(settings(milliseconds(1500)), log);
  ASSERT_EQ(delivered(publisher.publish(messages(1, "payment.completed", "warm"),
                                        std::chrono::seconds(10))),
            1u);
  // A retriable refusal: librdkafka keeps retrying until the message times out.
  std::vector<rd_kafka_resp_err_t> errors(500, RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS);
  rd_kafka_mock_push_request_errors_array(cluster.mock(), 0 /* Produce */, errors.size(),
                                          errors.data());
  const auto batch = messages(5, "payment.completed");

  const auto outcomes = publisher.publish(batch, std::chrono::seconds(10));

  for (const auto& o : outcomes) {
    EXPECT_FALSE(o.delivered);
    EXPECT_FALSE(o.error.empty());
  }
  rd_kafka_mock_clear_request_errors(cluster.mock(), 0);
  EXPECT_EQ(delivered_eventually(publisher, batch), batch.size());
  const auto got =
      testing::consume_all(cluster.bootstrap(), {"payment.completed"}, batch.size() + 1);
  std::set<std::string> ids;
  for (const auto& c : got) ids.insert(c.headers.at("eventId"));
  for (const auto& m : batch) EXPECT_TRUE(ids.count(m.event_id)) << m.event_id;
}

TEST_F(KafkaPublisherTest, ATopicInErrorFailsOnlyItsMessages) {
  kafka::KafkaPublisher publisher(settings(milliseconds(2000)), log);
  rd_kafka_mock_topic_set_error(cluster.mock(), "payment.cancelled",
                                RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED);
  auto batch = messages(4, "payment.completed");
  auto refused = messages(3, "payment.cancelled", "c");
  batch.insert(batch.end(), refused.begin(), refused.end());

  const auto outcomes = publisher.publish(batch, std::chrono::seconds(10));

  for (std::size_t i = 0; i < batch.size(); ++i)
    EXPECT_EQ(outcomes[i].delivered, batch[i].topic == "payment.completed")
        << batch[i].event_id << " " << outcomes[i].error;
}

TEST_F(KafkaPublisherTest, NoReportWithinTheWaitIsAFailureAndPublishReturnsInTime) {
  kafka::KafkaPublisher publisher(settings(), log);
  ASSERT_EQ(delivered(publisher.publish(messages(1, "payment.completed", "warm"),
                                        std::chrono::seconds(10))),
            1u);
  rd_kafka_mock_broker_set_rtt(cluster.mock(), 1, 5000);

  const auto outcomes = publisher.publish(messages(10, "payment.completed"), milliseconds(300));

  ASSERT_EQ(outcomes.size(), 10u);
  EXPECT_EQ(delivered(outcomes), 0u);
  for (const auto& o : outcomes) EXPECT_FALSE(o.error.empty());
  rd_kafka_mock_broker_set_rtt(cluster.mock(), 1, 0);
  EXPECT_EQ(delivered(publisher.publish(messages(10, "payment.completed", "n"),
                                        std::chrono::seconds(15))),
            10u);
}

TEST_F(KafkaPublisherTest, IsReadyOnlyWhileABrokerAnswers) {
  kafka::KafkaPublisher publisher(settings(), log);
  EXPECT_TRUE(publisher.ready(std::chrono::seconds(5)).ok());
  rd_kafka_mock_broker_set_down(cluster.mock(), 1);
  const auto down = publisher.ready(milliseconds(500));
  ASSERT_FALSE(down.ok());
  EXPECT_EQ(down.error().kind, ErrorKind::Unavailable);
  rd_kafka_mock_broker_set_up(cluster.mock(), 1);
  EXPECT_TRUE(publisher.ready(std::chrono::seconds(5)).ok());
}

TEST_F(KafkaPublisherTest, AFullLocalQueueIsWaitedOutNotFailed) {
  auto s = settings();
  s.extra.push_back({"queue.buffering.max.messages", "10"});
  s.extra.push_back({"batch.num.messages", "5"});
  kafka::KafkaPublisher publisher(s, log);

  const auto batch = messages(300, "payment.completed");
  EXPECT_EQ(delivered(publisher.publish(batch, std::chrono::seconds(20))), batch.size());
  EXPECT_EQ(testing::consume_all(cluster.bootstrap(), {"payment.completed"}, batch.size()).size(),
            batch.size());
}

TEST_F(KafkaPublisherTest, AcceptsEverySecuritySettingTheEnvironmentCanAskFor) {
  for (bool ssl : {false, true}) {
    for (auto sasl : {SaslMechanism::None, SaslMechanism::Plain, SaslMechanism::ScramSha256,
                      SaslMechanism::ScramSha512}) {
      KafkaSettings env;
      env.ssl = ssl;
      env.sasl = sasl;
      env.username = "relay";
      env.password = "secret";
      EXPECT_NO_THROW(
          kafka::KafkaPublisher(kafka::producer_settings(env, cluster.bootstrap()), log))
          << ssl << " " << static_cast<int>(sasl);
    }
  }
}

TEST_F(KafkaPublisherTest, DescribesItselfWithoutCredentials) {
  auto s = settings();
  s.sasl = SaslMechanism::ScramSha512;
  s.username = "relay";
  s.password = "very-secret-password";
  kafka::KafkaPublisher publisher(s, log);
  EXPECT_EQ(publisher.describe().find("very-secret-password"), std::string::npos);
  EXPECT_NE(publisher.describe().find(cluster.bootstrap()), std::string::npos);
}

}  // namespace
}  // namespace tbpay

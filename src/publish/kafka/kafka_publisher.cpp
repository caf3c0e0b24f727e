#include "publish/kafka/kafka_publisher.h"

#include <algorithm>
#include <thread>

namespace tbpay::kafka {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// How long to wait for the reports of messages purged at the end of the wait.
constexpr milliseconds kPurgeGrace{2'000};

void set(rd_kafka_conf_t* conf, const std::string& name, const std::string& value) {
  char err[512];
  if (rd_kafka_conf_set(conf, name.c_str(), value.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK)
    throw ProducerConfigError("kafka producer setting " + name + ": " + err);
}

void on_delivery_report(rd_kafka_t*, const rd_kafka_message_t* message, void* opaque) {
  static_cast<KafkaPublisher*>(opaque)->on_delivery(*message);
}

// librdkafka's own diagnostics become our JSON log lines (from its internal threads; the
// logger is thread-safe). Transport errors while a broker is away are expected: librdkafka
// retries, and the delivery reports say what became of each message.
void on_error(rd_kafka_t*, int err, const char* reason, void* opaque) {
  static_cast<KafkaPublisher*>(opaque)->log_client_message(
      LogLevel::Warn, rd_kafka_err2name(static_cast<rd_kafka_resp_err_t>(err)), reason);
}

void on_log(const rd_kafka_t* rk, int level, const char* facility, const char* text) {
  auto* self = static_cast<KafkaPublisher*>(rd_kafka_opaque(rk));
  // Even librdkafka's "errors" (a refused connection) are retried conditions for us: what
  // matters is each message's delivery report.
  if (self != nullptr && level <= 4) self->log_client_message(LogLevel::Warn, facility, text);
}

milliseconds left_until(Clock::time_point deadline) {
  return std::max(milliseconds(0),
                  std::chrono::duration_cast<milliseconds>(deadline - Clock::now()));
}

}  // namespace

const char* mechanism_name(SaslMechanism m) {
  switch (m) {
    case SaslMechanism::Plain:
      return "PLAIN";
    case SaslMechanism::ScramSha256:
      return "SCRAM-SHA-256";
    case SaslMechanism::ScramSha512:
      return "SCRAM-SHA-512";
    case SaslMechanism::None:
      break;
  }
  return "";
}

std::vector<std::pair<std::string, std::string>> connection_properties(
    const ProducerSettings& settings) {
  std::vector<std::pair<std::string, std::string>> out;
  const bool sasl = settings.sasl != SaslMechanism::None;
  if (settings.ssl || sasl)
    out.emplace_back("security.protocol",
                     settings.ssl ? (sasl ? "SASL_SSL" : "SSL") : "SASL_PLAINTEXT");
  if (sasl) {
    out.emplace_back("sasl.mechanisms", mechanism_name(settings.sasl));
    out.emplace_back("sasl.username", settings.username);
    out.emplace_back("sasl.password", settings.password);
  }
  out.insert(out.end(), settings.extra.begin(), settings.extra.end());
  return out;
}

ProducerSettings producer_settings(const KafkaSettings& kafka, std::string bootstrap_servers) {
  ProducerSettings s;
  s.bootstrap_servers = std::move(bootstrap_servers);
  s.ssl = kafka.ssl;
  s.sasl = kafka.sasl;
  s.username = kafka.username;
  s.password = kafka.password;
  return s;
}

KafkaPublisher::KafkaPublisher(ProducerSettings settings, Logger log)
    : KafkaPublisher(nullptr, std::move(settings), std::move(log)) {}

KafkaPublisher::KafkaPublisher(std::unique_ptr<EmbeddedCluster> cluster, ProducerSettings settings,
                               Logger log)
    : cluster_(std::move(cluster)), settings_(std::move(settings)), log_(std::move(log)) {
  producer();  // bad settings stop start-up now, not at the first event
}

KafkaPublisher::~KafkaPublisher() {
  topics_.clear();
  producer_.reset();
}

std::string KafkaPublisher::describe() const {
  return std::string(cluster_ ? "kafka (embedded) " : "kafka ") + settings_.bootstrap_servers;
}

Status<> KafkaPublisher::ready(milliseconds timeout) {
  std::lock_guard lock(mutex_);
  rd_kafka_t* rk = nullptr;
  try {
    rk = producer();
  } catch (const ProducerConfigError& e) {
    return Error{ErrorKind::Invalid, e.what()};
  }
  const rd_kafka_metadata_t* metadata = nullptr;
  const rd_kafka_resp_err_t err =
      rd_kafka_metadata(rk, 0, nullptr, &metadata, static_cast<int>(timeout.count()));
  if (metadata != nullptr) rd_kafka_metadata_destroy(metadata);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
    return unavailable(std::string("kafka: no broker answered: ") + rd_kafka_err2str(err));
  return Ok{};
}

rd_kafka_t* KafkaPublisher::producer() {
  if (producer_) {
    char reason[512];
    const rd_kafka_resp_err_t fatal = rd_kafka_fatal_error(producer_.get(), reason, sizeof reason);
    if (fatal == RD_KAFKA_RESP_ERR_NO_ERROR) return producer_.get();
    log_.error("kafka producer failed fatally; creating a new one",
               {{"error", rd_kafka_err2name(fatal)}, {"reason", reason}});
    topics_.clear();
    producer_.reset();
  }
  ConfHandle conf(rd_kafka_conf_new());
  set(conf.get(), "bootstrap.servers", settings_.bootstrap_servers);
  set(conf.get(), "client.id", "tbpay-outbox-relay");
  // Exactly-once per partition within a producer session, and only acknowledged once every
  // in-sync replica has the message.
  set(conf.get(), "enable.idempotence", "true");
  set(conf.get(), "acks", "all");
  set(conf.get(), "linger.ms", std::to_string(settings_.linger.count()));
  set(conf.get(), "max.in.flight.requests.per.connection", std::to_string(settings_.max_in_flight));
  set(conf.get(), "batch.num.messages", "10000");
  set(conf.get(), "queue.buffering.max.messages", "200000");
  set(conf.get(), "message.timeout.ms", std::to_string(settings_.message_timeout.count()));
  set(conf.get(), "log_level", "4");
  // Small requests go out at once (Nagle would hold them for the previous one's ACK).
  set(conf.get(), "socket.nagle.disable", "true");
  for (const auto& [name, value] : connection_properties(settings_)) set(conf.get(), name, value);
  rd_kafka_conf_set_dr_msg_cb(conf.get(), on_delivery_report);
  rd_kafka_conf_set_error_cb(conf.get(), on_error);
  rd_kafka_conf_set_log_cb(conf.get(), on_log);
  rd_kafka_conf_set_opaque(conf.get(), this);

  char err[512];
  producer_.reset(rd_kafka_new(RD_KAFKA_PRODUCER, conf.get(), err, sizeof err));
  if (!producer_) throw ProducerConfigError(std::string("kafka producer: ") + err);
  conf.release();  // rd_kafka_new took it
  return producer_.get();
}

rd_kafka_topic_t* KafkaPublisher::topic(const std::string& name) {
  auto it = topics_.find(name);
  if (it != topics_.end()) return it->second.get();
  TopicHandle handle(rd_kafka_topic_new(producer_.get(), name.c_str(), nullptr));
  if (!handle) return nullptr;
  return topics_.emplace(name, std::move(handle)).first->second.get();
}

rd_kafka_resp_err_t KafkaPublisher::produce(const OutgoingMessage& m, std::uint64_t sequence) {
  rd_kafka_topic_t* rkt = topic(m.topic);
  if (rkt == nullptr) return rd_kafka_last_error();
  HeadersHandle headers(rd_kafka_headers_new(m.headers.size()));
  for (const auto& [name, value] : m.headers)
    rd_kafka_header_add(headers.get(), name.data(), static_cast<ssize_t>(name.size()), value.data(),
                        static_cast<ssize_t>(value.size()));
  const rd_kafka_resp_err_t err = rd_kafka_producev(
      producer_.get(), RD_KAFKA_V_RKT(rkt), RD_KAFKA_V_PARTITION(RD_KAFKA_PARTITION_UA),
      RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_KEY(m.key.data(), m.key.size()),
      RD_KAFKA_V_VALUE(const_cast<char*>(m.value.data()), m.value.size()),
      RD_KAFKA_V_HEADERS(headers.get()),
      RD_KAFKA_V_OPAQUE(reinterpret_cast<void*>(static_cast<std::uintptr_t>(sequence))),
      RD_KAFKA_V_END);
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR) headers.release();  // librdkafka owns them now
  return err;
}

void KafkaPublisher::log_client_message(LogLevel level, const char* what, const char* text) const {
  log_.log(level, "kafka client", {{"kafka", what}, {"detail", text}});
}

void KafkaPublisher::settle(Batch& batch, std::size_t index, bool delivered, std::string error) {
  if (batch.reported[index]) return;
  batch.reported[index] = true;
  batch.outcomes[index].delivered = delivered;
  batch.outcomes[index].error = delivered ? std::string() : std::move(error);
  --batch.waiting;
}

void KafkaPublisher::on_delivery(const rd_kafka_message_t& message) {
  const auto sequence =
      static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(message._private));
  Batch* batch = current_;
  if (batch == nullptr || sequence < batch->first ||
      sequence >= batch->first + batch->outcomes.size()) {
    // Cannot happen while publish() purges what it stops waiting for; harmless if it does:
    // that event was reported failed and will be sent again with the same eventId.
    log_.warn("late kafka delivery report", {{"error", rd_kafka_err2name(message.err)}});
    return;
  }
  const bool delivered = message.err == RD_KAFKA_RESP_ERR_NO_ERROR;
  settle(*batch, sequence - batch->first, delivered,
         delivered ? std::string() : std::string("kafka: ") + rd_kafka_err2str(message.err));
}

std::vector<DeliveryOutcome> KafkaPublisher::publish(std::span<const OutgoingMessage> messages,
                                                     milliseconds timeout) {
  std::lock_guard lock(mutex_);
  const auto deadline = Clock::now() + timeout;
  Batch batch;
  batch.first = next_sequence_;
  next_sequence_ += messages.size();
  batch.outcomes.resize(messages.size());
  batch.reported.assign(messages.size(), false);
  batch.waiting = messages.size();
  for (std::size_t i = 0; i < messages.size(); ++i)
    batch.outcomes[i].event_id = messages[i].event_id;

  rd_kafka_t* rk = nullptr;
  try {
    rk = producer();
  } catch (const ProducerConfigError& e) {
    for (std::size_t i = 0; i < messages.size(); ++i) settle(batch, i, false, e.what());
    return std::move(batch.outcomes);
  }
  current_ = &batch;

  // Send everything first; reports are collected afterwards.
  for (std::size_t i = 0; i < messages.size(); ++i) {
    for (;;) {
      const rd_kafka_resp_err_t err = produce(messages[i], batch.first + i);
      if (err == RD_KAFKA_RESP_ERR_NO_ERROR) break;
      if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL && Clock::now() < deadline) {
        rd_kafka_poll(rk, 10);  // serves delivery reports, which frees queue space
        continue;
      }
      settle(batch, i, false, std::string("kafka: ") + rd_kafka_err2str(err));
      break;
    }
  }
  // Everything of this batch is queued: flushing sends it now rather than after linger.ms, and
  // serves the delivery reports as they arrive. Nothing else is outstanding (see below), so
  // flush returns when this batch is settled.
  while (batch.waiting > 0 && Clock::now() < deadline)
    rd_kafka_flush(
        rk,
        static_cast<int>(std::min<milliseconds>(left_until(deadline), milliseconds(100)).count()));

  if (batch.waiting > 0) {
    // Out of time: withdraw what is still queued or in flight, so that every message gets a
    // definitive report now (failed; a message the broker did take will be sent again later
    // with the same eventId) and none arrives after we answered.
    rd_kafka_purge(rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    const auto grace = Clock::now() + kPurgeGrace;
    while (batch.waiting > 0 && Clock::now() < grace) rd_kafka_poll(rk, 50);
    for (std::size_t i = 0; i < messages.size(); ++i)
      settle(batch, i, false,
             "kafka: no delivery report within " + std::to_string(timeout.count()) + " ms");
  }
  current_ = nullptr;

  char reason[512];
  if (const auto fatal = rd_kafka_fatal_error(rk, reason, sizeof reason);
      fatal != RD_KAFKA_RESP_ERR_NO_ERROR) {
    log_.error("kafka producer fatal error",
               {{"error", rd_kafka_err2name(fatal)}, {"reason", reason}});
  }
  return std::move(batch.outcomes);
}

}  // namespace tbpay::kafka

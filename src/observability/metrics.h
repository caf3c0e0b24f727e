#pragma once
// Metrics as CloudWatch Embedded Metric Format (EMF) lines: one JSON object per line that
// CloudWatch Logs turns into metrics, so no agent or API call is needed.
//
// Counting is cheap (a short critical section); lines are written only by flush(). The Lambda
// runtime flushes once per invocation; `serve` flushes periodically and at shutdown.
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <tuple>

namespace tbpay {

inline constexpr std::string_view kMetricNamespace = "TicketBottle/Payments";

enum class MetricUnit { Count, Milliseconds, Seconds, None };

// An optional extra dimension beside "Function" (e.g. {"Provider", "ZALOPAY"}).
struct MetricDimension {
  std::string_view name;
  std::string_view value;
};

class Metrics {
 public:
  // Receives one complete EMF line (without the newline).
  using Sink = std::function<void(std::string_view line)>;

  // `function` is the value of the "Function" dimension: "webhook", "serve",
  // "outbox-processor", ... The default sink writes to stdout.
  explicit Metrics(std::string function, Sink sink = {});

  // Adds `n` to a counter.
  void count(std::string_view metric, double n = 1, MetricDimension dimension = {});
  // Records a value that replaces the previous one (e.g. oldest pending age).
  void gauge(std::string_view metric, double value, MetricUnit unit = MetricUnit::None,
             MetricDimension dimension = {});

  // Writes one EMF line per dimension set recorded since the last flush, then forgets them.
  // Writes nothing when nothing was recorded.
  void flush();

 private:
  struct Value {
    double value = 0;
    MetricUnit unit = MetricUnit::Count;
  };
  // (dimension name, dimension value) -> metric name -> value
  using Key = std::tuple<std::string, std::string>;

  void record(std::string_view metric, double n, MetricUnit unit, MetricDimension dimension,
              bool add);

  std::string function_;
  Sink sink_;
  std::mutex mutex_;
  std::map<Key, std::map<std::string, Value, std::less<>>> pending_;
};

}  // namespace tbpay

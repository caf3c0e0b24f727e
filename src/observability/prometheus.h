#pragma once
// Metrics in the Prometheus text exposition format (version 0.0.4), for `tbpay serve`'s
// GET /metrics.
//
// Series are registered once (usually at start-up) and the references kept: recording is then
// one atomic operation, no lock, so the webhook path pays nothing for it. render() walks the
// registry under a lock that only registration and rendering take.
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tbpay::prometheus {

inline constexpr std::string_view kContentType = "text/plain; version=0.0.4; charset=utf-8";

using Labels = std::vector<std::pair<std::string, std::string>>;  // name, value

// Only ever goes up (restarts aside).
class Counter {
 public:
  void add(std::uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  std::uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> value_{0};
};

// A value that is set: a count of things now, an age, a timestamp.
class Gauge {
 public:
  void set(double v) { value_.store(v, std::memory_order_relaxed); }
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

// Observations counted into buckets by upper bound (seconds for durations).
class Histogram {
 public:
  explicit Histogram(std::vector<double> upper_bounds);
  void observe(double v);

  struct Snapshot {
    std::vector<std::uint64_t> cumulative;  // one per bound, then +Inf
    double sum = 0;
  };
  const std::vector<double>& upper_bounds() const { return bounds_; }
  Snapshot snapshot() const;

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> counts_;  // per bucket, not cumulative; +Inf last
  std::atomic<double> sum_{0};
};

class Registry {
 public:
  // The same name and labels give the same series. A name keeps the help and type it was
  // first registered with; registering it as another type throws std::logic_error.
  Counter& counter(const std::string& name, const std::string& help, const Labels& labels = {});
  Gauge& gauge(const std::string& name, const std::string& help, const Labels& labels = {});
  Histogram& histogram(const std::string& name, const std::string& help,
                       const std::vector<double>& upper_bounds, const Labels& labels = {});

  // Runs before each render(), to set gauges whose source is cheap to read then (in-memory
  // state such as a connection pool's). Never for anything that does I/O.
  void before_render(std::function<void()> refresh);

  // Every series, grouped by name, each name with its # HELP and # TYPE lines.
  std::string render() const;

 private:
  enum class Type { Counter, Gauge, Histogram };
  struct Series {
    Labels labels;
    std::unique_ptr<Counter> counter;
    std::unique_ptr<Gauge> gauge;
    std::unique_ptr<Histogram> histogram;
  };
  struct Family {
    std::string name, help;
    Type type;
    std::vector<std::unique_ptr<Series>> series;
  };
  Series& series(const std::string& name, const std::string& help, Type type, const Labels& labels);

  mutable std::mutex mutex_;
  std::vector<std::unique_ptr<Family>> families_;  // in registration order
  std::vector<std::function<void()>> refreshers_;
};

}  // namespace tbpay::prometheus

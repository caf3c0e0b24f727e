#include "observability/metrics.h"

#include <chrono>
#include <cstdio>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace tbpay {

namespace {
std::string_view unit_name(MetricUnit u) {
  switch (u) {
    case MetricUnit::Count: return "Count";
    case MetricUnit::Milliseconds: return "Milliseconds";
    case MetricUnit::Seconds: return "Seconds";
    case MetricUnit::None: return "None";
  }
  return "None";
}

void write_stdout(std::string_view line) {
  // One fwrite per line: stdio locks the stream, so lines never interleave with log lines.
  std::string out;
  out.reserve(line.size() + 1);
  out.append(line).push_back('\n');
  std::fwrite(out.data(), 1, out.size(), stdout);
  std::fflush(stdout);
}
}  // namespace

Metrics::Metrics(std::string function, Sink sink)
    : function_(std::move(function)), sink_(sink ? std::move(sink) : Sink(write_stdout)) {}

void Metrics::count(std::string_view metric, double n, MetricDimension dimension) {
  record(metric, n, MetricUnit::Count, dimension, true);
}

void Metrics::gauge(std::string_view metric, double value, MetricUnit unit,
                    MetricDimension dimension) {
  record(metric, value, unit, dimension, false);
}

void Metrics::record(std::string_view metric, double n, MetricUnit unit,
                     MetricDimension dimension, bool add) {
  std::lock_guard lock(mutex_);
  auto& metrics = pending_[Key{std::string(dimension.name), std::string(dimension.value)}];
  auto it = metrics.find(metric);
  if (it == metrics.end()) {
    metrics.emplace(std::string(metric), Value{n, unit});
  } else {
    it->second.value = add ? it->second.value + n : n;
    it->second.unit = unit;
  }
}

void Metrics::flush() {
  decltype(pending_) taken;
  {
    std::lock_guard lock(mutex_);
    taken.swap(pending_);
  }
  if (taken.empty()) return;
  const auto timestamp = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
  for (const auto& [key, metrics] : taken) {
    const auto& [dim_name, dim_value] = key;
    nlohmann::json dimensions = nlohmann::json::array({"Function"});
    if (!dim_name.empty()) dimensions.push_back(dim_name);
    nlohmann::json definitions = nlohmann::json::array();
    nlohmann::json line = {{"Function", function_}};
    if (!dim_name.empty()) line[dim_name] = dim_value;
    for (const auto& [name, v] : metrics) {
      definitions.push_back({{"Name", name}, {"Unit", unit_name(v.unit)}});
      line[name] = v.value;
    }
    line["_aws"] = {{"Timestamp", timestamp},
                    {"CloudWatchMetrics",
                     nlohmann::json::array({{{"Namespace", kMetricNamespace},
                                             {"Dimensions", nlohmann::json::array({dimensions})},
                                             {"Metrics", definitions}}})}};
    sink_(line.dump());
  }
}

}  // namespace tbpay

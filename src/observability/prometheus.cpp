#include "observability/prometheus.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <stdexcept>

namespace tbpay::prometheus {

namespace {

// Shortest text that reads back as the same double; Prometheus spells the specials its way.
void append_number(std::string& out, double v) {
  if (std::isnan(v)) {
    out += "NaN";
  } else if (std::isinf(v)) {
    out += v > 0 ? "+Inf" : "-Inf";
  } else {
    char buf[32];
    const auto r = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, r.ptr);
  }
}

void append_escaped(std::string& out, std::string_view text, bool quotes) {
  for (char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '"' && quotes) {
      out += "\\\"";
    } else {
      out += c;
    }
  }
}

// {a="x",b="y"} plus `extra` (a histogram's le) last; nothing when there are no labels.
void append_labels(std::string& out, const Labels& labels,
                   const std::pair<std::string_view, std::string_view>* extra = nullptr) {
  if (labels.empty() && !extra) return;
  out += '{';
  bool first = true;
  auto one = [&](std::string_view name, std::string_view value) {
    if (!first) out += ',';
    first = false;
    out += name;
    out += "=\"";
    append_escaped(out, value, true);
    out += '"';
  };
  for (const auto& [name, value] : labels) one(name, value);
  if (extra) one(extra->first, extra->second);
  out += '}';
}

std::vector<double> sorted_unique(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
  return v;
}

bool valid_name(std::string_view name) {
  if (name.empty() || (name[0] >= '0' && name[0] <= '9')) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == ':';
  });
}

}  // namespace

Histogram::Histogram(std::vector<double> upper_bounds)
    : bounds_(sorted_unique(std::move(upper_bounds))),
      counts_(std::make_unique<std::atomic<std::uint64_t>[]>(bounds_.size() + 1)) {}

void Histogram::observe(double v) {
  const auto bucket = std::lower_bound(bounds_.begin(), bounds_.end(), v) - bounds_.begin();
  counts_[static_cast<std::size_t>(bucket)].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(v, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::snapshot() const {
  Snapshot s;
  std::uint64_t running = 0;
  for (std::size_t i = 0; i <= bounds_.size(); ++i) {
    running += counts_[i].load(std::memory_order_relaxed);
    s.cumulative.push_back(running);
  }
  s.sum = sum_.load(std::memory_order_relaxed);
  return s;
}

Registry::Series& Registry::series(const std::string& name, const std::string& help, Type type,
                                   const Labels& labels) {
  if (!valid_name(name)) throw std::logic_error("not a Prometheus metric name: " + name);
  for (const auto& [label, _] : labels)
    if (!valid_name(label) || label == "le")
      throw std::logic_error("not a label name for " + name + ": " + label);
  // Called with mutex_ held.
  auto fit = std::find_if(families_.begin(), families_.end(),
                          [&](const auto& f) { return f->name == name; });
  if (fit == families_.end()) {
    families_.push_back(std::make_unique<Family>(Family{name, help, type, {}}));
    fit = std::prev(families_.end());
  } else if ((*fit)->type != type) {
    throw std::logic_error("metric registered with two types: " + name);
  }
  auto& all = (*fit)->series;
  auto sit =
      std::find_if(all.begin(), all.end(), [&](const auto& s) { return s->labels == labels; });
  if (sit != all.end()) return **sit;
  all.push_back(std::make_unique<Series>());
  all.back()->labels = labels;
  return *all.back();
}

Counter& Registry::counter(const std::string& name, const std::string& help, const Labels& labels) {
  std::lock_guard lock(mutex_);
  auto& s = series(name, help, Type::Counter, labels);
  if (!s.counter) s.counter = std::make_unique<Counter>();
  return *s.counter;
}

Gauge& Registry::gauge(const std::string& name, const std::string& help, const Labels& labels) {
  std::lock_guard lock(mutex_);
  auto& s = series(name, help, Type::Gauge, labels);
  if (!s.gauge) s.gauge = std::make_unique<Gauge>();
  return *s.gauge;
}

Histogram& Registry::histogram(const std::string& name, const std::string& help,
                               const std::vector<double>& upper_bounds, const Labels& labels) {
  std::lock_guard lock(mutex_);
  auto& s = series(name, help, Type::Histogram, labels);
  if (!s.histogram) s.histogram = std::make_unique<Histogram>(upper_bounds);
  return *s.histogram;
}

void Registry::before_render(std::function<void()> refresh) {
  std::lock_guard lock(mutex_);
  refreshers_.push_back(std::move(refresh));
}

std::string Registry::render() const {
  std::lock_guard lock(mutex_);
  for (const auto& refresh : refreshers_) refresh();
  std::string out;
  out.reserve(8192);
  for (const auto& f : families_) {
    out += "# HELP ";
    out += f->name;
    out += ' ';
    append_escaped(out, f->help, false);
    out += "\n# TYPE ";
    out += f->name;
    out += f->type == Type::Counter ? " counter\n"
           : f->type == Type::Gauge ? " gauge\n"
                                    : " histogram\n";
    for (const auto& s : f->series) {
      if (s->counter || s->gauge) {
        out += f->name;
        append_labels(out, s->labels);
        out += ' ';
        if (s->counter)
          out += std::to_string(s->counter->value());
        else
          append_number(out, s->gauge->value());
        out += '\n';
        continue;
      }
      const auto snap = s->histogram->snapshot();
      const auto& bounds = s->histogram->upper_bounds();
      for (std::size_t i = 0; i < snap.cumulative.size(); ++i) {
        std::string le;
        append_number(le, i < bounds.size() ? bounds[i] : INFINITY);
        const std::pair<std::string_view, std::string_view> extra{"le", le};
        out += f->name;
        out += "_bucket";
        append_labels(out, s->labels, &extra);
        out += ' ';
        out += std::to_string(snap.cumulative[i]);
        out += '\n';
      }
      out += f->name;
      out += "_sum";
      append_labels(out, s->labels);
      out += ' ';
      append_number(out, snap.sum);
      out += '\n';
      out += f->name;
      out += "_count";
      append_labels(out, s->labels);
      out += ' ';
      out += std::to_string(snap.cumulative.back());  // = the +Inf bucket, always
      out += '\n';
    }
  }
  return out;
}

}  // namespace tbpay::prometheus

// Metrics: the counters, histograms and gauges a server exposes, and their
// Prometheus text exposition (format version 0.0.4), served by MetricsListener
// (metrics/metrics_listener.h).
//
// A family (name, help, label names) is registered once, at start; its
// series are found by label values. Names follow Prometheus' rules
// ([a-zA-Z_:][a-zA-Z0-9_:]*; counters end in _total) and every family name
// starts with "deconfliction_". Label values are escaped on output; they
// must never carry an identifier, a contact or a token.
//
// Thread safety: everything may be called concurrently. Counters are
// lock-free; finding a series takes the family's lock.
#ifndef DECONFLICTION_METRICS_METRICS_H_
#define DECONFLICTION_METRICS_METRICS_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace deconfliction {

class Counter {
 public:
  void Increment(uint64_t by = 1) {
    value_.fetch_add(by, std::memory_order_relaxed);
  }
  uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

namespace metrics_internal {

// Aborts the process: a metric registered or used against its declaration
// is a defect.
[[noreturn]] void Defect(const std::string& what);

// The series of one family, by label values, each created on first use.
template <typename Series>
class SeriesByLabels {
 public:
  SeriesByLabels(std::string name, std::vector<std::string> label_names)
      : name_(std::move(name)), label_names_(std::move(label_names)) {}

  // The series for `label_values` (one per label name), made with
  // `make_args` on first use. The reference stays valid for the family's
  // lifetime.
  template <typename... Args>
  Series& Find(const std::vector<std::string>& label_values,
               const Args&... make_args) {
    if (label_values.size() != label_names_.size()) {
      Defect(name_ + ": " + std::to_string(label_values.size()) +
             " label values for " + std::to_string(label_names_.size()) +
             " labels");
    }
    absl::MutexLock lock(&mu_);
    std::unique_ptr<Series>& series = series_[label_values];
    if (series == nullptr) series = std::make_unique<Series>(make_args...);
    return *series;
  }

  // Calls visit(label_values, series) for each series, in label order.
  template <typename Visit>
  void ForEach(const Visit& visit) const {
    absl::MutexLock lock(&mu_);
    for (const auto& [values, series] : series_) visit(values, *series);
  }

  const std::string& name() const { return name_; }
  const std::vector<std::string>& label_names() const { return label_names_; }

 private:
  const std::string name_;
  const std::vector<std::string> label_names_;
  mutable absl::Mutex mu_;
  std::map<std::vector<std::string>, std::unique_ptr<Series>> series_
      ABSL_GUARDED_BY(mu_);
};

}  // namespace metrics_internal

// The series of one counter family, by label values.
class CounterFamily {
 public:
  CounterFamily(std::string name, std::string help,
                std::vector<std::string> label_names);

  // The series for `label_values` (one per label name), created at zero on
  // first use. The reference stays valid for the family's lifetime.
  Counter& WithLabels(const std::vector<std::string>& label_values) {
    return series_.Find(label_values);
  }

  // This family's lines of the exposition.
  void AppendTo(std::string* out) const;

 private:
  const std::string help_;
  metrics_internal::SeriesByLabels<Counter> series_;
};

// A distribution: how many observations fell at or below each bound, their
// sum and count (a Prometheus histogram).
class Histogram {
 public:
  // `bounds` ascending; must outlive the histogram.
  explicit Histogram(const std::vector<double>* bounds)
      : bounds_(bounds), buckets_(bounds->size() + 1, 0) {}
  void Observe(double value);
  // This series' lines (`name`_bucket with `labels` and le, _sum, _count).
  void AppendTo(const std::string& name,
                const std::vector<std::string>& label_names,
                const std::vector<std::string>& label_values,
                std::string* out) const;

 private:
  const std::vector<double>* const bounds_;
  mutable absl::Mutex mu_;
  std::vector<uint64_t> buckets_ ABSL_GUARDED_BY(mu_);  // not cumulative
  double sum_ ABSL_GUARDED_BY(mu_) = 0;
};

class HistogramFamily {
 public:
  HistogramFamily(std::string name, std::string help,
                  std::vector<std::string> label_names,
                  std::vector<double> bounds);

  Histogram& WithLabels(const std::vector<std::string>& label_values) {
    return series_.Find(label_values, &bounds_);
  }

  void AppendTo(std::string* out) const;

 private:
  const std::string help_;
  const std::vector<double> bounds_;
  metrics_internal::SeriesByLabels<Histogram> series_;
};

class MetricsRegistry {
 public:
  // Registers a counter family; the pointer stays valid for the registry's
  // lifetime. A name registered twice is a defect: the process aborts.
  CounterFamily* AddCounterFamily(const std::string& name,
                                  const std::string& help,
                                  std::vector<std::string> label_names = {});
  // Registers a histogram family with bucket upper `bounds` (ascending;
  // +Inf is implied), as AddCounterFamily.
  HistogramFamily* AddHistogramFamily(const std::string& name,
                                      const std::string& help,
                                      std::vector<std::string> label_names,
                                      std::vector<double> bounds);
  // A gauge read at each exposition. `read` must be safe to call from any
  // thread for the registry's lifetime.
  void AddGauge(const std::string& name, const std::string& help,
                std::function<double()> read);
  // A gauge family read at each exposition: `read` returns one sample per
  // series, each with one value per label name (a sample with the wrong
  // number of values is a defect), under the same rules as AddGauge.
  struct GaugeSample {
    std::vector<std::string> label_values;
    double value;
  };
  void AddGaugeFamily(const std::string& name, const std::string& help,
                      std::vector<std::string> label_names,
                      std::function<std::vector<GaugeSample>()> read);
  // A gauge of constant value 1 whose labels describe the build or setup
  // (for example deconfliction_build_info{version="..."}).
  void AddInfo(const std::string& name, const std::string& help,
               const std::vector<std::pair<std::string, std::string>>& labels);

  // Every family, in name order, in Prometheus text format.
  std::string Exposition() const;

 private:
  struct Gauge {
    std::string help;
    std::vector<std::string> label_names;
    std::function<std::vector<GaugeSample>()> read;
  };
  // Aborts if `name` is malformed or taken.
  void Claim(const std::string& name) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex mu_;
  std::map<std::string, std::unique_ptr<CounterFamily>> counters_
      ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::unique_ptr<HistogramFamily>> histograms_
      ABSL_GUARDED_BY(mu_);
  std::map<std::string, Gauge> gauges_ ABSL_GUARDED_BY(mu_);
};

// `value` escaped for a label value: backslash, double quote and newline.
std::string EscapeLabelValue(const std::string& value);

}  // namespace deconfliction

#endif  // DECONFLICTION_METRICS_METRICS_H_

#include "metrics/metrics.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <map>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/log.h"

namespace deconfliction {
namespace {

bool ValidName(const std::string& name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                        c == '_' || c == ':';
    const bool digit = c >= '0' && c <= '9';
    if (!letter && !(digit && i > 0)) return false;
  }
  return true;
}

// {a="x",b="y"}, or "" without labels.
// A sample value as exposed: exact (absl::StrCat keeps 6 significant
// digits, which would round a Unix timestamp to hours); "NaN", "+Inf" and
// "-Inf" as the text format spells them.
std::string SampleValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  // The shortest of 15 or 17 digits that reads back as the same double.
  std::string short_form = absl::StrFormat("%.15g", value);
  if (std::strtod(short_form.c_str(), nullptr) == value) return short_form;
  return absl::StrFormat("%.17g", value);
}

std::string Labels(const std::vector<std::string>& names,
                   const std::vector<std::string>& values) {
  if (names.empty()) return "";
  std::string out = "{";
  for (size_t i = 0; i < names.size(); ++i) {
    absl::StrAppend(&out, i == 0 ? "" : ",", names[i], "=\"",
                    EscapeLabelValue(values[i]), "\"");
  }
  out += "}";
  return out;
}

// `text` with backslash and newline escaped, and double quotes too when
// `quotes` (label values; HELP text leaves them).
std::string Escaped(const std::string& text, bool quotes) {
  std::string out;
  for (char c : text) {
    if (c == '\\' || (quotes && c == '"')) {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

std::string EscapeLabelValue(const std::string& value) {
  return Escaped(value, /*quotes=*/true);
}

namespace metrics_internal {

void Defect(const std::string& what) {
  LogError("metrics", "defect", {{"reason", what}});
  std::abort();
}

}  // namespace metrics_internal

using metrics_internal::Defect;

CounterFamily::CounterFamily(std::string name, std::string help,
                             std::vector<std::string> label_names)
    : help_(std::move(help)),
      series_(std::move(name), std::move(label_names)) {}

void CounterFamily::AppendTo(std::string* out) const {
  const std::string& name = series_.name();
  absl::StrAppend(out, "# HELP ", name, " ", Escaped(help_, /*quotes=*/false),
                  "\n", "# TYPE ", name, " counter\n");
  bool any = false;
  series_.ForEach(
      [&](const std::vector<std::string>& values, const Counter& counter) {
        any = true;
        absl::StrAppend(out, name, Labels(series_.label_names(), values), " ",
                        counter.value(), "\n");
      });
  if (!any && series_.label_names().empty()) {
    absl::StrAppend(out, name, " 0\n");
  }
}

void Histogram::Observe(double value) {
  const size_t bucket =
      std::lower_bound(bounds_->begin(), bounds_->end(), value) -
      bounds_->begin();
  absl::MutexLock lock(&mu_);
  ++buckets_[bucket];
  sum_ += value;
}

void Histogram::AppendTo(const std::string& name,
                         const std::vector<std::string>& label_names,
                         const std::vector<std::string>& label_values,
                         std::string* out) const {
  std::vector<std::string> names = label_names;
  names.push_back("le");
  std::vector<std::string> values = label_values;
  values.emplace_back();
  absl::MutexLock lock(&mu_);
  uint64_t cumulative = 0;
  for (size_t i = 0; i < buckets_.size(); ++i) {
    cumulative += buckets_[i];
    values.back() =
        i < bounds_->size() ? absl::StrCat((*bounds_)[i]) : std::string("+Inf");
    absl::StrAppend(out, name, "_bucket", Labels(names, values), " ",
                    cumulative, "\n");
  }
  const std::string labels = Labels(label_names, label_values);
  absl::StrAppend(out, name, "_sum", labels, " ", SampleValue(sum_), "\n", name,
                  "_count", labels, " ", cumulative, "\n");
}

HistogramFamily::HistogramFamily(std::string name, std::string help,
                                 std::vector<std::string> label_names,
                                 std::vector<double> bounds)
    : help_(std::move(help)),
      bounds_(std::move(bounds)),
      series_(std::move(name), std::move(label_names)) {}

void HistogramFamily::AppendTo(std::string* out) const {
  const std::string& name = series_.name();
  absl::StrAppend(out, "# HELP ", name, " ", Escaped(help_, /*quotes=*/false),
                  "\n", "# TYPE ", name, " histogram\n");
  series_.ForEach(
      [&](const std::vector<std::string>& values, const Histogram& histogram) {
        histogram.AppendTo(name, series_.label_names(), values, out);
      });
}

void MetricsRegistry::Claim(const std::string& name) {
  if (!ValidName(name)) Defect(absl::StrCat("malformed name ", name));
  if (counters_.count(name) || histograms_.count(name) || gauges_.count(name)) {
    Defect(absl::StrCat(name, " registered twice"));
  }
}

CounterFamily* MetricsRegistry::AddCounterFamily(
    const std::string& name, const std::string& help,
    std::vector<std::string> label_names) {
  absl::MutexLock lock(&mu_);
  Claim(name);
  for (const std::string& label : label_names) {
    if (!ValidName(label)) Defect(absl::StrCat("malformed label ", label));
  }
  auto family =
      std::make_unique<CounterFamily>(name, help, std::move(label_names));
  CounterFamily* added = family.get();
  counters_.emplace(name, std::move(family));
  return added;
}

HistogramFamily* MetricsRegistry::AddHistogramFamily(
    const std::string& name, const std::string& help,
    std::vector<std::string> label_names, std::vector<double> bounds) {
  absl::MutexLock lock(&mu_);
  Claim(name);
  for (const std::string& label : label_names) {
    if (!ValidName(label) || label == "le") {
      Defect(absl::StrCat("malformed label ", label));
    }
  }
  if (!std::is_sorted(bounds.begin(), bounds.end())) {
    Defect(absl::StrCat(name, ": bounds not ascending"));
  }
  auto family = std::make_unique<HistogramFamily>(
      name, help, std::move(label_names), std::move(bounds));
  HistogramFamily* added = family.get();
  histograms_.emplace(name, std::move(family));
  return added;
}

void MetricsRegistry::AddGauge(const std::string& name, const std::string& help,
                               std::function<double()> read) {
  AddGaugeFamily(name, help, {},
                 [read = std::move(read)]() -> std::vector<GaugeSample> {
                   return {{{}, read()}};
                 });
}

void MetricsRegistry::AddGaugeFamily(
    const std::string& name, const std::string& help,
    std::vector<std::string> label_names,
    std::function<std::vector<GaugeSample>()> read) {
  for (const std::string& label : label_names) {
    if (!ValidName(label)) Defect(absl::StrCat("malformed label ", label));
  }
  absl::MutexLock lock(&mu_);
  Claim(name);
  gauges_.emplace(name, Gauge{help, std::move(label_names), std::move(read)});
}

void MetricsRegistry::AddInfo(
    const std::string& name, const std::string& help,
    const std::vector<std::pair<std::string, std::string>>& labels) {
  std::vector<std::string> names, values;
  for (const auto& [label, value] : labels) {
    names.push_back(label);
    values.push_back(value);
  }
  AddGaugeFamily(name, help, std::move(names),
                 [values]() -> std::vector<GaugeSample> {
                   return {{values, 1.0}};
                 });
}

std::string MetricsRegistry::Exposition() const {
  absl::MutexLock lock(&mu_);
  // Every family once, in name order (names are unique across kinds).
  std::map<std::string, std::function<void(std::string*)>> families;
  for (const auto& [name, family] : counters_) {
    families[name] = [&family = *family](std::string* out) {
      family.AppendTo(out);
    };
  }
  for (const auto& [name, family] : histograms_) {
    families[name] = [&family = *family](std::string* out) {
      family.AppendTo(out);
    };
  }
  for (const auto& [name, gauge] : gauges_) {
    families[name] = [&name = name, &g = gauge](std::string* out) {
      absl::StrAppend(out, "# HELP ", name, " ",
                      Escaped(g.help, /*quotes=*/false), "\n", "# TYPE ", name,
                      " gauge\n");
      for (const GaugeSample& sample : g.read()) {
        if (sample.label_values.size() != g.label_names.size()) {
          Defect(absl::StrCat(name, ": ", sample.label_values.size(),
                              " label values for ", g.label_names.size(),
                              " labels"));
        }
        absl::StrAppend(out, name, Labels(g.label_names, sample.label_values),
                        " ", SampleValue(sample.value), "\n");
      }
    };
  }
  std::string out;
  for (const auto& [name, append] : families) append(&out);
  return out;
}

}  // namespace deconfliction

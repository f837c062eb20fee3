#include "metrics/metrics.h"

#include <cstdio>
#include <cstdlib>
#include <utility>

#include "absl/strings/str_cat.h"

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

[[noreturn]] void Defect(const std::string& what) {
  std::fprintf(stderr, "metrics: %s\n", what.c_str());
  std::abort();
}

}  // namespace

std::string EscapeLabelValue(const std::string& value) {
  return Escaped(value, /*quotes=*/true);
}

CounterFamily::CounterFamily(std::string name, std::string help,
                             std::vector<std::string> label_names)
    : name_(std::move(name)),
      help_(std::move(help)),
      label_names_(std::move(label_names)) {}

Counter& CounterFamily::WithLabels(
    const std::vector<std::string>& label_values) {
  if (label_values.size() != label_names_.size()) {
    Defect(absl::StrCat(name_, ": ", label_values.size(), " label values for ",
                        label_names_.size(), " labels"));
  }
  absl::MutexLock lock(&mu_);
  std::unique_ptr<Counter>& counter = series_[label_values];
  if (counter == nullptr) counter = std::make_unique<Counter>();
  return *counter;
}

void CounterFamily::AppendTo(std::string* out) const {
  absl::StrAppend(out, "# HELP ", name_, " ", Escaped(help_, /*quotes=*/false),
                  "\n", "# TYPE ", name_, " counter\n");
  absl::MutexLock lock(&mu_);
  if (series_.empty() && label_names_.empty()) {
    absl::StrAppend(out, name_, " 0\n");
  }
  for (const auto& [values, counter] : series_) {
    absl::StrAppend(out, name_, Labels(label_names_, values), " ",
                    counter->value(), "\n");
  }
}

void MetricsRegistry::Claim(const std::string& name) {
  if (!ValidName(name)) Defect(absl::StrCat("malformed name ", name));
  if (counters_.count(name) || gauges_.count(name)) {
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

void MetricsRegistry::AddGauge(const std::string& name, const std::string& help,
                               std::function<double()> read) {
  absl::MutexLock lock(&mu_);
  Claim(name);
  gauges_.emplace(name, Gauge{help, std::move(read), ""});
}

void MetricsRegistry::AddInfo(
    const std::string& name, const std::string& help,
    const std::vector<std::pair<std::string, std::string>>& labels) {
  std::vector<std::string> names, values;
  for (const auto& [label, value] : labels) {
    if (!ValidName(label)) Defect(absl::StrCat("malformed label ", label));
    names.push_back(label);
    values.push_back(value);
  }
  absl::MutexLock lock(&mu_);
  Claim(name);
  gauges_.emplace(name, Gauge{help, [] { return 1.0; }, Labels(names, values)});
}

std::string MetricsRegistry::Exposition() const {
  std::string out;
  absl::MutexLock lock(&mu_);
  // Both maps are in name order; merged, every family appears once.
  auto counter = counters_.begin();
  auto gauge = gauges_.begin();
  while (counter != counters_.end() || gauge != gauges_.end()) {
    if (gauge == gauges_.end() ||
        (counter != counters_.end() && counter->first < gauge->first)) {
      counter->second->AppendTo(&out);
      ++counter;
      continue;
    }
    const auto& [name, g] = *gauge;
    absl::StrAppend(&out, "# HELP ", name, " ",
                    Escaped(g.help, /*quotes=*/false), "\n", "# TYPE ", name,
                    " gauge\n", name, g.labels, " ", absl::StrCat(g.read()),
                    "\n");
    ++gauge;
  }
  return out;
}

}  // namespace deconfliction

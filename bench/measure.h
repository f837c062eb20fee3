// Timing for the benchmarks in bench/: runs a batch operation repeatedly and
// reports items per second as the median of several rounds, so that one
// noisy moment on a shared machine does not decide the figure; and a
// process's memory as /proc reports it.
#ifndef DECONFLICTION_BENCH_MEASURE_H_
#define DECONFLICTION_BENCH_MEASURE_H_

#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace deconfliction::bench {

struct Rate {
  std::string name;
  double items_per_second = 0;
};

// Calls `batch` (which handles `items` items) for `rounds` rounds of about
// `round_time` each; returns the median rate.
inline Rate Measure(const std::string& name, size_t items,
                    const std::function<void()>& batch, int rounds = 5,
                    absl::Duration round_time = absl::Milliseconds(400)) {
  batch();  // warm-up
  std::vector<double> rates;
  for (int r = 0; r < rounds; ++r) {
    size_t calls = 0;
    absl::Time start = absl::Now();
    absl::Duration elapsed;
    do {
      batch();
      ++calls;
      elapsed = absl::Now() - start;
    } while (elapsed < round_time);
    rates.push_back(static_cast<double>(calls * items) /
                    absl::ToDoubleSeconds(elapsed));
  }
  std::sort(rates.begin(), rates.end());
  return Rate{name, rates[rates.size() / 2]};
}

// Prints rates with their ratio to `baseline`.
inline void PrintRates(const std::vector<Rate>& rates, const Rate& baseline,
                       const char* unit) {
  std::printf("%-22s %14s %10s\n", "path", unit, "vs baseline");
  for (const Rate& rate : rates) {
    std::printf("%-22s %14.0f %10.3f\n", rate.name.c_str(),
                rate.items_per_second,
                rate.items_per_second / baseline.items_per_second);
  }
}

// CPU seconds (user + system) process `pid` has used so far.
inline double CpuSeconds(pid_t pid) {
  std::ifstream stat(absl::StrCat("/proc/", pid, "/stat"));
  std::string text((std::istreambuf_iterator<char>(stat)), {});
  // Fields after the command name, which is in parentheses: utime and
  // stime are the 12th and 13th of them.
  std::istringstream fields(text.substr(text.rfind(')') + 2));
  std::string field;
  double ticks = 0;
  for (int i = 1; i <= 13 && fields >> field; ++i) {
    if (i >= 12) ticks += std::stod(field);
  }
  return ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// A memory figure of process `pid` from /proc/<pid>/status, in KiB:
// `field` "VmRSS:" (resident now) or "VmHWM:" (peak resident). -1 when
// unreadable.
inline int64_t StatusKib(pid_t pid, const std::string& field) {
  std::ifstream status(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind(field, 0) == 0) return std::stol(line.substr(field.size()));
  }
  return -1;
}

}  // namespace deconfliction::bench

#endif  // DECONFLICTION_BENCH_MEASURE_H_

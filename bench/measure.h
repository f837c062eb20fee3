// Timing for the benchmarks in bench/: runs a batch operation repeatedly and
// reports items per second as the median of several rounds, so that one
// noisy moment on a shared machine does not decide the figure.
#ifndef DECONFLICTION_BENCH_MEASURE_H_
#define DECONFLICTION_BENCH_MEASURE_H_

#include <algorithm>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

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

}  // namespace deconfliction::bench

#endif  // DECONFLICTION_BENCH_MEASURE_H_

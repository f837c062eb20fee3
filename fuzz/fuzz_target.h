// The one entry point of every harness in fuzz/: libFuzzer's. Built two
// ways from the same source: with clang and -fsanitize=fuzzer (plus
// AddressSanitizer and UndefinedBehaviorSanitizer) by tools/fuzz, which
// explores; and with replay_main.cc by both builds, which runs the
// committed seed corpus as a regression test.
#ifndef DECONFLICTION_FUZZ_FUZZ_TARGET_H_
#define DECONFLICTION_FUZZ_FUZZ_TARGET_H_

#include <cstddef>
#include <cstdint>

// Must return 0; crashes and sanitizer reports are the findings.
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

#endif  // DECONFLICTION_FUZZ_FUZZ_TARGET_H_

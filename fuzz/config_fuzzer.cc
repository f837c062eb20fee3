// Text-format configuration loading: the node's, the hub's and the
// custodian's loaders over any bytes (the first byte picks which). A file
// is either refused with a reason or loads into a validated configuration.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "fuzz/fuzz_target.h"
#include "server/custodian/custodian_config.h"
#include "server/hub/hub_config.h"
#include "server/node/node_config.h"

namespace {

// One file per process, rewritten for each input.
const std::string& ConfigPath() {
  static const std::string* path = [] {
    std::string pattern = "/tmp/deconfliction-config-fuzz.XXXXXX";
    const int fd = mkstemp(pattern.data());
    if (fd < 0) std::abort();
    close(fd);
    return new std::string(pattern);
  }();
  return *path;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  FILE* file = std::fopen(ConfigPath().c_str(), "wb");
  if (file == nullptr) std::abort();
  std::fwrite(data + 1, 1, size - 1, file);
  std::fclose(file);
  switch (data[0] % 3) {
    case 0:
      deconfliction::LoadNodeConfig(ConfigPath()).IgnoreError();
      break;
    case 1:
      deconfliction::LoadHubConfig(ConfigPath()).IgnoreError();
      break;
    default:
      deconfliction::LoadCustodianConfig(ConfigPath()).IgnoreError();
      break;
  }
  return 0;
}

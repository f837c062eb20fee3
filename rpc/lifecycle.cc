#include "rpc/lifecycle.h"

#include <pthread.h>
#include <sys/stat.h>

#include <cstdio>
#include <fstream>

#include "absl/strings/str_cat.h"

namespace deconfliction {

sigset_t BlockStopSignals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  return signals;
}

void KeepCreatedFilesPrivate() { umask(077); }

std::string AwaitStopSignal(const sigset_t& signals,
                            const std::function<void()>& reload) {
  for (;;) {
    int signal_number = 0;
    sigwait(&signals, &signal_number);
    if (signal_number != SIGHUP) {
      return signal_number == SIGTERM ? "SIGTERM" : "SIGINT";
    }
    reload();
  }
}

std::string MetricsNote(const std::string& listen_address, int port) {
  if (port == 0) return "";
  return absl::StrCat("; metrics on http://",
                      listen_address.substr(0, listen_address.rfind(':')), ":",
                      port, "/metrics");
}

absl::Status WritePortFile(const std::string& path, int port) {
  if (path.empty()) return absl::OkStatus();
  const std::string temp = path + ".tmp";
  {
    std::ofstream out(temp);
    out << port << "\n";
    if (!out.good()) {
      return absl::FailedPreconditionError(
          absl::StrCat("port_file: cannot write ", temp));
    }
  }
  if (std::rename(temp.c_str(), path.c_str()) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("port_file: cannot rename ", temp, " to ", path));
  }
  return absl::OkStatus();
}

}  // namespace deconfliction

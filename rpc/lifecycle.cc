#include "rpc/lifecycle.h"

#include <grpc/support/log.h>
#include <pthread.h>
#include <sys/stat.h>

#include <cstdio>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "base/log.h"

namespace deconfliction {
namespace {

void GrpcLogLine(gpr_log_func_args* args) {
  const LogLevel level =
      args->severity == GPR_LOG_SEVERITY_ERROR  ? LogLevel::kError
      : args->severity == GPR_LOG_SEVERITY_INFO ? LogLevel::kInfo
                                                : LogLevel::kWarning;
  Log(level, "grpc", args->message == nullptr ? "" : args->message,
      {{"source", absl::StrCat(args->file == nullptr ? "?" : args->file, ":",
                               args->line)}});
}

}  // namespace

void StartServerLog(absl::string_view program) {
  NameLogProgram(program);
  gpr_set_log_function(GrpcLogLine);
}

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

void SkipMutexDeadlockDetectionInRelease() {
#ifdef NDEBUG
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
#endif
}

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

// What the federation's server programs do around serving: their log,
// reading their configuration, stop signals, reloads, announcing the bound
// port, and shutting down. Exit codes: 0 stopped by a signal, 1 cannot
// serve, 2 bad configuration.
//
// A bad command line or configuration (exit 2) and --check_config speak in
// plain lines, "<program>: <reason>", for whoever typed the command; from
// the start of serving on, everything goes to the structured log
// (base/log.h), gRPC's own log included.
#ifndef DECONFLICTION_RPC_LIFECYCLE_H_
#define DECONFLICTION_RPC_LIFECYCLE_H_

#include <signal.h>

#include <functional>
#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "base/build_info.h"
#include "base/log.h"

namespace deconfliction {

// Names `program` in the log and routes gRPC's own log (gpr_log) into it
// as component=grpc. Call first thing in main.
void StartServerLog(absl::string_view program);

// Blocks SIGTERM, SIGINT and SIGHUP in the calling thread and in every
// thread it starts afterwards; call first thing in main, before any server
// starts.
sigset_t BlockStopSignals();

// Makes every file and directory the process creates from now on private to
// its user (umask 077): databases, audit trails, keys, port files. They hold
// contacts, caveats and tokens of investigations. Call first thing in main.
void KeepCreatedFilesPrivate();

// In a release build (NDEBUG), turns Abseil's mutex deadlock detection off:
// Debian's Abseil leaves it on, and it takes a process-wide lock on every
// mutex acquisition (about 2 % of a server's CPU on a federated check). Lock
// order is checked at compile time (clang's thread-safety analysis), and
// debug builds keep the detection. Call first thing in main.
void SkipMutexDeadlockDetectionInRelease();

// Waits for SIGTERM or SIGINT (blocked by BlockStopSignals); returns its
// name. Each SIGHUP meanwhile runs `reload`, which says what it did.
std::string AwaitStopSignal(const sigset_t& signals,
                            const std::function<void()>& reload);

// Writes `port` and a newline to `path` atomically (a reader never sees a
// partial file). Does nothing for an empty path.
absl::Status WritePortFile(const std::string& path, int port);

// The configuration named by --config (`path`), read with `load`; nullopt,
// with the reason on stderr under `program`'s name, when the flag is
// missing or the file is bad (exit 2).
template <typename Config>
std::optional<Config> ConfigFromFlag(
    absl::string_view program, const std::string& path,
    const std::function<absl::StatusOr<Config>(const std::string&)>& load) {
  if (path.empty()) {
    std::cerr << program << ": --config is required (see --help)\n";
    return std::nullopt;
  }
  absl::StatusOr<Config> config = load(path);
  if (!config.ok()) {
    std::cerr << program << ": " << config.status().message() << "\n";
    return std::nullopt;
  }
  return *std::move(config);
}

// For a server's start line: "; metrics on http://HOST:PORT/metrics" for a
// metrics listener bound to `port` (from `listen_address`, "HOST:PORT"), or
// "" when there is none (port 0).
std::string MetricsNote(const std::string& listen_address, int port);

// --check_config's outcome for the configuration at `path` whose fields
// passed and whose files were checked (`files`): "<path>: valid" on stdout
// and 0, or the reason on stderr under `program`'s name and 2.
inline int ReportConfigCheck(absl::string_view program, const std::string& path,
                             const absl::Status& files) {
  if (!files.ok()) {
    std::cerr << program << ": " << files.message() << "\n";
    return 2;
  }
  std::cout << path << ": valid\n";
  return 0;
}

// On SIGHUP: reads the configuration at `config_path` again with `load`
// and puts it in force (server.Reload(config), which says what changed),
// or logs why it was refused and keeps the one in force; then re-reads the
// certificate files and CRLs (server.ReloadFiles(), which keeps the old ones
// when the new are bad). Each outcome is one log line.
// `load` is called as absl::StatusOr<Config>(const std::string& path).
template <typename Server, typename Load>
void ReloadOnSignal(Server& server, const std::string& config_path,
                    const Load& load) {
  absl::StatusOr<std::string> reloaded = [&]() -> absl::StatusOr<std::string> {
    auto config = load(config_path);
    if (!config.ok()) return config.status();
    return server.Reload(*config);
  }();
  if (reloaded.ok()) {
    LogInfo("server", "SIGHUP: configuration reloaded: " + *reloaded,
            {{"config", config_path}});
  } else {
    LogWarning("server",
               "SIGHUP: configuration refused, the one in force stays",
               {{"config", config_path},
                {"reason", std::string(reloaded.status().message())}});
  }
  const absl::Status files = server.ReloadFiles();
  if (files.ok()) {
    LogInfo("server", "SIGHUP: certificate files and CRLs re-read");
  } else {
    LogWarning("server",
               "SIGHUP: certificate files or CRLs refused, the ones in force "
               "stay",
               {{"reason", std::string(files.message())}});
  }
}

// The rest of a server program's life once its server was started: exit 1
// with the reason when it did not start or the port file cannot be
// written; else announces `serving(server)`, waits for SIGTERM or SIGINT
// (blocked by BlockStopSignals) and shuts down within `grace`, exit 0. Each
// SIGHUP meanwhile reloads the configuration at `config_path` and the
// certificate files (ReloadOnSignal, with `load`). `serving` is called as
// std::string(const Server&).
template <typename Server, typename Load, typename Announce>
int ServeUntilStopped(absl::StatusOr<std::unique_ptr<Server>> server,
                      const std::string& config_path, const Load& load,
                      const std::string& port_file, const Announce& serving,
                      const sigset_t& stop, absl::Duration grace) {
  if (!server.ok()) {
    LogError("server", "cannot serve",
             {{"reason", std::string(server.status().message())}});
    return 1;
  }
  if (absl::Status s = WritePortFile(port_file, (*server)->port()); !s.ok()) {
    LogError("server", "cannot serve", {{"reason", std::string(s.message())}});
    return 1;
  }
  LogInfo("server", serving(**server),
          {{"version", Build().version}, {"revision", Build().revision}});
  const std::string stopped = AwaitStopSignal(
      stop, [&] { ReloadOnSignal(**server, config_path, load); });
  LogInfo("server", "shutting down", {{"signal", stopped}});
  (*server)->Shutdown(grace);
  LogInfo("server", "stopped");
  return 0;
}

}  // namespace deconfliction

#endif  // DECONFLICTION_RPC_LIFECYCLE_H_

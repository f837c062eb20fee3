#include "client/commands.h"

#include <cstdio>
#include <fstream>
#include <map>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "api/json_line.h"
#include "api/timestamps.h"
#include "base/untrusted_text.h"
#include "client/render.h"
#include "google/protobuf/struct.pb.h"
#include "identifiers/canonical.h"
#include "identifiers/identifier_input.h"

namespace deconfliction {
namespace {

// Errors are one line on stderr; the exit code carries the class. A node's
// message is escaped: it may repeat text of another agency or of the input.
ExitCode Fail(const absl::Status& status, CommandIo io) {
  io.err << "deconflict: " << EscapeForTerminal(status.message()) << "\n";
  return ExitCodeFor(status);
}

ExitCode Usage(absl::string_view message, CommandIo io) {
  io.err << "deconflict: " << message << " (see deconflict --help)\n";
  return kExitUsage;
}

ExitCode VerdictFor(const ResultTally& tally) {
  if (tally.with_hits > 0) return kExitHit;
  if (tally.unknown > 0) return kExitIncomplete;
  return kExitOk;
}

// Identifiers from TYPE:VALUE arguments, with --observed applied to
// time-bound types.
absl::StatusOr<std::vector<v1::Identifier>> IdentifierArgs(
    const CliOptions& options, const std::vector<std::string>& args) {
  std::vector<v1::Identifier> identifiers;
  v1::TimeWindow observed;
  if (!options.observed.empty()) {
    absl::StatusOr<v1::TimeWindow> window = ParseTimeWindow(options.observed);
    if (!window.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--observed: ", window.status().message()));
    }
    observed = *window;
  }
  for (const std::string& arg : args) {
    absl::StatusOr<v1::Identifier> identifier = ParseIdentifierArg(arg);
    if (!identifier.ok()) return identifier.status();
    if (IsTimeBound(identifier->type()) && !options.observed.empty()) {
      *identifier->mutable_observed() = observed;
    }
    identifiers.push_back(*std::move(identifier));
  }
  return identifiers;
}

// The registration fields shared by `register` and `import`.
absl::StatusOr<v1::RegisterRequest> RegistrationTemplate(
    const CliOptions& options) {
  v1::RegisterRequest request;
  if (options.case_ref.empty()) {
    return absl::InvalidArgumentError("--case is required");
  }
  request.set_case_ref(options.case_ref);
  *request.mutable_contact() = options.contact;
  request.set_caveat(options.caveat);
  request.set_default_region(options.region);
  if (!options.sharing.empty()) {
    static const std::map<std::string, v1::Sharing> kSharing = {
        {"pointer", v1::SHARING_POINTER},
        {"pointer_with_case_ref", v1::SHARING_POINTER_WITH_CASE_REF},
        {"silent", v1::SHARING_SILENT}};
    auto it = kSharing.find(options.sharing);
    if (it == kSharing.end()) {
      return absl::InvalidArgumentError(
          "--sharing: expected pointer, pointer_with_case_ref or silent");
    }
    request.set_sharing(it->second);
  }
  if (!options.expires.empty()) {
    absl::Time expires;
    std::string error;
    if (!absl::ParseTime(absl::RFC3339_full, options.expires, &expires,
                         &error) &&
        !absl::ParseTime("%Y-%m-%d", options.expires, &expires, &error)) {
      return absl::InvalidArgumentError(
          "--expires: expected YYYY-MM-DD or an RFC 3339 time");
    }
    *request.mutable_expires_at() = ToTimestamp(expires);
  }
  return request;
}

// Checks a CSV row before it is sent. National phone numbers without a known
// region are left to the node, which knows its own default region.
absl::Status ValidateRow(const CsvIdentifier& row, const std::string& region) {
  absl::StatusOr<CanonicalIdentifier> canonical =
      Canonicalize(row.identifier, {region});
  if (canonical.ok() ||
      (row.identifier.type() == v1::IDENTIFIER_TYPE_PHONE && region.empty())) {
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(
      absl::StrCat("line ", row.line, ": ", canonical.status().message()));
}

void PrintJson(const google::protobuf::Message& message, CommandIo io) {
  io.out << ToJsonLine(message) << "\n";
}

// What a bulk check that stopped before line `resume` (for `why`) did.
void RenderBulkSummary(const ResultTally& tally, v1::CheckScope scope,
                       int resume, const absl::Status& why,
                       const CliOptions& options, CommandIo io) {
  if (options.json) {
    google::protobuf::Struct summary;
    auto& fields = *summary.mutable_fields();
    fields["checked"].set_number_value(static_cast<double>(tally.identifiers));
    fields["with_hits"].set_number_value(static_cast<double>(tally.with_hits));
    fields["not_known"].set_number_value(static_cast<double>(tally.unknown));
    fields["stopped"].set_string_value(std::string(why.message()));
    fields["resume_from_line"].set_number_value(resume);
    PrintJson(summary, io);
    return;
  }
  RenderTally(tally, scope, io.out);
  io.out << "stopped before line " << resume
         << ": the rest was not checked; resume with --from_line=" << resume
         << "\n";
}

class ProgressBar {
 public:
  ProgressBar(bool enabled, uint64_t total, std::ostream& err)
      : enabled_(enabled), total_(total), err_(err) {}
  void Update(uint64_t done) {
    if (!enabled_ || total_ == 0) return;
    constexpr int kWidth = 30;
    int filled = static_cast<int>(kWidth * done / total_);
    err_ << "\r[" << std::string(filled, '#')
         << std::string(kWidth - filled, ' ') << "] " << done << "/" << total_
         << " rows" << std::flush;
  }
  void Done() {
    if (enabled_ && total_ > 0) err_ << "\n";
  }

 private:
  bool enabled_;
  uint64_t total_;
  std::ostream& err_;
};

}  // namespace

// What a registration stored without tokens (the custodians were below
// their threshold) waits for.
void RenderAwaitingTokens(uint64_t awaiting, std::ostream& out) {
  if (awaiting == 0) return;
  out << awaiting << " identifier" << (awaiting == 1 ? " is" : "s are")
      << " stored but not yet matched: the token key's custodians did not "
         "answer; the node checks them against the federation (alerting "
         "both sides) as soon as they return\n";
}

ExitCode RunRegister(NodeClient& node, const CliOptions& options,
                     const std::vector<std::string>& args, CommandIo io) {
  if (args.empty()) {
    return Usage("register needs at least one TYPE:VALUE identifier", io);
  }
  absl::StatusOr<v1::RegisterRequest> request = RegistrationTemplate(options);
  if (!request.ok()) return Usage(request.status().message(), io);
  absl::StatusOr<std::vector<v1::Identifier>> identifiers =
      IdentifierArgs(options, args);
  if (!identifiers.ok()) return Fail(identifiers.status(), io);
  for (v1::Identifier& identifier : *identifiers) {
    *request->add_identifiers() = std::move(identifier);
  }
  absl::StatusOr<v1::RegisterResponse> response = node.Register(*request);
  if (!response.ok()) return Fail(response.status(), io);
  ResultTally tally;
  for (const v1::CheckResult& match : response->matches()) tally.Add(match);
  if (options.json) {
    PrintJson(*response, io);
  } else {
    io.out << "registered " << response->added() << " new identifier"
           << (response->added() == 1 ? "" : "s") << " in case "
           << EscapeForTerminal(response->case_ref()) << "\n";
    for (const v1::CheckResult& match : response->matches()) {
      if (match.hits_size() > 0 || !match.complete()) {
        RenderResult(args[match.index()], match, io.out);
      }
    }
    RenderAwaitingTokens(response->awaiting_tokens(), io.out);
    RenderTally(tally, response->scope(), io.out);
    RenderWaitingLookups(tally, io.out);
  }
  return VerdictFor(tally);
}

ExitCode RunCheck(NodeClient& node, const CliOptions& options,
                  const std::vector<std::string>& args, CommandIo io) {
  if (args.empty() == options.file.empty()) {
    return Usage("check takes TYPE:VALUE identifiers or --file=CSV, not both",
                 io);
  }
  ResultTally tally;
  if (options.file.empty()) {
    absl::StatusOr<std::vector<v1::Identifier>> identifiers =
        IdentifierArgs(options, args);
    if (!identifiers.ok()) return Fail(identifiers.status(), io);
    v1::CheckRequest request;
    request.set_default_region(options.region);
    for (v1::Identifier& identifier : *identifiers) {
      *request.add_identifiers() = std::move(identifier);
    }
    absl::StatusOr<v1::CheckResponse> response = node.Check(request);
    if (!response.ok()) return Fail(response.status(), io);
    for (const v1::CheckResult& result : response->results()) {
      tally.Add(result);
      if (!options.json) RenderResult(args[result.index()], result, io.out);
    }
    if (options.json) {
      PrintJson(*response, io);
    } else {
      RenderTally(tally, response->scope(), io.out);
    }
    return VerdictFor(tally);
  }

  // Bulk: the file through CheckBulk, chunk by chunk, from --from_line on.
  // Over the agency's per-minute cap the job waits for the next minute and
  // goes on from the first line not checked (--wait_for_cap=false: it stops
  // there); over the daily cap it stops. It always ends with a summary,
  // which names the line to resume from when it did not finish.
  if (!std::ifstream(options.file)) {
    return Fail(absl::InvalidArgumentError(
                    absl::StrCat("--file: cannot read ", options.file)),
                io);
  }
  const bool per_result = options.json || options.terminal;
  int resume = std::max(1, options.from_line);  // first line not checked
  bool waited_in_vain = false;  // the last wait was followed by no answer
  v1::CheckScope scope = v1::CHECK_SCOPE_UNSPECIFIED;
  for (;;) {
    std::ifstream in(options.file);
    IdentifierCsvReader reader(&in);
    std::vector<int> lines;  // line of each identifier sent, for messages
    size_t answered = 0;
    absl::Status bad_row;
    absl::Status status = node.CheckBulk(
        [&](v1::CheckRequest* chunk) {
          chunk->set_default_region(options.region);
          CsvIdentifier row;
          absl::Status error;
          while (chunk->identifiers_size() <
                     static_cast<int>(options.batch_size) &&
                 reader.Next(&row, &error)) {
            if (row.line < resume) continue;
            if (!error.ok()) {
              bad_row = error;
              return false;
            }
            *chunk->add_identifiers() = row.identifier;
            lines.push_back(row.line);
          }
          return chunk->identifiers_size() > 0;
        },
        [&](const v1::CheckResponse& answer) {
          scope = answer.scope();
          for (const v1::CheckResult& result : answer.results()) {
            tally.Add(result);
            if (!options.json && per_result &&
                (result.hits_size() > 0 || !result.complete())) {
              RenderResult(
                  absl::StrCat("line ", lines[answered + result.index()]),
                  result, io.out);
            }
          }
          answered += static_cast<size_t>(answer.results_size());
          if (options.json) PrintJson(answer, io);
        },
        options.bulk_deadline);
    if (!bad_row.ok()) return Fail(bad_row, io);
    if (status.ok()) break;
    if (answered > 0) waited_in_vain = false;
    if (answered < lines.size()) {
      resume = lines[answered];
    } else if (!lines.empty()) {
      resume = lines.back() + 1;
    }
    const bool wait = IsOverCap(status) && options.wait_for_cap &&
                      absl::StrContains(status.message(), "per minute") &&
                      !waited_in_vain;
    if (!wait) {
      RenderBulkSummary(tally, scope, resume, status, options, io);
      if (waited_in_vain) {
        io.err << "deconflict: no identifier was taken in a whole minute: "
                  "each request holds more than the cap allows per minute; "
                  "use a smaller --batch_size\n";
      }
      return Fail(status, io);
    }
    const absl::Time next_minute =
        absl::FromUnixSeconds((absl::ToUnixSeconds(absl::Now()) / 60 + 1) *
                              60) +
        absl::Seconds(1);
    io.err << "deconflict: " << EscapeForTerminal(status.message())
           << "; waiting until "
           << absl::FormatTime("%H:%M:%S UTC", next_minute, absl::UTCTimeZone())
           << ", then going on from line " << resume << "\n";
    absl::SleepFor(next_minute - absl::Now());
    waited_in_vain = true;
  }
  if (!options.json) RenderTally(tally, scope, io.out);
  return VerdictFor(tally);
}

ExitCode RunImport(NodeClient& node, const CliOptions& options,
                   const std::vector<std::string>& args, CommandIo io) {
  if (args.size() != 1) return Usage("import takes one CSV file", io);
  absl::StatusOr<v1::RegisterRequest> base = RegistrationTemplate(options);
  if (!base.ok()) return Usage(base.status().message(), io);
  if (options.batch_size == 0) return Usage("--batch_size must be > 0", io);

  // Pass 1: validate every row before anything is sent, so that a bad file
  // registers nothing.
  std::ifstream in(args[0]);
  if (!in) {
    return Fail(
        absl::InvalidArgumentError(absl::StrCat("cannot read ", args[0])), io);
  }
  IdentifierCsvReader reader(&in);
  CsvIdentifier row;
  absl::Status error;
  uint64_t rows = 0, rejected = 0;
  std::vector<int> rejected_lines;  // ascending, for pass 2 to skip
  while (reader.Next(&row, &error)) {
    ++rows;
    if (error.ok()) error = ValidateRow(row, options.region);
    if (!error.ok()) {
      rejected_lines.push_back(row.line);
      if (++rejected <= 20) {
        io.err << "deconflict: " << EscapeForTerminal(error.message()) << "\n";
      }
    }
  }
  if (rejected > 20) {
    io.err << "deconflict: ... and " << rejected - 20 << " more\n";
  }
  if (rejected > 0 && !options.skip_invalid) {
    io.err << "deconflict: " << rejected << " of " << rows
           << " rows rejected; nothing was registered (fix them, or pass "
              "--skip_invalid to register the others)\n";
    return kExitInvalidInput;
  }

  // Pass 2: register the valid rows in batches. Each batch is one atomic
  // registration; registering is idempotent, so after a failure the same
  // import can simply be run again.
  in.clear();
  in.seekg(0);
  IdentifierCsvReader sender(&in);
  ProgressBar progress(options.progress, rows, io.err);
  ResultTally tally;
  uint64_t sent = 0, added = 0, awaiting_tokens = 0, done = 0;
  auto next_rejected = rejected_lines.begin();
  v1::CheckScope scope = v1::CHECK_SCOPE_UNSPECIFIED;
  bool more = true;
  while (more) {
    v1::RegisterRequest request = *base;
    std::vector<int> lines;
    while (request.identifiers_size() < static_cast<int>(options.batch_size)) {
      if (!(more = sender.Next(&row, &error))) break;
      ++done;
      if (row.line < options.from_line) continue;  // resuming
      // Rows rejected in pass 1 are skipped (--skip_invalid).
      while (next_rejected != rejected_lines.end() &&
             *next_rejected < row.line) {
        ++next_rejected;
      }
      if (next_rejected != rejected_lines.end() && *next_rejected == row.line) {
        continue;
      }
      *request.add_identifiers() = row.identifier;
      lines.push_back(row.line);
    }
    if (request.identifiers().empty()) break;
    absl::StatusOr<v1::RegisterResponse> response = node.Register(request);
    if (!response.ok()) {
      progress.Done();
      io.err << "deconflict: stopped at the batch starting on line "
             << lines.front() << "; " << sent
             << " identifiers before it are registered (running the same "
                "import again is safe; --from_line="
             << lines.front() << " resumes there)\n";
      return Fail(response.status(), io);
    }
    sent += request.identifiers_size();
    added += response->added();
    awaiting_tokens += response->awaiting_tokens();
    scope = response->scope();
    for (const v1::CheckResult& match : response->matches()) {
      tally.Add(match);
      if (options.json) {
        if (match.hits_size() > 0) PrintJson(match, io);
      } else if (options.terminal &&
                 (match.hits_size() > 0 || !match.complete())) {
        RenderResult(absl::StrCat("line ", lines[match.index()]), match,
                     io.out);
      }
    }
    progress.Update(done);
  }
  progress.Done();
  if (options.json) {
    google::protobuf::Struct summary;
    auto& fields = *summary.mutable_fields();
    fields["case_ref"].set_string_value(options.case_ref);
    fields["rows"].set_number_value(static_cast<double>(rows));
    fields["registered"].set_number_value(static_cast<double>(sent));
    fields["added"].set_number_value(static_cast<double>(added));
    fields["awaiting_tokens"].set_number_value(
        static_cast<double>(awaiting_tokens));
    fields["rejected"].set_number_value(static_cast<double>(rejected));
    fields["with_hits"].set_number_value(static_cast<double>(tally.with_hits));
    PrintJson(summary, io);
  } else {
    io.out << "imported " << sent << " of " << rows << " rows into case "
           << options.case_ref << " (" << added << " new, " << sent - added
           << " already held; " << rejected << " rejected)\n";
    RenderAwaitingTokens(awaiting_tokens, io.out);
    RenderTally(tally, scope, io.out);
    RenderWaitingLookups(tally, io.out);
  }
  return VerdictFor(tally);
}

ExitCode RunClose(NodeClient& node, const CliOptions& options,
                  const std::vector<std::string>& args, CommandIo io) {
  if (args.size() != 1) return Usage("close takes one CASE_REF", io);
  v1::CloseCaseRequest request;
  request.set_case_ref(args[0]);
  request.set_reason(options.reason);
  absl::StatusOr<v1::CloseCaseResponse> response = node.CloseCase(request);
  if (!response.ok()) return Fail(response.status(), io);
  if (options.json) {
    PrintJson(*response, io);
  } else {
    io.out << "closed case " << args[0]
           << "; its identifiers no longer match\n";
  }
  return kExitOk;
}

ExitCode RunCases(NodeClient& node, const CliOptions& options,
                  const std::vector<std::string>& args, CommandIo io) {
  if (args.size() > 1) return Usage("cases takes at most one CASE_REF", io);
  if (args.size() == 1) {
    v1::GetCaseRequest request;
    request.set_case_ref(args[0]);
    absl::StatusOr<v1::Case> c = node.GetCase(request);
    if (!c.ok()) return Fail(c.status(), io);
    if (options.json) {
      PrintJson(*c, io);
    } else {
      RenderCase(*c, io.out);
    }
    return kExitOk;
  }
  v1::ListCasesRequest request;
  request.set_include_closed(options.include_closed);
  if (!options.json) {
    io.out << absl::StrFormat("%-24s %-8s %7s  %-30s %s\n", "CASE", "STATE",
                              "ENTRIES", "CONTACT", "EXPIRY");
  }
  do {
    absl::StatusOr<v1::ListCasesResponse> page = node.ListCases(request);
    if (!page.ok()) return Fail(page.status(), io);
    for (const v1::Case& c : page->cases()) {
      if (options.json) {
        PrintJson(c, io);
      } else {
        RenderCaseLine(c, io.out);
      }
    }
    request.set_page_token(page->next_page_token());
  } while (!request.page_token().empty());
  return kExitOk;
}

namespace {

uint64_t ReadCursor(const std::string& path) {
  uint64_t cursor = 0;
  std::ifstream in(path);
  if (in) in >> cursor;
  return cursor;
}

// Written atomically: a crash never leaves a torn cursor.
void WriteCursor(const std::string& path, uint64_t cursor) {
  const std::string temp = path + ".tmp";
  {
    std::ofstream out(temp);
    out << cursor << "\n";
  }
  std::rename(temp.c_str(), path.c_str());
}

}  // namespace

ExitCode RunWatch(NodeClient& node, const CliOptions& options,
                  const std::vector<std::string>& args, CommandIo io) {
  if (!args.empty()) return Usage("watch takes no arguments", io);
  uint64_t cursor = options.after >= 0 ? static_cast<uint64_t>(options.after)
                    : options.cursor_file.empty()
                        ? 0
                        : ReadCursor(options.cursor_file);
  const absl::Time end = options.watch_for == absl::InfiniteDuration()
                             ? absl::InfiniteFuture()
                             : absl::Now() + options.watch_for;
  uint64_t seen = 0;
  bool interrupted = false;
  std::string said;  // the last interruption reported, said once
  // Reconnects from the last cursor after any interruption, so nothing is
  // missed and nothing is shown twice. After an interruption the next
  // stream waits for the node (the channel retries every 500 ms), so it
  // resumes within about a second of the node's return.
  while (absl::Now() < end) {
    const absl::Time deadline = std::min(end, absl::Now() + absl::Hours(1));
    absl::Status status = node.Watch(
        cursor, deadline, /*wait_for_node=*/interrupted,
        [&](const v1::Alert& alert) {
          if (options.json) {
            io.out << ToJsonLine(alert) << "\n";
          } else {
            RenderAlert(alert, io.out);
          }
          io.out.flush();
          cursor = alert.cursor();
          said.clear();
          if (!options.cursor_file.empty()) {
            WriteCursor(options.cursor_file, cursor);
          }
          return options.max_alerts == 0 || ++seen < options.max_alerts;
        });
    if (options.max_alerts > 0 && seen >= options.max_alerts) break;
    if (!status.ok()) {
      if (ExitCodeFor(status) == kExitNotAuthorized) return Fail(status, io);
      const std::string why =
          absl::StrCat("deconflict: watch interrupted (",
                       EscapeForTerminal(status.message()),
                       "); reconnecting after cursor ", cursor, "\n");
      if (why != said) io.err << why;
      said = why;
      // A stopping node refuses new streams until it is gone: half a
      // second between attempts.
      absl::SleepFor(std::min(absl::Milliseconds(500), end - absl::Now()));
      interrupted = true;
    }
  }
  return kExitOk;
}

ExitCode RunAcknowledge(NodeClient& node, const CliOptions& options,
                        const std::vector<std::string>& args, CommandIo io) {
  if (args.empty()) return Usage("ack takes one or more alert ids", io);
  v1::AcknowledgeRequest request;
  for (const std::string& id : args) request.add_alert_ids(id);
  absl::StatusOr<v1::AcknowledgeResponse> response = node.Acknowledge(request);
  if (!response.ok()) return Fail(response.status(), io);
  if (options.json) {
    PrintJson(*response, io);
  } else {
    io.out << "acknowledged " << response->acknowledged() << "\n";
    for (const std::string& id : response->unknown_ids()) {
      io.out << "unknown alert id " << EscapeForTerminal(id) << "\n";
    }
  }
  return response->unknown_ids().empty() ? kExitOk : kExitNotFoundOrClosed;
}

ExitCode RunAlerts(NodeClient& node, const CliOptions& options,
                   const std::vector<std::string>& args, CommandIo io) {
  if (!args.empty()) return Usage("alerts takes no arguments", io);
  absl::StatusOr<v1::AlertStatusResponse> status = node.AlertStatus();
  if (!status.ok()) return Fail(status.status(), io);
  if (options.json) {
    PrintJson(*status, io);
    return kExitOk;
  }
  io.out << "alert log: " << status->last_cursor() << " alert(s), "
         << status->unacknowledged() << " not acknowledged\n";
  io.out << "registrations waiting for the hub: "
         << status->lookups_waiting_for_hub();
  if (status->lookups_waiting_for_hub() > 0) {
    io.out << ", oldest waiting " << status->oldest_waiting_seconds()
           << " s (sent again until the hub takes them)";
  }
  io.out << "\n";
  if (status->hub_answered()) {
    io.out << "hub outbox for this agency: " << status->pending_at_hub()
           << " pending";
    if (status->pending_at_hub() > 0) {
      io.out << ", oldest waiting " << status->oldest_pending_seconds() << " s";
    }
    io.out << "\n";
    if (status->set_aside_at_hub() > 0) {
      io.out << "WARNING: " << status->set_aside_at_hub()
             << " alert(s) for this agency were refused by this node and set "
                "aside at the hub: ask the coordination centre\n";
    }
  } else {
    io.out << "hub outbox: not known (the hub did not answer, or this node "
              "is not federated)\n";
  }
  return kExitOk;
}

}  // namespace deconfliction

// deconflict-keys: the token key's ceremony. `generate` makes a new key,
// splits it among the custodians and forgets it; `refresh` gives every
// custodian a new share of the same key. Both write each custodian's share
// (mode 0600) and the public bundle the nodes need.
#include <iostream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "api/deconfliction/keys/v1/keys.pb.h"
#include "base/key_file.h"
#include "config/command_line.h"
#include "google/protobuf/text_format.h"
#include "oprf/group.h"
#include "oprf/threshold.h"
#include "security/identity.h"
#include "token_key/key_files.h"

ABSL_FLAG(
    std::string, custodians, "",
    "generate: the custodians' names, comma-separated, in share order "
    "(as in their certificates, spiffe://<federation>/custodian/<name>).");
ABSL_FLAG(int, threshold, 2,
          "generate: how many custodians must answer to make a token "
          "(2 to the number of custodians).");
ABSL_FLAG(std::string, epoch, "",
          "generate: the new key's name, e.g. 2026-11 (1-64 characters).");
ABSL_FLAG(std::string, bundle, "", "refresh: the current token-key bundle.");
ABSL_FLAG(std::string, shares, "",
          "refresh: every custodian's current share file, comma-separated.");
ABSL_FLAG(std::string, out_dir, "",
          "Where to write <custodian>.share.textproto (0600) and "
          "token-key-bundle.textproto; existing files are never overwritten.");

namespace deconfliction {
namespace {

constexpr int kExitUsage = 2;
constexpr int kExitFailed = 1;

int Fail(const absl::Status& status) {
  std::cerr << "deconflict-keys: " << status.message() << "\n";
  return absl::IsInvalidArgument(status) ? kExitUsage : kExitFailed;
}

// Writes every share and then the bundle; wipes each share's text.
absl::Status WriteCeremony(const keys::v1::TokenKeyBundle& bundle,
                           const std::vector<oprf::KeyShare>& shares,
                           const std::string& out_dir) {
  for (const keys::v1::CustodianKey& custodian : bundle.custodians()) {
    keys::v1::KeyShareFile file =
        ShareFileFor(bundle, custodian, shares[custodian.index() - 1]);
    std::string text;
    google::protobuf::TextFormat::PrintToString(file, &text);
    oprf::Wipe(file.mutable_secret());
    absl::Status written = WriteKeyFile(
        absl::StrCat(out_dir, "/", custodian.name(), ".share.textproto"), text,
        0600);
    oprf::Wipe(&text);
    if (!written.ok()) return written;
  }
  std::string text;
  google::protobuf::TextFormat::PrintToString(bundle, &text);
  return WriteKeyFile(absl::StrCat(out_dir, "/token-key-bundle.textproto"),
                      text, 0644);
}

int Generate(const std::string& out_dir) {
  const std::vector<std::string> names =
      absl::StrSplit(absl::GetFlag(FLAGS_custodians), ',', absl::SkipEmpty());
  for (const std::string& name : names) {
    if (absl::Status s = ValidateAgencyId(name, "--custodians"); !s.ok()) {
      return Fail(s);
    }
  }
  const int threshold = absl::GetFlag(FLAGS_threshold);
  std::vector<oprf::KeyShare> shares;
  {
    // The key exists only in this scope, and is wiped when it ends.
    const oprf::SecretScalar key(oprf::RandomScalar());
    absl::StatusOr<std::vector<oprf::KeyShare>> split =
        oprf::SplitKey(key.get(), threshold, static_cast<int>(names.size()));
    if (!split.ok()) return Fail(split.status());
    shares = *std::move(split);
  }
  absl::StatusOr<keys::v1::TokenKeyBundle> bundle =
      BundleFor(names, shares, absl::GetFlag(FLAGS_epoch), threshold, 0);
  if (!bundle.ok()) return Fail(bundle.status());
  if (absl::Status s = WriteCeremony(*bundle, shares, out_dir); !s.ok()) {
    return Fail(s);
  }
  std::cerr << "deconflict-keys: epoch " << bundle->epoch() << ": "
            << names.size() << " shares, any " << threshold
            << " make a token; the key itself was not kept\n";
  return 0;
}

int Refresh(const std::string& out_dir) {
  absl::StatusOr<keys::v1::TokenKeyBundle> bundle =
      LoadBundle(absl::GetFlag(FLAGS_bundle));
  if (!bundle.ok()) return Fail(bundle.status());
  const int count = bundle->custodians_size();
  std::vector<oprf::KeyShare> current(count);
  std::vector<std::string> names(count);
  const std::vector<std::string> paths =
      absl::StrSplit(absl::GetFlag(FLAGS_shares), ',', absl::SkipEmpty());
  for (const std::string& path : paths) {
    absl::StatusOr<keys::v1::KeyShareFile> share = LoadShare(path);
    if (!share.ok()) return Fail(share.status());
    const keys::v1::CustodianKey* listed = nullptr;
    for (const auto& custodian : bundle->custodians()) {
      if (custodian.name() == share->custodian()) listed = &custodian;
    }
    const oprf::SecretScalar secret(
        *oprf::DeserializeScalar(share->secret(), "secret"));
    oprf::Wipe(share->mutable_secret());
    absl::StatusOr<oprf::Element> public_share =
        oprf::ScalarMultGen(secret.get());
    if (listed == nullptr || share->epoch() != bundle->epoch() ||
        share->index() != listed->index() || !public_share.ok() ||
        oprf::Serialize(*public_share) != listed->public_share()) {
      return Fail(absl::InvalidArgumentError(absl::StrCat(
          path, ": not the current share of a custodian in the bundle")));
    }
    current[listed->index() - 1].index = listed->index();
    current[listed->index() - 1].secret = secret;
    names[listed->index() - 1] = listed->name();
  }
  absl::StatusOr<std::vector<oprf::KeyShare>> fresh = oprf::RefreshShares(
      current, static_cast<int>(bundle->threshold()), count);
  if (!fresh.ok()) return Fail(fresh.status());
  absl::StatusOr<keys::v1::TokenKeyBundle> refreshed = BundleFor(
      names, *fresh, bundle->epoch(), static_cast<int>(bundle->threshold()),
      bundle->generation() + 1);
  if (!refreshed.ok()) return Fail(refreshed.status());
  if (absl::Status s = WriteCeremony(*refreshed, *fresh, out_dir); !s.ok()) {
    return Fail(s);
  }
  std::cerr << "deconflict-keys: epoch " << refreshed->epoch()
            << ", share generation " << refreshed->generation()
            << ": new shares of the same key (tokens unchanged)\n";
  return 0;
}

int Main(int argc, char** argv) {
  SetUsage(
      "The token key's ceremony.\n"
      "Usage: deconflict-keys generate --custodians=a,b,c --threshold=2 "
      "--epoch=E --out_dir=DIR\n"
      "       deconflict-keys refresh --bundle=FILE --shares=F1,F2,F3 "
      "--out_dir=DIR\n"
      "Exit codes: 0 written, 1 failed (nothing usable written), 2 bad "
      "arguments.",
      __FILE__);
  std::vector<char*> args = ParseCommandLine(argc, argv);
  if (absl::Status s = oprf::Init(); !s.ok()) return Fail(s);
  const std::string out_dir = absl::GetFlag(FLAGS_out_dir);
  if (args.size() != 2 || out_dir.empty()) {
    std::cerr << "deconflict-keys: say generate or refresh, and --out_dir "
                 "(see --help)\n";
    return kExitUsage;
  }
  const std::string command = args[1];
  if (command == "generate") return Generate(out_dir);
  if (command == "refresh") return Refresh(out_dir);
  std::cerr << "deconflict-keys: unknown command \"" << command
            << "\" (generate or refresh)\n";
  return kExitUsage;
}

}  // namespace
}  // namespace deconfliction

int main(int argc, char** argv) { return deconfliction::Main(argc, argv); }

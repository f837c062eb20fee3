// A whole federation for multi-process tests and benchmarks: a development
// PKI, the token key's custodians, a hub and agency nodes as separate
// processes on loopback (ports chosen by the kernel), and channels for their
// users.
#ifndef DECONFLICTION_TESTS_TEST_FEDERATION_H_
#define DECONFLICTION_TESTS_TEST_FEDERATION_H_

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "api/deconfliction/config/v1/config.pb.h"
#include "api/deconfliction/v1/deconfliction.grpc.pb.h"
#include "google/protobuf/text_format.h"
#include "identifiers/canonical.h"
#include "security/identity.h"
#include "security/tls.h"
#include "tests/child_process.h"
#include "tests/test_custodians.h"
#include "tests/test_pki.h"

#ifndef DECONFLICTION_NODE_BINARY
#define DECONFLICTION_NODE_BINARY \
  "server/node/deconflict-node"  // Bazel runfiles
#endif
#ifndef DECONFLICTION_HUB_BINARY
#define DECONFLICTION_HUB_BINARY "server/hub/deconflict-hub"
#endif
#ifndef DECONFLICTION_CUSTODIAN_BINARY
#define DECONFLICTION_CUSTODIAN_BINARY "server/custodian/deconflict-custodian"
#endif

namespace deconfliction {

struct FederationOptions {
  std::string federation = "fed.test";
  std::vector<std::string> agencies = {"north", "south", "ccc"};
  // The coordination centre's own agency (one of `agencies`).
  std::string centre = "ccc";
  std::vector<config::v1::QueryCap> caps;
  uint32_t node_timeout_ms = 1500;
  uint32_t alert_delivery_delay_ms = 0;
  // Identifiers on the hub's list of common identifiers (tokenized by the
  // centre's node, with the custodians, into run/common.tokens at Start).
  std::vector<v1::Identifier> common_identifiers;
  // The token key's custodians, any `threshold` of them making a token.
  std::vector<std::string> custodians = {"alpha", "beta", "gamma"};
  int threshold = 2;
  // The nodes' token cache (token_key.cache_entries); 0: the default.
  uint32_t token_cache_entries = 0;
};

class TestFederation {
 public:
  TestFederation(std::string dir, FederationOptions options)
      : dir_(std::move(dir)),
        options_(std::move(options)),
        pki_(dir_ + "/pki", options_.federation),
        custodians_(&pki_, options_.agencies, options_.custodians,
                    options_.threshold) {}

  // Makes the PKI, the token key and configurations, and starts the
  // custodians, the hub and every node. False (with the reason on stderr)
  // if anything fails.
  bool Start() {
    if (!pki_.ok() || !pki_.Hub() || !custodians_.Make()) return Fail("PKI");
    for (const std::string& agency : options_.agencies) {
      if (!pki_.Node(agency) || !pki_.User(agency, "analyst")) {
        return Fail("PKI for " + agency);
      }
      ports_[agency] = std::make_unique<ReservedPort>();
    }
    hub_port_ = std::make_unique<ReservedPort>();
    std::filesystem::create_directories(dir_ + "/run");
    for (const std::string& name : options_.custodians) {
      ports_["custodian-" + name] = std::make_unique<ReservedPort>();
      custodians_.SetAddress(name, CustodianAddress(name));
      if (!WriteCustodianConfig(name) || !StartCustodian(name)) return false;
    }
    for (const std::string& agency : options_.agencies) {
      if (!WriteNodeConfig(agency)) return Fail("node config");
    }
    if (!WriteCommonTokens()) return Fail("common identifiers");
    if (!WriteHubConfig()) return Fail("hub config");
    if (!StartHub()) return false;
    for (const std::string& agency : options_.agencies) {
      if (!StartNode(agency)) return false;
    }
    return true;
  }

  // Joins `agency` to the running federation as docs/operations.md says:
  // its certificates and its node's configuration, then the custodians'
  // and the hub's configurations listing it, each put in force with SIGHUP
  // (no restart), then its node started. False (with the reason on
  // stderr) if any step fails.
  bool Join(const std::string& agency) {
    if (!pki_.Node(agency) || !pki_.User(agency, "analyst")) {
      return Fail("PKI for " + agency);
    }
    ports_[agency] = std::make_unique<ReservedPort>();
    options_.agencies.push_back(agency);
    custodians_.AddAgency(agency);
    if (!WriteNodeConfig(agency)) return Fail("node config");
    for (const std::string& name : options_.custodians) {
      if (!WriteCustodianConfig(name) ||
          !absl::StrContains(Reload(custodian(name), "custodian-" + name),
                             "configuration reloaded")) {
        return Fail("reload of custodian " + name);
      }
    }
    if (!WriteHubConfig() ||
        !absl::StrContains(Reload(hub_, "hub"), "configuration reloaded")) {
      return Fail("reload of the hub");
    }
    return StartNode(agency);
  }

  // The port of the metrics listener of `process` (whose log is
  // `name`.log), as its start line announced it last; 0 if none did.
  int MetricsPort(const std::string& name) const {
    const std::string kAnnounced = "metrics on http://127.0.0.1:";
    const std::string log = Log(name);
    const size_t at = log.rfind(kAnnounced);
    if (at == std::string::npos) return 0;
    return std::atoi(log.c_str() + at + kAnnounced.size());
  }

  // Sends SIGHUP to `process` (whose log is `name`.log) and returns the
  // line in which it says what it did with its configuration ("...
  // configuration reloaded: ..." or "... configuration refused ..."), or ""
  // when it said nothing within 10 s.
  std::string Reload(ChildProcess& process, const std::string& name) {
    constexpr absl::string_view kOutcome = "SIGHUP: configuration ";
    auto outcomes = [&] {
      std::vector<std::string> lines;
      for (absl::string_view line : absl::StrSplit(Log(name), '\n')) {
        if (absl::StrContains(line, kOutcome)) lines.emplace_back(line);
      }
      return lines;
    };
    const size_t before = outcomes().size();
    process.Signal(SIGHUP);
    for (int i = 0; i < 200; ++i) {
      std::vector<std::string> now = outcomes();
      if (now.size() > before) return now.back();
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return "";
  }

  bool StartCustodian(const std::string& name) {
    const std::string process = "custodian-" + name;
    const std::string port_file = dir_ + "/run/" + process + ".port";
    std::filesystem::remove(port_file);
    custodian_processes_[name] = std::make_unique<ChildProcess>();
    custodian_processes_[name]->Start(
        {DECONFLICTION_CUSTODIAN_BINARY,
         "--config=" + dir_ + "/" + process + ".textproto",
         "--shutdown_grace=1s"},
        dir_ + "/" + process + ".log");
    return WaitFor(port_file, process, custodian_processes_[name].get());
  }
  ChildProcess& custodian(const std::string& name) {
    return *custodian_processes_[name];
  }
  std::string CustodianAddress(const std::string& name) const {
    return ports_.at("custodian-" + name)->address();
  }

  bool StartHub() {
    std::filesystem::remove(dir_ + "/run/hub.port");
    hub_.Start({DECONFLICTION_HUB_BINARY, "--config=" + dir_ + "/hub.textproto",
                "--shutdown_grace=1s"},
               dir_ + "/hub.log");
    return WaitFor(dir_ + "/run/hub.port", "hub", &hub_);
  }
  bool StartNode(const std::string& agency) {
    const std::string port_file = dir_ + "/run/" + agency + ".port";
    std::filesystem::remove(port_file);
    nodes_[agency] = std::make_unique<ChildProcess>();
    nodes_[agency]->Start({DECONFLICTION_NODE_BINARY,
                           "--config=" + dir_ + "/" + agency + ".textproto",
                           "--shutdown_grace=1s"},
                          dir_ + "/" + agency + ".log");
    return WaitFor(port_file, agency, nodes_[agency].get());
  }
  ChildProcess& node(const std::string& agency) { return *nodes_[agency]; }
  ChildProcess& hub() { return hub_; }

  std::string NodeAddress(const std::string& agency) const {
    return ports_.at(agency)->address();
  }
  std::string HubAddress() const { return hub_port_->address(); }
  std::string NodeDataDir(const std::string& agency) const {
    return dir_ + "/data/" + agency;
  }
  std::string HubDataDir() const { return dir_ + "/data/hub"; }
  std::string Log(const std::string& process) const {
    std::ifstream in(dir_ + "/" + process + ".log");
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
  TestPki& pki() { return pki_; }
  const FederationOptions& options() const { return options_; }

  // A channel to `address` presenting `cert_name`, accepting only
  // `expected_server_id`.
  std::shared_ptr<grpc::Channel> Channel(const std::string& address,
                                         const std::string& cert_name,
                                         const std::string& expected_id) {
    auto credentials =
        MutualTlsChannelCredentials(pki_.Files(cert_name), "tls", expected_id);
    if (!credentials.ok()) return nullptr;
    return grpc::CreateChannel(address, *credentials);
  }
  // A CLI profile for the agency's analyst; returns its path.
  std::string WriteProfile(const std::string& agency) {
    config::v1::ClientProfile profile;
    profile.set_node_address(NodeAddress(agency));
    profile.set_federation(options_.federation);
    profile.set_agency_id(agency);
    *profile.mutable_tls() = pki_.Files("user-" + agency + "-analyst");
    std::string path = dir_ + "/" + agency + ".profile";
    WriteText(path, profile);
    return path;
  }

  // Where its files are (configurations, logs, run/).
  const std::string& dir() const { return dir_; }

  // The agency's analyst, connected to the agency's own node.
  std::shared_ptr<grpc::Channel> UserChannel(const std::string& agency) {
    return Channel(NodeAddress(agency), "user-" + agency + "-analyst",
                   NodeSpiffeId(options_.federation, agency));
  }
  // The agency's case, as its analyst reads it (within 2 s).
  grpc::Status GetCase(const std::string& agency, const std::string& case_ref,
                       v1::Case* found) {
    v1::GetCaseRequest request;
    request.set_case_ref(case_ref);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(2));
    return v1::Registry::NewStub(UserChannel(agency))
        ->GetCase(&context, request, found);
  }

 private:
  bool Fail(const std::string& what) {
    fprintf(stderr, "test federation: %s failed\n", what.c_str());
    return false;
  }

  // Waits (up to 15 s) for a started process to announce its port.
  bool WaitFor(const std::string& port_file, const std::string& name,
               ChildProcess* process) {
    for (int i = 0; i < 300 && !process->Exited(); ++i) {
      if (std::filesystem::exists(port_file)) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return Fail(name + " start (see " + dir_ + "/" + name + ".log):\n" +
                Log(name));
  }

  bool WriteText(const std::string& path,
                 const google::protobuf::Message& message) {
    std::string text;
    google::protobuf::TextFormat::PrintToString(message, &text);
    std::ofstream out(path);
    out << text;
    return out.good();
  }

  std::string CommonTokensFile() const { return dir_ + "/run/common.tokens"; }

  // The centre's node tokenizes the common identifiers, as in production.
  bool WriteCommonTokens() {
    if (options_.common_identifiers.empty()) return true;
    const std::string csv = dir_ + "/run/common.csv";
    {
      std::ofstream out(csv);
      for (const v1::Identifier& identifier : options_.common_identifiers) {
        out << absl::AsciiStrToLower(IdentifierTypeName(identifier.type()))
            << "," << identifier.value() << "\n";
      }
      if (!out.good()) return false;
    }
    const std::string command =
        absl::StrCat(DECONFLICTION_NODE_BINARY, " --config=", dir_, "/",
                     options_.centre, ".textproto --tokenize_csv=", csv, " > ",
                     CommonTokensFile(), " 2>> ", dir_, "/tokenize.log");
    if (std::system(command.c_str()) == 0) return true;
    std::ifstream log(dir_ + "/tokenize.log");
    std::cerr << "test federation: tokenize_csv said: " << log.rdbuf() << "\n";
    return false;
  }

  bool WriteCustodianConfig(const std::string& name) {
    config::v1::CustodianConfig config = custodians_.Config(
        name, CustodianAddress(name), dir_ + "/data/custodian-" + name);
    config.set_port_file(dir_ + "/run/custodian-" + name + ".port");
    config.mutable_metrics()->set_listen_address("127.0.0.1:0");
    return WriteText(dir_ + "/custodian-" + name + ".textproto", config);
  }

  bool WriteHubConfig() {
    config::v1::HubConfig config;
    config.set_federation(options_.federation);
    config.set_listen_address(HubAddress());
    config.set_port_file(dir_ + "/run/hub.port");
    *config.mutable_tls() = pki_.Files("hub", /*with_crl=*/true);
    config.set_data_dir(HubDataDir());
    config.mutable_metrics()->set_listen_address("127.0.0.1:0");
    for (const std::string& agency : options_.agencies) {
      config::v1::FederationNode* node = config.add_nodes();
      node->set_agency_id(agency);
      node->set_address(NodeAddress(agency));
    }
    config::v1::SharingPolicy* policy = config.mutable_policy();
    for (const auto& cap : options_.caps) *policy->add_caps() = cap;
    if (!options_.common_identifiers.empty()) {
      policy->set_common_identifiers_file(CommonTokensFile());
    }
    policy->set_coordination_centre_agency_id(options_.centre);
    policy->mutable_coordination_centre_contact()->set_name(
        "Coordination centre duty desk");
    policy->mutable_coordination_centre_contact()->set_phone("+16135550000");
    config.mutable_limits()->set_node_timeout_ms(options_.node_timeout_ms);
    config.mutable_limits()->set_alert_delivery_delay_ms(
        options_.alert_delivery_delay_ms);
    return WriteText(dir_ + "/hub.textproto", config);
  }

  bool WriteNodeConfig(const std::string& agency) {
    config::v1::NodeConfig config;
    config.set_federation(options_.federation);
    config.set_agency_id(agency);
    config.set_listen_address(NodeAddress(agency));
    config.set_port_file(dir_ + "/run/" + agency + ".port");
    *config.mutable_tls() = pki_.Files("node-" + agency, /*with_crl=*/true);
    config.set_data_dir(NodeDataDir(agency));
    *config.mutable_token_key() = custodians_.Connection();
    if (options_.token_cache_entries > 0) {
      config.mutable_token_key()->set_cache_entries(
          options_.token_cache_entries);
    }
    config.set_default_region("CA");
    config.mutable_metrics()->set_listen_address("127.0.0.1:0");
    config.mutable_hub()->set_address(HubAddress());
    config.mutable_hub()->set_timeout_ms(options_.node_timeout_ms + 1500);
    return WriteText(dir_ + "/" + agency + ".textproto", config);
  }

  std::string dir_;
  FederationOptions options_;
  TestPki pki_;
  TestCustodians custodians_;
  std::map<std::string, std::unique_ptr<ReservedPort>> ports_;
  std::unique_ptr<ReservedPort> hub_port_;
  ChildProcess hub_;
  std::map<std::string, std::unique_ptr<ChildProcess>> nodes_;
  std::map<std::string, std::unique_ptr<ChildProcess>> custodian_processes_;
};

}  // namespace deconfliction

#endif  // DECONFLICTION_TESTS_TEST_FEDERATION_H_

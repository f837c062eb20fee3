// The token key's custodians for tests: their certificates from a TestPki,
// a token key from the development PKI script's ceremony (deconflict-keys),
// and custodian servers, in this process on port 0 (Start) or as
// deconflict-custodian processes from Config().
#ifndef DECONFLICTION_TESTS_TEST_CUSTODIANS_H_
#define DECONFLICTION_TESTS_TEST_CUSTODIANS_H_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "api/deconfliction/config/v1/config.pb.h"
#include "server/custodian/custodian_config.h"
#include "server/custodian/custodian_server.h"
#include "tests/test_pki.h"

namespace deconfliction {

class TestCustodians {
 public:
  // The token key's epoch.
  static constexpr char kEpoch[] = "test-epoch";

  // Custodians `names` for the nodes of `agencies`, any `threshold` of them
  // making a token.
  TestCustodians(TestPki* pki, std::vector<std::string> agencies,
                 std::vector<std::string> names = {"alpha", "beta", "gamma"},
                 int threshold = 2)
      : pki_(pki),
        agencies_(std::move(agencies)),
        names_(std::move(names)),
        threshold_(threshold) {}

  // Certificates and the key ceremony; false if the script failed.
  bool Make() {
    for (const std::string& name : names_) {
      if (!pki_->Custodian(name)) return false;
    }
    return pki_->TokenKey(kEpoch, threshold_, absl::StrJoin(names_, " "));
  }

  const std::vector<std::string>& names() const { return names_; }
  // An agency joining: its node may ask the custodians from their next
  // Config().
  void AddAgency(const std::string& agency) { agencies_.push_back(agency); }
  std::string BundleFile() const {
    return pki_->TokenKeyDir() + "/token-key-bundle.textproto";
  }

  // The custodian's configuration, validated.
  config::v1::CustodianConfig Config(const std::string& name,
                                     const std::string& listen_address,
                                     const std::string& data_dir) const {
    config::v1::CustodianConfig config;
    config.set_federation(pki_->federation());
    config.set_name(name);
    config.set_listen_address(listen_address);
    *config.mutable_tls() = pki_->Files("custodian-" + name, /*with_crl=*/true);
    config.set_data_dir(data_dir);
    config.set_share_file(
        absl::StrCat(pki_->TokenKeyDir(), "/", name, ".share.textproto"));
    for (const std::string& agency : agencies_) config.add_agencies(agency);
    ValidateCustodianConfig(&config).IgnoreError();
    return config;
  }

  // Starts every custodian in this process, on loopback port 0, with its
  // data under `data_dir`. False (with the reason on stderr) on failure.
  bool Start(const std::string& data_dir) {
    for (const std::string& name : names_) {
      auto server = CustodianServer::Start(
          Config(name, "127.0.0.1:0", absl::StrCat(data_dir, "/", name)));
      if (!server.ok()) {
        fprintf(stderr, "custodian %s: %s\n", name.c_str(),
                server.status().ToString().c_str());
        return false;
      }
      addresses_[name] = absl::StrCat("127.0.0.1:", (*server)->port());
      servers_[name] = *std::move(server);
    }
    return true;
  }
  // Stops an in-process custodian: its port refuses connections.
  void Stop(const std::string& name) {
    servers_.at(name)->Shutdown(absl::ZeroDuration());
  }
  std::string Address(const std::string& name) const {
    return addresses_.at(name);
  }
  void SetAddress(const std::string& name, const std::string& address) {
    addresses_[name] = address;
  }

  // A node's token_key section for these custodians at their addresses.
  config::v1::TokenKeyConnection Connection() const {
    config::v1::TokenKeyConnection connection;
    connection.set_bundle_file(BundleFile());
    for (const std::string& name : names_) {
      config::v1::CustodianAddress* custodian = connection.add_custodians();
      custodian->set_name(name);
      custodian->set_address(addresses_.at(name));
    }
    return connection;
  }

 private:
  TestPki* const pki_;
  std::vector<std::string> agencies_;
  const std::vector<std::string> names_;
  const int threshold_;
  std::map<std::string, std::string> addresses_;
  std::map<std::string, std::unique_ptr<CustodianServer>> servers_;
};

}  // namespace deconfliction

#endif  // DECONFLICTION_TESTS_TEST_CUSTODIANS_H_

// A node configuration for tests: loopback, port 0, certificates from a
// TestPki, data in the test's own directory, tokens from TestCustodians.
#ifndef DECONFLICTION_TESTS_TEST_NODE_H_
#define DECONFLICTION_TESTS_TEST_NODE_H_

#include <string>

#include "api/deconfliction/config/v1/config.pb.h"
#include "server/node/node_config.h"
#include "tests/test_custodians.h"
#include "tests/test_pki.h"

namespace deconfliction {

// The PKI must hold node-<agency> and a CRL; the custodians must be
// started. Returns a validated config.
inline config::v1::NodeConfig TestNodeConfig(TestPki& pki,
                                             const std::string& federation,
                                             const std::string& agency,
                                             const std::string& dir,
                                             const TestCustodians& custodians) {
  config::v1::NodeConfig config;
  config.set_federation(federation);
  config.set_agency_id(agency);
  config.set_listen_address("127.0.0.1:0");
  *config.mutable_tls() = pki.Files("node-" + agency, /*with_crl=*/true);
  config.set_data_dir(dir + "/" + agency);
  *config.mutable_token_key() = custodians.Connection();
  config.set_default_region("CA");
  ValidateNodeConfig(&config).IgnoreError();
  return config;
}

}  // namespace deconfliction

#endif  // DECONFLICTION_TESTS_TEST_NODE_H_

// A node configuration for tests: loopback, port 0, certificates from a
// TestPki, data and federation key in the test's own directory.
#ifndef DECONFLICTION_TESTS_TEST_NODE_H_
#define DECONFLICTION_TESTS_TEST_NODE_H_

#include <string>

#include "api/deconfliction/config/v1/config.pb.h"
#include "server/node/node_config.h"
#include "tests/test_pki.h"

namespace deconfliction {

// The PKI must hold node-<agency> and a CRL. Returns a validated config;
// `federation_key` is created if missing.
inline config::v1::NodeConfig TestNodeConfig(
    TestPki& pki, const std::string& federation, const std::string& agency,
    const std::string& dir, const std::string& federation_key) {
  config::v1::NodeConfig config;
  config.set_federation(federation);
  config.set_agency_id(agency);
  config.set_listen_address("127.0.0.1:0");
  *config.mutable_tls() = pki.Files("node-" + agency, /*with_crl=*/true);
  config.set_data_dir(dir + "/" + agency);
  config.set_federation_key_file(federation_key);
  config.set_default_region("CA");
  if (!pki.FederationKeyExists(federation_key)) {
    pki.FederationKey(federation_key);
  }
  ValidateNodeConfig(&config).IgnoreError();
  return config;
}

}  // namespace deconfliction

#endif  // DECONFLICTION_TESTS_TEST_NODE_H_

// The token key's files (api/deconfliction/keys/v1/keys.proto, text format):
// the public bundle every node holds, and each custodian's secret share.
// Reading checks every field, so a server refuses at start what it could not
// use: INVALID_ARGUMENT naming the file and the field.
#ifndef DECONFLICTION_TOKEN_KEY_KEY_FILES_H_
#define DECONFLICTION_TOKEN_KEY_KEY_FILES_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "api/deconfliction/keys/v1/keys.pb.h"
#include "oprf/threshold.h"

namespace deconfliction {

// The only suite: RFC 9497 VOPRF, ristretto255-SHA512, the key Shamir-shared.
inline constexpr char kTokenKeySuite[] = "OPRFV1-ristretto255-SHA512-threshold";

// Checks a bundle: the suite, a non-empty epoch, 2 <= threshold <= n <= 255
// custodians with distinct valid names, indices 1..n each once, and public
// shares that are valid elements.
absl::Status ValidateBundle(const keys::v1::TokenKeyBundle& bundle);
absl::StatusOr<keys::v1::TokenKeyBundle> LoadBundle(const std::string& path);

// Reads a share. FAILED_PRECONDITION when the file is not a regular file or
// is readable or writable by anyone but its owner (it must be 0600 or
// 0400); INVALID_ARGUMENT for a bad field.
absl::StatusOr<keys::v1::KeyShareFile> LoadShare(const std::string& path);

// The public bundle of `shares` (the ceremony's or a refresh's), custodian
// i named names[i]; checked with ValidateBundle.
absl::StatusOr<keys::v1::TokenKeyBundle> BundleFor(
    const std::vector<std::string>& names,
    const std::vector<oprf::KeyShare>& shares, const std::string& epoch,
    int threshold, uint32_t generation);

// The share file of `custodian` (one of `bundle`'s), holding `share`. The
// caller wipes its secret (oprf::Wipe) once written.
keys::v1::KeyShareFile ShareFileFor(const keys::v1::TokenKeyBundle& bundle,
                                    const keys::v1::CustodianKey& custodian,
                                    const oprf::KeyShare& share);

}  // namespace deconfliction

#endif  // DECONFLICTION_TOKEN_KEY_KEY_FILES_H_

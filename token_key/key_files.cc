#include "token_key/key_files.h"

#include <set>

#include "absl/strings/str_cat.h"
#include "base/key_file.h"
#include "config/text_proto.h"
#include "oprf/group.h"
#include "oprf/threshold.h"
#include "security/identity.h"

namespace deconfliction {
namespace {

absl::Status InFile(const std::string& path, const absl::Status& status) {
  if (status.ok()) return status;
  return absl::Status(status.code(),
                      absl::StrCat(path, ": ", status.message()));
}

absl::Status CheckCommon(absl::string_view suite, absl::string_view epoch,
                         uint32_t threshold, uint32_t shares) {
  if (suite != kTokenKeySuite) {
    return absl::InvalidArgumentError(
        absl::StrCat("suite: expected \"", kTokenKeySuite, "\""));
  }
  if (epoch.empty() || epoch.size() > 64) {
    return absl::InvalidArgumentError("epoch: 1 to 64 characters required");
  }
  if (threshold < 2 || threshold > shares ||
      shares > static_cast<uint32_t>(oprf::kMaxShares)) {
    return absl::InvalidArgumentError(
        absl::StrCat("threshold: ", threshold, " of ", shares,
                     " custodians; need 2 <= threshold <= custodians <= ",
                     oprf::kMaxShares));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateBundle(const keys::v1::TokenKeyBundle& bundle) {
  if (absl::Status s =
          CheckCommon(bundle.suite(), bundle.epoch(), bundle.threshold(),
                      static_cast<uint32_t>(bundle.custodians_size()));
      !s.ok()) {
    return s;
  }
  std::set<std::string> names;
  std::set<uint32_t> indices;
  for (int i = 0; i < bundle.custodians_size(); ++i) {
    const keys::v1::CustodianKey& custodian = bundle.custodians(i);
    const std::string field = absl::StrCat("custodians[", i, "]");
    if (absl::Status s = ValidateAgencyId(custodian.name(), field + ".name");
        !s.ok()) {
      return s;
    }
    if (!names.insert(custodian.name()).second) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ".name: listed twice"));
    }
    if (custodian.index() < 1 ||
        custodian.index() > static_cast<uint32_t>(bundle.custodians_size()) ||
        !indices.insert(custodian.index()).second) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ".index: must be 1 to ", bundle.custodians_size(),
                       ", each once"));
    }
    if (absl::Status s = oprf::DeserializeElement(custodian.public_share(),
                                                  field + ".public_share")
                             .status();
        !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<keys::v1::TokenKeyBundle> LoadBundle(const std::string& path) {
  keys::v1::TokenKeyBundle bundle;
  if (absl::Status s = LoadTextProto(path, &bundle); !s.ok()) return s;
  if (absl::Status s = InFile(path, ValidateBundle(bundle)); !s.ok()) return s;
  return bundle;
}

absl::StatusOr<keys::v1::KeyShareFile> LoadShare(const std::string& path) {
  if (absl::Status s = CheckOwnerOnly(path, "a key share"); !s.ok()) return s;
  keys::v1::KeyShareFile share;
  if (absl::Status s = LoadTextProto(path, &share); !s.ok()) return s;
  absl::Status valid = CheckCommon(share.suite(), share.epoch(),
                                   share.threshold(), share.shares());
  if (valid.ok() && (share.index() < 1 || share.index() > share.shares())) {
    valid = absl::InvalidArgumentError(
        absl::StrCat("index: must be 1 to ", share.shares()));
  }
  if (valid.ok()) valid = ValidateAgencyId(share.custodian(), "custodian");
  if (valid.ok()) {
    absl::StatusOr<oprf::Scalar> secret =
        oprf::DeserializeScalar(share.secret(), "secret");
    valid = secret.ok() && oprf::IsZero(*secret)
                ? absl::InvalidArgumentError("secret: zero")
                : secret.status();
  }
  if (absl::Status s = InFile(path, valid); !s.ok()) return s;
  return share;
}

absl::StatusOr<keys::v1::TokenKeyBundle> BundleFor(
    const std::vector<std::string>& names,
    const std::vector<oprf::KeyShare>& shares, const std::string& epoch,
    int threshold, uint32_t generation) {
  keys::v1::TokenKeyBundle bundle;
  bundle.set_suite(kTokenKeySuite);
  bundle.set_epoch(epoch);
  bundle.set_threshold(static_cast<uint32_t>(threshold));
  bundle.set_generation(generation);
  for (size_t i = 0; i < shares.size(); ++i) {
    absl::StatusOr<oprf::Element> public_share =
        oprf::ScalarMultGen(shares[i].secret.get());
    if (!public_share.ok()) return public_share.status();
    keys::v1::CustodianKey* custodian = bundle.add_custodians();
    custodian->set_name(names[i]);
    custodian->set_index(shares[i].index);
    custodian->set_public_share(oprf::Serialize(*public_share));
  }
  if (absl::Status s = ValidateBundle(bundle); !s.ok()) return s;
  return bundle;
}

keys::v1::KeyShareFile ShareFileFor(const keys::v1::TokenKeyBundle& bundle,
                                    const keys::v1::CustodianKey& custodian,
                                    const oprf::KeyShare& share) {
  keys::v1::KeyShareFile file;
  file.set_suite(bundle.suite());
  file.set_epoch(bundle.epoch());
  file.set_threshold(bundle.threshold());
  file.set_shares(static_cast<uint32_t>(bundle.custodians_size()));
  file.set_custodian(custodian.name());
  file.set_index(custodian.index());
  file.set_generation(bundle.generation());
  file.set_secret(oprf::SerializeScalar(share.secret.get()));
  return file;
}

}  // namespace deconfliction

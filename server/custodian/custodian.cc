#include "server/custodian/custodian.h"

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "api/timestamps.h"
#include "oprf/voprf.h"

namespace deconfliction {

absl::StatusOr<std::unique_ptr<Custodian>> Custodian::Create(
    const config::v1::CustodianConfig* config,
    const keys::v1::KeyShareFile& share, QueryCaps* caps, AuditLog* audit,
    MetricsRegistry* metrics, Clock clock) {
  if (absl::Status s = oprf::Init(); !s.ok()) return s;
  absl::StatusOr<oprf::Scalar> secret =
      oprf::DeserializeScalar(share.secret(), "share.secret");
  if (!secret.ok()) return secret.status();
  oprf::SecretScalar wiped(*secret);
  oprf::Wipe(&*secret);
  absl::StatusOr<oprf::Element> public_share = oprf::ScalarMultGen(wiped.get());
  if (!public_share.ok()) return public_share.status();
  return std::unique_ptr<Custodian>(new Custodian(
      config, share, wiped, *public_share, caps, audit,
      metrics->AddCounterFamily(
          "deconfliction_custodian_evaluated_elements_total",
          "Blinded elements agencies' nodes asked this custodian to "
          "evaluate, by agency and the call's gRPC status code (OK: "
          "evaluated, with a proof).",
          {"agency", "code"}),
      std::move(clock)));
}

Custodian::Custodian(const config::v1::CustodianConfig* config,
                     const keys::v1::KeyShareFile& share,
                     const oprf::SecretScalar& secret,
                     oprf::Element public_share, QueryCaps* caps,
                     AuditLog* audit, CounterFamily* evaluated, Clock clock)
    : config_(config),
      epoch_(share.epoch()),
      index_(share.index()),
      generation_(share.generation()),
      secret_(secret),
      public_share_(public_share),
      caps_(caps),
      audit_(audit),
      evaluated_(evaluated),
      clock_(std::move(clock)) {
  generator_ = *oprf::ScalarMultGen(oprf::ScalarFromInt(1));
}

absl::StatusOr<v1::EvaluateResponse> Custodian::Evaluate(
    const v1::EvaluateRequest& request, const FederationIdentity& caller) {
  absl::StatusOr<v1::EvaluateResponse> answer = Answer(request, caller);
  storage::v1::AuditRecord record;
  *record.mutable_at() = ToTimestamp(clock_());
  record.set_caller(caller.uri);
  record.set_operation("/deconfliction.v1.TokenIssuer/Evaluate");
  record.set_tokens(static_cast<uint32_t>(request.blinded_elements_size()));
  record.set_code(static_cast<int32_t>(answer.status().code()));
  // No evaluation leaves the custodian unaudited.
  absl::Status audited = audit_->Append(std::move(record));
  const absl::Status& outcome = audited.ok() ? answer.status() : audited;
  evaluated_
      ->WithLabels({caller.agency_id, absl::StatusCodeToString(outcome.code())})
      .Increment(static_cast<uint64_t>(request.blinded_elements_size()));
  if (!audited.ok()) return audited;
  return answer;
}

absl::StatusOr<v1::EvaluateResponse> Custodian::Answer(
    const v1::EvaluateRequest& request, const FederationIdentity& caller) {
  if (request.epoch() != epoch_) {
    return absl::FailedPreconditionError(absl::StrCat(
        "epoch: this custodian holds a share of epoch \"", epoch_,
        "\"; the request is for another (check the node's token-key "
        "bundle)"));
  }
  const uint32_t limit = config_->limits().max_elements_per_request();
  const int count = request.blinded_elements_size();
  if (count == 0) {
    return absl::InvalidArgumentError(
        "blinded_elements: at least one is required");
  }
  if (static_cast<uint32_t>(count) > limit) {
    return absl::InvalidArgumentError(absl::StrCat(
        "blinded_elements: ", count, " exceeds the limit of ", limit));
  }
  std::vector<oprf::Element> blinded;
  blinded.reserve(count);
  for (int i = 0; i < count; ++i) {
    absl::StatusOr<oprf::Element> element = oprf::DeserializeElement(
        request.blinded_elements(i), absl::StrCat("blinded_elements[", i, "]"));
    if (!element.ok()) return element.status();
    blinded.push_back(*element);
  }
  if (absl::Status s = caps_->Admit(caller.agency_id, count, clock_());
      !s.ok()) {
    return s;
  }
  v1::EvaluateResponse response;
  response.set_epoch(epoch_);
  response.set_share_index(index_);
  response.set_generation(generation_);
  std::vector<oprf::Element> evaluated;
  evaluated.reserve(count);
  for (const oprf::Element& element : blinded) {
    absl::StatusOr<oprf::Element> product =
        oprf::BlindEvaluate(secret_.get(), element);
    if (!product.ok()) return product.status();
    evaluated.push_back(*product);
    response.add_evaluated_elements(oprf::Serialize(*product));
  }
  const oprf::SecretScalar nonce(oprf::RandomScalar());
  absl::StatusOr<oprf::Proof> proof =
      oprf::GenerateProof(oprf::Mode::kVoprf, secret_.get(), generator_,
                          public_share_, blinded, evaluated, nonce.get());
  if (!proof.ok()) return proof.status();
  response.set_proof(oprf::SerializeProof(*proof));
  return response;
}

}  // namespace deconfliction

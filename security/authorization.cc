#include "security/authorization.h"

#include <grpc/grpc_security_constants.h>

#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "base/log.h"
#include "google/protobuf/util/json_util.h"
#include "security/identity.h"
#include "security/revocation.h"
#include "security/tls.h"

namespace deconfliction {
namespace {

using Rule = config::v1::AuthorizationPolicy::Rule;

bool Matches(absl::string_view pattern, absl::string_view value) {
  if (absl::EndsWith(pattern, "*")) {
    return absl::StartsWith(value, pattern.substr(0, pattern.size() - 1));
  }
  return pattern == value;
}

template <typename Patterns>
bool AnyMatches(const Patterns& patterns, absl::string_view value) {
  for (const std::string& pattern : patterns) {
    if (Matches(pattern, value)) return true;
  }
  return false;
}

bool RuleMatches(const Rule& rule, absl::string_view principal,
                 absl::string_view path) {
  if (rule.has_source() &&
      (principal.empty() ||
       !AnyMatches(rule.source().principals(), principal))) {
    return false;
  }
  return !rule.has_request() || AnyMatches(rule.request().paths(), path);
}

absl::Status CheckPatterns(const Rule& rule) {
  for (const auto* patterns :
       {&rule.source().principals(), &rule.request().paths()}) {
    for (const std::string& pattern : *patterns) {
      size_t star = pattern.find('*');
      if (star != std::string::npos && star + 1 != pattern.size()) {
        return absl::InvalidArgumentError(
            absl::StrCat("rule ", rule.name(), ": '*' only at the end of \"",
                         pattern, "\""));
      }
    }
  }
  return absl::OkStatus();
}

class Enforcer final : public grpc::AuthMetadataProcessor {
 public:
  Enforcer(std::shared_ptr<const EnforcedPolicy> policy,
           std::shared_ptr<const RevocationList> revocations)
      : policy_(std::move(policy)), revocations_(std::move(revocations)) {}

  // Evaluation is a few string comparisons: run it inline on gRPC's thread.
  bool IsBlocking() const override { return false; }

  grpc::Status Process(const InputMetadata& metadata,
                       grpc::AuthContext* context, OutputMetadata* /*consumed*/,
                       OutputMetadata* /*response*/) override {
    auto path = metadata.find(":path");
    if (path == metadata.end()) {
      return grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                          "call without a method path");
    }
    absl::StatusOr<FederationIdentity> peer = PeerIdentity(*context);
    const absl::string_view method(path->second.data(), path->second.size());
    if (revocations_ != nullptr) {
      absl::Status revoked = CheckRevocation(*context);
      if (!revoked.ok()) {
        return Refused(grpc::StatusCode::UNAUTHENTICATED,
                       absl::StrCat(peer.ok() ? peer->uri : "the caller", ": ",
                                    revoked.message()),
                       peer, method);
      }
    }
    absl::Status allowed =
        policy_->Authorize(peer.ok() ? peer->uri : "", method);
    if (allowed.ok()) return grpc::Status::OK;
    return Refused(grpc::StatusCode::PERMISSION_DENIED,
                   std::string(allowed.message()), peer, method);
  }

 private:
  // The refusal, logged with who was refused (the calls refused here never
  // reach the server's call log).
  static grpc::Status Refused(grpc::StatusCode code, const std::string& reason,
                              const absl::StatusOr<FederationIdentity>& peer,
                              absl::string_view method) {
    LogWarning("authz", "call refused",
               {{"caller", peer.ok() ? peer->uri : "no federation identity"},
                {"method", std::string(method.substr(0, 200))},
                {"code",
                 absl::StatusCodeToString(static_cast<absl::StatusCode>(code))},
                {"reason", reason}});
    return grpc::Status(code, reason);
  }

  absl::Status CheckRevocation(const grpc::AuthContext& context) const {
    std::vector<grpc::string_ref> pem =
        context.FindPropertyValues(GRPC_X509_PEM_CERT_PROPERTY_NAME);
    if (pem.size() != 1) {
      return absl::UnauthenticatedError("no client certificate");
    }
    return revocations_->CheckCertificate(
        absl::string_view(pem[0].data(), pem[0].size()));
  }

  const std::shared_ptr<const EnforcedPolicy> policy_;
  const std::shared_ptr<const RevocationList> revocations_;
};

}  // namespace

std::string NodeAuthorizationPolicy(absl::string_view federation,
                                    absl::string_view agency_id) {
  // Federation and agency names are validated DNS-like tokens, so they need
  // no JSON escaping.
  const std::string users =
      absl::StrCat(UserSpiffeId(federation, agency_id, ""), "*");
  const std::string hub = HubSpiffeId(federation);
  const std::string anyone = absl::StrCat("spiffe://", federation, "/*");
  return absl::StrFormat(R"json({
  "name": "deconflict-node-%s",
  "allow_rules": [
    {
      "name": "own_agency_users",
      "source": {"principals": ["%s"]},
      "request": {"paths": [
        "/deconfliction.v1.Registry/*",
        "/deconfliction.v1.Deconfliction/*",
        "/deconfliction.v1.Alerts/*",
        "/grpc.reflection.v1alpha.ServerReflection/*"
      ]}
    },
    {
      "name": "hub",
      "source": {"principals": ["%s"]},
      "request": {"paths": ["/deconfliction.v1.NodeFederation/*"]}
    },
    {
      "name": "health",
      "source": {"principals": ["%s"]},
      "request": {"paths": ["/grpc.health.v1.Health/*"]}
    }
  ]
})json",
                         agency_id, users, hub, anyone);
}

namespace {

// Only `agencies`' nodes may call `service`'s methods and server
// reflection; anyone of the federation may check health.
std::string NodesOnlyPolicy(absl::string_view name,
                            absl::string_view federation,
                            absl::string_view service,
                            const std::vector<std::string>& agencies) {
  std::vector<std::string> nodes;
  nodes.reserve(agencies.size());
  for (const std::string& agency : agencies) {
    nodes.push_back(absl::StrCat("\"", NodeSpiffeId(federation, agency), "\""));
  }
  return absl::StrFormat(R"json({
  "name": "%s",
  "allow_rules": [
    {
      "name": "agency_nodes",
      "source": {"principals": [%s]},
      "request": {"paths": [
        "/%s/*",
        "/grpc.reflection.v1alpha.ServerReflection/*"
      ]}
    },
    {
      "name": "health",
      "source": {"principals": ["spiffe://%s/*"]},
      "request": {"paths": ["/grpc.health.v1.Health/*"]}
    }
  ]
})json",
                         name, absl::StrJoin(nodes, ", "), service, federation);
}

}  // namespace

std::string HubAuthorizationPolicy(absl::string_view federation,
                                   const std::vector<std::string>& agencies) {
  return NodesOnlyPolicy("deconflict-hub", federation, "deconfliction.v1.Hub",
                         agencies);
}

std::string CustodianAuthorizationPolicy(
    absl::string_view federation, absl::string_view custodian,
    const std::vector<std::string>& agencies) {
  return NodesOnlyPolicy(absl::StrCat("deconflict-custodian-", custodian),
                         federation, "deconfliction.v1.TokenIssuer", agencies);
}

absl::StatusOr<AuthorizationEngine> AuthorizationEngine::FromJson(
    absl::string_view json) {
  config::v1::AuthorizationPolicy policy;
  auto parsed = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(json.data(), json.size()), &policy);
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("authorization policy: ", parsed.message().as_string()));
  }
  if (policy.allow_rules().empty()) {
    return absl::InvalidArgumentError(
        "authorization policy: no allow_rules (it would deny everything)");
  }
  for (const auto* rules : {&policy.deny_rules(), &policy.allow_rules()}) {
    for (const Rule& rule : *rules) {
      if (absl::Status s = CheckPatterns(rule); !s.ok()) return s;
    }
  }
  return AuthorizationEngine(std::move(policy));
}

absl::Status AuthorizationEngine::Authorize(absl::string_view principal,
                                            absl::string_view path) const {
  auto denied = [&](absl::string_view why) {
    return absl::PermissionDeniedError(absl::StrCat(
        principal.empty() ? "caller without a federation identity" : principal,
        " may not call ", path, why));
  };
  for (const Rule& rule : policy_.deny_rules()) {
    if (RuleMatches(rule, principal, path)) {
      return denied(absl::StrCat(" (rule ", rule.name(), ")"));
    }
  }
  for (const Rule& rule : policy_.allow_rules()) {
    if (RuleMatches(rule, principal, path)) return absl::OkStatus();
  }
  return denied("");
}

absl::StatusOr<std::shared_ptr<EnforcedPolicy>> EnforcedPolicy::FromJson(
    absl::string_view json) {
  absl::StatusOr<AuthorizationEngine> engine =
      AuthorizationEngine::FromJson(json);
  if (!engine.ok()) return engine.status();
  return std::shared_ptr<EnforcedPolicy>(
      new EnforcedPolicy(*std::move(engine)));
}

absl::Status EnforcedPolicy::Replace(absl::string_view json) {
  absl::StatusOr<AuthorizationEngine> engine =
      AuthorizationEngine::FromJson(json);
  if (!engine.ok()) return engine.status();
  absl::MutexLock lock(&mu_);
  engine_ = *std::move(engine);
  return absl::OkStatus();
}

absl::Status EnforcedPolicy::Authorize(absl::string_view principal,
                                       absl::string_view path) const {
  absl::ReaderMutexLock lock(&mu_);
  return engine_.Authorize(principal, path);
}

std::shared_ptr<grpc::AuthMetadataProcessor> EnforceAuthorization(
    std::shared_ptr<const EnforcedPolicy> policy,
    std::shared_ptr<const RevocationList> revocations) {
  return std::make_shared<Enforcer>(std::move(policy), std::move(revocations));
}

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>>
FederationServerCredentials(const config::v1::TlsFiles& tls,
                            const std::string& own_id,
                            std::shared_ptr<const EnforcedPolicy> policy) {
  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> credentials =
      MutualTlsServerCredentials(tls, "tls");
  if (!credentials.ok()) return credentials.status();
  absl::StatusOr<std::string> cert_id = CertificateSpiffeId(tls.cert_file());
  if (!cert_id.ok()) return cert_id.status();
  if (*cert_id != own_id) {
    return absl::FailedPreconditionError(
        absl::StrCat("tls.cert_file: certificate names ", *cert_id,
                     " but this server is ", own_id));
  }
  absl::StatusOr<std::shared_ptr<RevocationList>> revocations =
      RevocationList::Watch(tls, "tls");
  if (!revocations.ok()) return revocations.status();
  (*credentials)
      ->SetAuthMetadataProcessor(
          EnforceAuthorization(std::move(policy), *std::move(revocations)));
  return credentials;
}

}  // namespace deconfliction

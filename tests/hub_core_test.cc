// The hub's gRPC-free core over fake node links: how a lookup's answers are
// merged, what a node that does not answer leaves behind, caps, and alert
// delivery in order with retry.
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rpc/work_queue.h"
#include "server/caps/query_caps.h"
#include "server/hub/alert_delivery.h"
#include "server/hub/coordinator.h"
#include "server/hub/match_alerts.h"
#include "server/hub/node_links.h"
#include "server/hub/sharing_policy.h"
#include "storage/alert_outbox.h"
#include "storage/audit_log.h"
#include "tests/temp_dir.h"

namespace deconfliction {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::SizeIs;

std::string Token(char fill) { return std::string(32, fill); }

// Node links that answer from tables, inline. A node without an answer
// fails with UNAVAILABLE.
class FakeNodes final : public NodeLinks {
 public:
  explicit FakeNodes(std::vector<std::string> agencies)
      : agencies_(std::move(agencies)) {}

  std::vector<std::string> agencies() const override { return agencies_; }
  void LookupTokens(const std::string& agency,
                    std::shared_ptr<const v1::TokenLookupRequest> request,
                    absl::Time, Done<v1::TokenLookupResponse> done) override {
    v1::TokenLookupResponse response;
    {
      absl::MutexLock lock(&mu_);
      if (down_.count(agency)) {
        return done(absl::UnavailableError("node down"));
      }
      for (const v1::TokenQuery& query : request->queries()) {
        v1::TokenAnswer* answer = response.add_answers();
        auto held = held_[agency].find(query.token());
        if (held != held_[agency].end()) *answer->add_hits() = held->second;
      }
    }
    done(std::move(response));
  }
  void DeliverAlerts(const std::string& agency,
                     v1::DeliverAlertsRequest request, absl::Time,
                     Done<v1::DeliverAlertsResponse> done) override {
    {
      absl::MutexLock lock(&mu_);
      if (down_.count(agency) || refusing_.count(agency)) {
        return done(absl::UnavailableError("node down"));
      }
      for (const v1::AlertDelivery& alert : request.alerts()) {
        if (rejected_[agency].count(alert.token())) {
          return done(absl::InvalidArgumentError("alerts[0].kind: unknown"));
        }
      }
      for (const v1::AlertDelivery& alert : request.alerts()) {
        delivered_[agency].push_back(alert.alert_id());
      }
    }
    done(v1::DeliverAlertsResponse());
  }

  void Hold(const std::string& agency, const std::string& token,
            const std::string& contact_name) {
    absl::MutexLock lock(&mu_);
    v1::TokenHit hit;
    hit.mutable_contact()->set_name(contact_name);
    hit.set_sharing(v1::SHARING_POINTER);
    held_[agency][token] = hit;
  }
  // `agency` answers `token` with `hit` as it is (a hostile node).
  void HoldAsIs(const std::string& agency, const std::string& token,
                const v1::TokenHit& hit) {
    absl::MutexLock lock(&mu_);
    held_[agency][token] = hit;
  }
  // `agency`'s node refuses every delivery holding an alert of `token`, as
  // a node refuses a malformed alert.
  void RejectAlertsOf(const std::string& agency, const std::string& token) {
    absl::MutexLock lock(&mu_);
    rejected_[agency].insert(token);
  }
  // A node that is down fails every call.
  void SetDown(const std::string& agency, bool down) {
    Mark(&down_, agency, down);
  }
  // `agency` answers lookups but fails deliveries (e.g. its alert log is
  // unwritable).
  void SetRefusingDeliveries(const std::string& agency, bool refusing) {
    Mark(&refusing_, agency, refusing);
  }
  // Waits up to 10 s until `agency` has been delivered `count` alerts.
  std::vector<std::string> AwaitDelivered(const std::string& agency,
                                          size_t count) {
    absl::MutexLock lock(&mu_);
    auto enough = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return delivered_[agency].size() >= count;
    };
    mu_.AwaitWithTimeout(absl::Condition(&enough), absl::Seconds(10));
    return delivered_[agency];
  }

 private:
  void Mark(std::set<std::string>* set, const std::string& agency, bool on) {
    absl::MutexLock lock(&mu_);
    if (on) {
      set->insert(agency);
    } else {
      set->erase(agency);
    }
  }

  const std::vector<std::string> agencies_;
  absl::Mutex mu_;
  std::map<std::string, std::map<std::string, v1::TokenHit>> held_
      ABSL_GUARDED_BY(mu_);
  std::set<std::string> down_ ABSL_GUARDED_BY(mu_);
  std::set<std::string> refusing_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::set<std::string>> rejected_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::vector<std::string>> delivered_
      ABSL_GUARDED_BY(mu_);
};

class HubCoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config_.set_federation("fed.test");
    for (const char* agency : {"north", "south", "ccc"}) {
      config_.add_nodes()->set_agency_id(agency);
    }
    config_.mutable_limits()->set_max_tokens_per_request(100);
    config_.mutable_limits()->set_node_timeout_ms(1000);
    auto* policy = config_.mutable_policy();
    policy->set_coordination_centre_agency_id("ccc");
    policy->mutable_coordination_centre_contact()->set_name("Duty desk");
    QueryCap* cap = policy->add_caps();
    cap->set_agency_id("north");
    cap->set_per_minute(5);
    const std::string common_file = dir_.path() + "/common";
    // As `deconflict-node --tokenize_csv` writes it: a comment after the
    // token.
    std::ofstream(common_file)
        << "# a common identifier\n"
        << absl::BytesToHexString(Token('c')) << "  # PHONE\n";
    auto common = CommonIdentifiers::Load(common_file);
    ASSERT_TRUE(common.ok()) << common.status();
    auto database = HubDatabase::Open(dir_.path() + "/hub");
    ASSERT_TRUE(database.ok()) << database.status();
    database_ = *std::move(database);
    caps_ = std::make_unique<QueryCaps>(config_.policy().caps());
    settings_ = std::make_unique<HubSettingsInForce>(
        HubSettings{config_, *std::move(common)});
    writes_ = std::make_unique<WorkQueue>(2, 64);
    delivery_ = std::make_unique<AlertDelivery>(
        settings_.get(), &database_->outbox(), &nodes_, writes_.get(),
        &metrics_, absl::Now);
    coordinator_ = std::make_unique<Coordinator>(
        settings_.get(), &nodes_, caps_.get(), database_.get(), writes_.get(),
        delivery_.get(), absl::Now);
  }

  absl::StatusOr<v1::FederatedLookupResponse> Lookup(
      const std::string& requester, const std::vector<std::string>& tokens,
      v1::LookupPurpose purpose = v1::LOOKUP_PURPOSE_CHECK) {
    v1::FederatedLookupRequest request;
    request.set_purpose(purpose);
    request.mutable_requester_contact()->set_name("Det. " + requester);
    for (const std::string& token : tokens) {
      request.add_queries()->set_token(token);
    }
    return Send(requester, request);
  }

  absl::StatusOr<v1::FederatedLookupResponse> Send(
      const std::string& requester, const v1::FederatedLookupRequest& request) {
    FederationIdentity caller;
    caller.agency_id = requester;
    caller.uri = "spiffe://fed.test/agency/" + requester + "/node";
    absl::Notification finished;
    absl::StatusOr<v1::FederatedLookupResponse> outcome;
    coordinator_->Lookup(request, caller, absl::Now() + absl::Seconds(5),
                         [&](absl::StatusOr<v1::FederatedLookupResponse> r) {
                           outcome = std::move(r);
                           finished.Notify();
                         });
    finished.WaitForNotification();
    return outcome;
  }

  // Whether `agency`'s outbox is empty within 10 s.
  bool OutboxEmptiesFor(const std::string& agency) {
    for (int i = 0; i < 200; ++i) {
      auto backlog = database_->outbox().BacklogFor(agency);
      if (backlog.ok() && backlog->alerts == 0 && backlog->rechecks == 0) {
        return true;
      }
      absl::SleepFor(absl::Milliseconds(50));
    }
    return false;
  }

  using QueryCap = config::v1::QueryCap;
  TempDir dir_;
  config::v1::HubConfig config_;
  FakeNodes nodes_{{"north", "south", "ccc"}};
  MetricsRegistry metrics_;
  std::unique_ptr<HubSettingsInForce> settings_;
  std::unique_ptr<HubDatabase> database_;
  std::unique_ptr<QueryCaps> caps_;
  std::unique_ptr<WorkQueue> writes_;
  std::unique_ptr<AlertDelivery> delivery_;
  std::unique_ptr<Coordinator> coordinator_;
};

TEST_F(HubCoreTest, MergesHitsByAnsweringAgencyAndAnswersCommonOnesItself) {
  nodes_.Hold("south", Token('a'), "Det. South");
  nodes_.Hold("south", Token('c'), "Det. South");  // common: never shown
  auto answer = Lookup("north", {Token('a'), Token('b'), Token('c')});
  ASSERT_TRUE(answer.ok()) << answer.status();
  ASSERT_THAT(answer->answers(), SizeIs(3));
  ASSERT_THAT(answer->answers(0).hits(), SizeIs(1));
  EXPECT_EQ(answer->answers(0).hits(0).agency_id(), "south");
  EXPECT_EQ(answer->answers(0).hits(0).contact().name(), "Det. South");
  EXPECT_THAT(answer->answers(1).hits(), SizeIs(0));
  EXPECT_TRUE(answer->answers(2).common());
  EXPECT_THAT(answer->answers(2).hits(), SizeIs(0));
  // The asker is not asked; everyone else answered.
  EXPECT_THAT(answer->answered(), ElementsAre("south", "ccc"));
  EXPECT_THAT(answer->unanswered(), SizeIs(0));
}

TEST_F(HubCoreTest, ANodeThatDoesNotAnswerIsNamedAndARegistrationRechecked) {
  nodes_.SetDown("ccc", true);
  auto answer = Lookup("north", {Token('d')}, v1::LOOKUP_PURPOSE_REGISTER);
  ASSERT_TRUE(answer.ok()) << answer.status();
  ASSERT_THAT(answer->unanswered(), SizeIs(1));
  EXPECT_EQ(answer->unanswered(0).agency_id(), "ccc");
  EXPECT_EQ(answer->unanswered(0).code(),
            static_cast<int32_t>(absl::StatusCode::kUnavailable));
  auto backlog = database_->outbox().BacklogFor("ccc");
  ASSERT_TRUE(backlog.ok());
  EXPECT_EQ(backlog->rechecks, 1u);
  // Back, ccc is asked again (and the recheck retired).
  nodes_.SetDown("ccc", false);
  delivery_->Notify("ccc");
  EXPECT_TRUE(OutboxEmptiesFor("ccc"));
}

TEST_F(HubCoreTest, AnAgencyOverItsCapIsRefusedWithNothingAsked) {
  auto allowed = Lookup("north", {Token('1'), Token('2'), Token('3')});
  ASSERT_TRUE(allowed.ok());
  auto refused = Lookup("north", {Token('4'), Token('5'), Token('6')});
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_TRUE(Lookup("south", {Token('4')}).ok());  // south has no cap
}

TEST_F(HubCoreTest, AMalformedTokenIsRefusedNamingTheField) {
  auto refused = Lookup("north", {"short"});
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(refused.status().message()),
              ::testing::HasSubstr("queries[0].token"));
}

TEST_F(HubCoreTest, ALookupIsCheckedWholeBeforeAnyNodeIsAsked) {
  v1::FederatedLookupRequest request;
  request.set_purpose(v1::LOOKUP_PURPOSE_REGISTER);
  request.mutable_requester_contact()->set_name(std::string(3 << 20, 'M'));
  request.add_queries()->set_token(Token('m'));
  auto refused = Send("south", request);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(refused.status().message()),
              ::testing::HasSubstr("requester_contact.name: longer than 512"));
  EXPECT_LT(refused.status().message().size(), 200u);

  request.mutable_requester_contact()->set_name("Det. South\a\a");
  EXPECT_THAT(std::string(Send("south", request).status().message()),
              ::testing::HasSubstr("requester_contact.name: control"));

  request.mutable_requester_contact()->set_name("Det. South");
  request.set_purpose(v1::LOOKUP_PURPOSE_UNSPECIFIED);
  EXPECT_THAT(std::string(Send("south", request).status().message()),
              ::testing::HasSubstr("purpose"));

  request.set_purpose(v1::LOOKUP_PURPOSE_CHECK);
  request.mutable_queries(0)->mutable_observed()->mutable_start()->set_seconds(
      -99999999999);
  EXPECT_THAT(std::string(Send("south", request).status().message()),
              ::testing::HasSubstr("queries[0].observed.start"));
  request.mutable_queries(0)->clear_observed();
  request.set_requester_sharing(v1::SHARING_SILENT);  // a check has none
  EXPECT_THAT(std::string(Send("south", request).status().message()),
              ::testing::HasSubstr("requester_sharing"));
  request.set_purpose(v1::LOOKUP_PURPOSE_REGISTER);
  request.set_requester_sharing(static_cast<v1::Sharing>(77));
  EXPECT_THAT(std::string(Send("south", request).status().message()),
              ::testing::HasSubstr("requester_sharing"));
  // Nothing was queued for anyone.
  EXPECT_EQ(database_->outbox().BacklogFor("north")->alerts, 0u);
}

TEST_F(HubCoreTest, AHostileNodesAnswerIsRefusedWholeAndNamed) {
  v1::TokenHit hostile;
  hostile.mutable_contact()->set_name("Det. X\x1b[2J\x1b[Hno hit");
  hostile.set_sharing(v1::SHARING_POINTER);
  nodes_.HoldAsIs("south", Token('h'), hostile);
  nodes_.Hold("ccc", Token('h'), "Det. Centre");
  auto answer = Lookup("north", {Token('h')}, v1::LOOKUP_PURPOSE_REGISTER);
  ASSERT_TRUE(answer.ok()) << answer.status();
  // ccc's hit stands; south's answer is refused and south named.
  ASSERT_THAT(answer->answers(0).hits(), SizeIs(1));
  EXPECT_EQ(answer->answers(0).hits(0).agency_id(), "ccc");
  ASSERT_THAT(answer->unanswered(), SizeIs(1));
  EXPECT_EQ(answer->unanswered(0).agency_id(), "south");
  EXPECT_THAT(answer->unanswered(0).message(), ::testing::HasSubstr("refused"));
  EXPECT_THAT(answer->unanswered(0).message(),
              ::testing::Not(::testing::HasSubstr("\x1b")));

  hostile.set_sharing(static_cast<v1::Sharing>(42));
  hostile.mutable_contact()->set_name("Det. X");
  nodes_.HoldAsIs("south", Token('h'), hostile);
  answer = Lookup("north", {Token('h')});
  ASSERT_TRUE(answer.ok()) << answer.status();
  ASSERT_THAT(answer->unanswered(), SizeIs(1));
  EXPECT_THAT(answer->unanswered(0).message(), ::testing::HasSubstr("sharing"));
}

TEST_F(HubCoreTest, AnAlertItsNodeKeepsRefusingIsSetAsideAndTheRestFlow) {
  nodes_.RejectAlertsOf("north", Token('y'));
  for (char token : {'x', 'y', 'z'}) {
    nodes_.Hold("north", Token(token), "Det. North");
    ASSERT_TRUE(
        Lookup("south", {Token(token)}, v1::LOOKUP_PURPOSE_REGISTER).ok());
  }
  // x and z reach north; y, refused every time, is set aside.
  std::vector<std::string> at_north = nodes_.AwaitDelivered("north", 2);
  EXPECT_THAT(at_north, SizeIs(2));
  EXPECT_TRUE(OutboxEmptiesFor("north"));
  auto backlog = database_->outbox().BacklogFor("north");
  ASSERT_TRUE(backlog.ok());
  EXPECT_EQ(backlog->set_aside, 1u);
  // The asking agency sees it in its delivery status.
  FederationIdentity north;
  north.agency_id = "north";
  north.uri = "spiffe://fed.test/agency/north/node";
  absl::Notification finished;
  absl::StatusOr<v1::DeliveryStatusResponse> status;
  coordinator_->DeliveryStatus(
      north, [&](absl::StatusOr<v1::DeliveryStatusResponse> r) {
        status = std::move(r);
        finished.Notify();
      });
  finished.WaitForNotification();
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_EQ(status->set_aside(), 1u);
  EXPECT_EQ(status->pending(), 0u);
}

TEST_F(HubCoreTest, AlertsReachBothSidesInOrderAndWaitForANodeThatFails) {
  nodes_.SetRefusingDeliveries("north", true);
  for (char token : {'x', 'y', 'z'}) {
    nodes_.Hold("north", Token(token), "Det. North");
    ASSERT_TRUE(
        Lookup("south", {Token(token)}, v1::LOOKUP_PURPOSE_REGISTER).ok());
  }
  // south (the registrant) gets its three at once; north's wait in the
  // outbox while its deliveries fail...
  EXPECT_THAT(nodes_.AwaitDelivered("south", 3), SizeIs(3));
  auto queued = database_->outbox().PendingAlerts("north", 10);
  ASSERT_TRUE(queued.ok());
  std::vector<std::string> raised;
  for (const auto& alert : *queued) {
    raised.push_back(alert.record.alert().alert_id());
  }
  EXPECT_THAT(raised, SizeIs(3));
  // ...and arrive, in the order raised, when it takes them again.
  nodes_.SetRefusingDeliveries("north", false);
  std::vector<std::string> at_north = nodes_.AwaitDelivered("north", 3);
  ASSERT_THAT(at_north, SizeIs(3));
  EXPECT_EQ(at_north, raised);
  // Delivered alerts leave the outbox once the node has taken them.
  EXPECT_TRUE(OutboxEmptiesFor("north"));
}

TEST_F(HubCoreTest, ANodesAnchorIsCheckedThenRecordedInTheHubsTrail) {
  FederationIdentity north;
  north.agency_id = "north";
  north.uri = "spiffe://fed.test/agency/north/node";
  auto anchor = [&](uint64_t seq, const std::string& mac) {
    v1::AnchorAuditRequest request;
    request.set_seq(seq);
    request.set_mac(mac);
    absl::Notification finished;
    absl::Status status;
    coordinator_->AnchorAudit(
        request, north, [&](const absl::StatusOr<v1::AnchorAuditResponse>& r) {
          status = r.status();
          finished.Notify();
        });
    finished.WaitForNotification();
    return status;
  };
  const std::string mac(kAuditMacBytes, 'm');
  absl::Status no_seq = anchor(0, mac);
  EXPECT_EQ(no_seq.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(no_seq.message()), HasSubstr("seq"));
  absl::Status short_mac = anchor(7, "short");
  EXPECT_EQ(short_mac.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(short_mac.message()), HasSubstr("mac: must be 32"));
  ASSERT_TRUE(anchor(7, mac).ok());

  // Recorded with the agency from the certificate, once.
  std::vector<storage::v1::AuditAnchor> anchors;
  ASSERT_TRUE(ExportAudit(dir_.path() + "/hub",
                          AuditKeyFile(dir_.path() + "/hub"),
                          [&](const storage::v1::AuditRecord& record) {
                            if (record.has_anchor()) {
                              anchors.push_back(record.anchor());
                              EXPECT_EQ(record.caller(), north.uri);
                            }
                          })
                  .ok());
  ASSERT_THAT(anchors, SizeIs(1));
  EXPECT_EQ(anchors[0].agency(), "north");
  EXPECT_EQ(anchors[0].seq(), 7u);
  EXPECT_EQ(anchors[0].mac(), mac);
}

// Both registrations' lookups held up, each finds the other: each side
// gets the same alert id either way, and its node keeps one alert.
TEST(MatchAlertsTest, AMatchFoundFromEitherSideHasTheSameAlertIds) {
  v1::TokenQuery query;
  query.set_token(std::string(32, 't'));
  v1::TokenHit hit;
  hit.set_sharing(v1::SHARING_POINTER);
  config::v1::SharingPolicy policy;
  auto ids = [&](const std::string& requester, const std::string& owner) {
    MatchRequest request;
    request.purpose = v1::LOOKUP_PURPOSE_REGISTER;
    request.requester = requester;
    request.now = absl::FromUnixSeconds(1'800'000'000);
    std::map<std::string, std::string> by_recipient;
    for (const auto& record :
         AlertsForHit(request, query, owner, hit, policy)) {
      by_recipient[record.recipient()] = record.alert().alert_id();
    }
    return by_recipient;
  };
  const auto north_asked = ids("north", "south");
  const auto south_asked = ids("south", "north");
  ASSERT_THAT(north_asked, SizeIs(2));
  EXPECT_EQ(north_asked, south_asked);
  EXPECT_NE(north_asked.at("north"), north_asked.at("south"));
  // A check is not a match: who asked stays in its id.
  auto checked = [&](const std::string& requester, const std::string& owner) {
    MatchRequest request;
    request.purpose = v1::LOOKUP_PURPOSE_CHECK;
    request.requester = requester;
    request.now = absl::FromUnixSeconds(1'800'000'000);
    return AlertsForHit(request, query, owner, hit, policy)[0]
        .alert()
        .alert_id();
  };
  EXPECT_NE(checked("north", "south"), checked("west", "south"));
}

// A registration in a silent case: the owner of the entry it matches is
// pointed to the centre, and never learns who registered; the centre is
// told both sides.
TEST(MatchAlertsTest, ARegistrantInASilentCaseIsHiddenFromTheOwner) {
  v1::TokenQuery query;
  query.set_token(std::string(32, 't'));
  v1::TokenHit hit;
  hit.set_sharing(v1::SHARING_POINTER);
  hit.mutable_contact()->set_name("Det. North");
  config::v1::SharingPolicy policy;
  policy.set_coordination_centre_agency_id("ccc");
  policy.mutable_coordination_centre_contact()->set_name("Duty desk");
  MatchRequest request;
  request.purpose = v1::LOOKUP_PURPOSE_REGISTER;
  request.requester = "south";
  request.requester_contact.set_name("Det. Undercover");
  request.requester_sharing = v1::SHARING_SILENT;
  request.now = absl::FromUnixSeconds(1'800'000'000);
  std::map<std::string, v1::AlertDelivery> to;
  for (const auto& record :
       AlertsForHit(request, query, "north", hit, policy)) {
    to[record.recipient()] = record.alert();
  }
  ASSERT_THAT(to, SizeIs(3));
  EXPECT_EQ(to["north"].other_agency_id(), "ccc");
  EXPECT_EQ(to["north"].other_contact().name(), "Duty desk");
  EXPECT_THAT(to["north"].DebugString(),
              ::testing::Not(::testing::HasSubstr("south")));
  EXPECT_THAT(to["north"].DebugString(),
              ::testing::Not(::testing::HasSubstr("Undercover")));
  EXPECT_EQ(to["south"].other_agency_id(), "north");  // north is not silent
  EXPECT_EQ(to["ccc"].kind(), v1::ALERT_KIND_SILENT_MATCH);
  EXPECT_EQ(to["ccc"].silent_owner_agency_id(), "south");
  EXPECT_EQ(to["ccc"].silent_owner_contact().name(), "Det. Undercover");
  EXPECT_EQ(to["ccc"].other_agency_id(), "north");
}

}  // namespace
}  // namespace deconfliction

#include "storage/node_database.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "api/timestamps.h"
#include "base/digest.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "identifiers/token.h"
#include "storage/database.h"
#include "storage/token_migration.h"
#include "tests/schema_fixtures.h"
#include "tests/temp_dir.h"

namespace deconfliction {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::SizeIs;

constexpr char kEpoch[] = "test-epoch";

class NodeDatabaseTest : public ::testing::Test {
 protected:
  void SetUp() override { store_ = Open(); }

  std::unique_ptr<NodeDatabase> Open(const std::string& agency = "agency-a") {
    auto store = NodeDatabase::Open(dir_.path() + "/db", agency, kEpoch,
                                    [this] { return now_; });
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? *std::move(store) : nullptr;
  }

  NewEntry Entry(v1::IdentifierType type, const std::string& value,
                 int64_t start = -1, int64_t end = -1) {
    NewEntry entry;
    entry.identifier.set_type(type);
    entry.identifier.set_value(value);
    if (start >= 0) {
      entry.identifier.mutable_observed()->mutable_start()->set_seconds(start);
      entry.identifier.mutable_observed()->mutable_end()->set_seconds(end);
    }
    entry.canonical = *Canonicalize(entry.identifier, {"CA"});
    // Storage needs only a 32-byte value that is the same for the same
    // identifier; how the custodians make it is not its concern.
    entry.token = Sha256(TokenInput(entry.canonical));
    return entry;
  }

  LookupQuery Query(const NewEntry& entry) {
    return LookupQuery{entry.token, entry.identifier.observed()};
  }

  CaseUpdate Case(const std::string& case_ref) {
    CaseUpdate update;
    update.case_ref = case_ref;
    update.contact.set_name("Det. Sgt. A. Example");
    update.contact.set_phone("+16135550199");
    update.caveat = "covert";
    update.expires_at = now_ + absl::Hours(24 * 30);
    update.created_by = "spiffe://fed.test/agency/agency-a/user/alice";
    return update;
  }

  size_t Hits(const NewEntry& entry) {
    auto hits = store_->cases().Lookup({Query(entry)});
    EXPECT_TRUE(hits.ok()) << hits.status();
    return hits.ok() ? (*hits)[0].size() : 0;
  }

  TempDir dir_;
  absl::Time now_ = absl::FromUnixSeconds(1'800'000'000);
  std::unique_ptr<NodeDatabase> store_;
};

TEST_F(NodeDatabaseTest, RegisteredEntryIsFoundWithItsCase) {
  NewEntry phone = Entry(v1::IDENTIFIER_TYPE_PHONE, "613-555-0100");
  ASSERT_EQ(store_->cases().Register(Case("OPS-1"), {phone})->added, 1u);
  auto hits = store_->cases().Lookup(
      {Query(Entry(v1::IDENTIFIER_TYPE_PHONE, "+1 (613) 555-0100")),
       Query(Entry(v1::IDENTIFIER_TYPE_PHONE, "613-555-0101"))});
  ASSERT_TRUE(hits.ok());
  ASSERT_THAT((*hits)[0], SizeIs(1));
  EXPECT_EQ((*hits)[0][0].case_ref(), "OPS-1");
  EXPECT_EQ((*hits)[0][0].contact().name(), "Det. Sgt. A. Example");
  EXPECT_EQ((*hits)[0][0].caveat(), "covert");
  EXPECT_THAT((*hits)[1], SizeIs(0));
}

TEST_F(NodeDatabaseTest, RepeatsAreStoredOnceAndCasesShareTokens) {
  NewEntry phone = Entry(v1::IDENTIFIER_TYPE_PHONE, "613-555-0100");
  EXPECT_EQ(store_->cases().Register(Case("OPS-1"), {phone, phone})->added, 1u);
  EXPECT_EQ(store_->cases().Register(Case("OPS-1"), {phone})->added, 0u);
  EXPECT_EQ(store_->cases().Register(Case("OPS-2"), {phone})->added, 1u);
  EXPECT_EQ(Hits(phone), 2u);
  EXPECT_EQ(store_->cases().GetCase("OPS-1", true)->entries_size(), 1);
}

TEST_F(NodeDatabaseTest, ExpiredEntriesDoNotMatch) {
  NewEntry phone = Entry(v1::IDENTIFIER_TYPE_PHONE, "613-555-0100");
  CaseUpdate update = Case("OPS-1");
  update.expires_at = now_ + absl::Hours(1);
  ASSERT_TRUE(store_->cases().Register(update, {phone}).ok());
  EXPECT_EQ(Hits(phone), 1u);
  now_ += absl::Hours(2);
  EXPECT_EQ(Hits(phone), 0u);
  EXPECT_EQ(store_->cases().GetCase("OPS-1", false)->state(),
            v1::CASE_STATE_EXPIRED);
}

TEST_F(NodeDatabaseTest, AHeaderChangeReachesEveryPostingOfTheCase) {
  NewEntry phone = Entry(v1::IDENTIFIER_TYPE_PHONE, "613-555-0100");
  NewEntry email = Entry(v1::IDENTIFIER_TYPE_EMAIL, "a@example.com");
  CaseUpdate update = Case("OPS-1");
  update.expires_at = now_ + absl::Hours(1);
  ASSERT_TRUE(store_->cases().Register(update, {phone, email}).ok());
  ASSERT_TRUE(store_->cases().Register(Case("OPS-2"), {phone}).ok());
  now_ += absl::Hours(2);  // OPS-1 expired
  EXPECT_EQ(Hits(phone), 1u);
  EXPECT_EQ(Hits(email), 0u);

  // A new contact, caveat, sharing and expiry: the old entries show them
  // and match again, and the other case's posting of the shared token is
  // left as it was.
  CaseUpdate changed = Case("OPS-1");
  changed.contact.set_name("Insp. B. Example");
  changed.caveat = "armed";
  changed.sharing = v1::SHARING_POINTER_WITH_CASE_REF;
  changed.expires_at = now_ + absl::Hours(24);
  ASSERT_TRUE(
      store_->cases()
          .Register(changed, {Entry(v1::IDENTIFIER_TYPE_PHONE, "6135550111")})
          .ok());
  auto hits = store_->cases().Lookup({Query(phone), Query(email)});
  ASSERT_TRUE(hits.ok()) << hits.status();
  ASSERT_THAT((*hits)[0], SizeIs(2));
  ASSERT_THAT((*hits)[1], SizeIs(1));
  for (const auto& hit : {(*hits)[0][0], (*hits)[0][1], (*hits)[1][0]}) {
    const bool changed_case = hit.case_ref() == "OPS-1";
    EXPECT_EQ(hit.contact().name(),
              changed_case ? "Insp. B. Example" : "Det. Sgt. A. Example");
    EXPECT_EQ(hit.caveat(), changed_case ? "armed" : "covert");
    EXPECT_EQ(hit.sharing(), changed_case ? v1::SHARING_POINTER_WITH_CASE_REF
                                          : v1::SHARING_POINTER);
    EXPECT_EQ(FromTimestamp(hit.expires_at()),
              changed_case ? now_ + absl::Hours(24)
                           : now_ - absl::Hours(2) + absl::Hours(24 * 30));
  }

  // An earlier expiry takes the entries out again.
  CaseUpdate shortened = Case("OPS-1");
  shortened.expires_at = now_ + absl::Minutes(1);
  ASSERT_TRUE(store_->cases().Register(shortened, {}).ok());
  now_ += absl::Minutes(2);
  EXPECT_EQ(Hits(phone), 1u);
  EXPECT_EQ(Hits(email), 0u);
}

TEST_F(NodeDatabaseTest, ExpiryMustBeInTheFuture) {
  CaseUpdate update = Case("OPS-1");
  update.expires_at = now_ - absl::Seconds(1);
  auto result = store_->cases().Register(
      update, {Entry(v1::IDENTIFIER_TYPE_PHONE, "6135550100")});
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(result.status().message()), HasSubstr("expires_at"));
  EXPECT_EQ(store_->cases().GetCase("OPS-1", false).status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(NodeDatabaseTest, ClosedCasesDoNotMatchAndCannotGrow) {
  NewEntry phone = Entry(v1::IDENTIFIER_TYPE_PHONE, "613-555-0100");
  NewEntry email = Entry(v1::IDENTIFIER_TYPE_EMAIL, "a@example.com");
  ASSERT_TRUE(store_->cases().Register(Case("OPS-1"), {phone, email}).ok());
  ASSERT_TRUE(store_->cases().Register(Case("OPS-2"), {phone}).ok());
  ASSERT_TRUE(store_->cases().CloseCase("OPS-1", "arrest made").ok());
  EXPECT_EQ(Hits(phone), 1u);  // OPS-2 still holds it
  EXPECT_EQ(Hits(email), 0u);
  v1::Case closed = *store_->cases().GetCase("OPS-1", true);
  EXPECT_EQ(closed.state(), v1::CASE_STATE_CLOSED);
  EXPECT_EQ(closed.close_reason(), "arrest made");
  EXPECT_EQ(closed.entries_size(), 2);
  EXPECT_EQ(store_->cases().CloseCase("OPS-1", "").status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(store_->cases().Register(Case("OPS-1"), {email}).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(store_->cases().CloseCase("NOPE", "").status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(NodeDatabaseTest, TimeBoundEntriesMatchOnlyOverlappingWindows) {
  NewEntry seen =
      Entry(v1::IDENTIFIER_TYPE_IP_ADDRESS, "192.0.2.7", 1000, 2000);
  ASSERT_TRUE(store_->cases().Register(Case("OPS-1"), {seen}).ok());
  EXPECT_EQ(Hits(Entry(v1::IDENTIFIER_TYPE_IP_ADDRESS, "::ffff:192.0.2.7", 1500,
                       2500)),
            1u);
  EXPECT_EQ(
      Hits(Entry(v1::IDENTIFIER_TYPE_IP_ADDRESS, "192.0.2.7", 3000, 4000)), 0u);
}

TEST_F(NodeDatabaseTest, SurvivesRestart) {
  NewEntry phone = Entry(v1::IDENTIFIER_TYPE_PHONE, "613-555-0100");
  ASSERT_TRUE(store_->cases().Register(Case("OPS-1"), {phone}).ok());
  store_.reset();
  store_ = Open();
  EXPECT_EQ(Hits(phone), 1u);
  NewEntry email = Entry(v1::IDENTIFIER_TYPE_EMAIL, "b@example.com");
  ASSERT_EQ(store_->cases().Register(Case("OPS-1"), {email})->added, 1u);
  v1::Case c = *store_->cases().GetCase("OPS-1", true);
  EXPECT_EQ(c.entry_count(), 2u);
  ASSERT_EQ(c.entries_size(), 2);
}

TEST_F(NodeDatabaseTest, AcknowledgedWriteSurvivesKill9) {
  store_.reset();
  NewEntry phone = Entry(v1::IDENTIFIER_TYPE_PHONE, "613-555-0100");
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto store = NodeDatabase::Open(dir_.path() + "/db", "agency-a", kEpoch,
                                    [this] { return now_; });
    bool ok =
        store.ok() && (*store)->cases().Register(Case("OPS-9"), {phone}).ok();
    // Acknowledged: die at once, with no chance to flush or close.
    if (ok) raise(SIGKILL);
    _exit(3);
  }
  int status = 0;
  waitpid(child, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
      << "child exited with " << status;
  store_ = Open();
  EXPECT_EQ(Hits(phone), 1u);
}

TEST_F(NodeDatabaseTest, ADatabaseBelongsToOneAgency) {
  store_.reset();
  auto other = NodeDatabase::Open(dir_.path() + "/db", "agency-b", kEpoch,
                                  [this] { return now_; });
  EXPECT_EQ(other.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(other.status().message()), HasSubstr("agency-a"));
}

TEST_F(NodeDatabaseTest, ListCasesPagesAndHidesClosed) {
  for (const char* ref : {"C1", "C2", "C3", "C4"}) {
    ASSERT_TRUE(
        store_->cases()
            .Register(Case(ref), {Entry(v1::IDENTIFIER_TYPE_EMAIL,
                                        std::string(ref) + "@example.com")})
            .ok());
  }
  ASSERT_TRUE(store_->cases().CloseCase("C2", "").ok());
  CasePage first = *store_->cases().ListCases("", 2, false);
  ASSERT_THAT(first.cases, SizeIs(2));
  EXPECT_EQ(first.cases[0].case_ref(), "C1");
  EXPECT_EQ(first.cases[1].case_ref(), "C3");
  CasePage second = *store_->cases().ListCases(first.next_page_token, 2, false);
  ASSERT_THAT(second.cases, SizeIs(1));
  EXPECT_EQ(second.cases[0].case_ref(), "C4");
  EXPECT_TRUE(second.next_page_token.empty());
  EXPECT_THAT(store_->cases().ListCases("", 10, true)->cases, SizeIs(4));
}

IncomingAlert Alert(const std::string& id) {
  IncomingAlert incoming;
  incoming.alert.set_alert_id(id);
  incoming.alert.set_other_agency_id("south");
  return incoming;
}

// A CHECKED alert: `asker` looked up `canonical` of `case_ref` at `at`.
IncomingAlert Checked(const std::string& id, const std::string& asker,
                      const std::string& case_ref, const std::string& canonical,
                      absl::Time at) {
  IncomingAlert incoming = Alert(id);
  incoming.alert.set_kind(v1::ALERT_KIND_CHECKED);
  incoming.alert.set_other_agency_id(asker);
  *incoming.alert.mutable_raised_at() = ToTimestamp(at);
  v1::OwnEntry* own = incoming.alert.add_own_entries();
  own->set_case_ref(case_ref);
  own->set_canonical(canonical);
  return incoming;
}

TEST_F(NodeDatabaseTest, AlertsGetCursorsOnceAndSurviveRestart) {
  auto first = store_->alerts().Store({Alert("a"), Alert("b"), Alert("a")});
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->stored, 2u);
  EXPECT_EQ(first->duplicates, 1u);
  auto again = store_->alerts().Store({Alert("b"), Alert("c")});
  EXPECT_EQ(again->stored, 1u);
  EXPECT_EQ(again->duplicates, 1u);
  store_.reset();
  store_ = Open();
  auto all = store_->alerts().After(0, 10);
  ASSERT_TRUE(all.ok());
  ASSERT_THAT(*all, SizeIs(3));
  EXPECT_EQ((*all)[0].alert_id(), "a");
  EXPECT_EQ((*all)[2].alert_id(), "c");
  EXPECT_EQ((*all)[2].cursor(), 3u);
  auto page = store_->alerts().After(1, 1);
  ASSERT_THAT(*page, SizeIs(1));
  EXPECT_EQ((*page)[0].alert_id(), "b");
  // Nothing after the largest cursor (it must not wrap to the first).
  EXPECT_THAT(*store_->alerts().After(UINT64_MAX, 10), SizeIs(0));
  EXPECT_THAT(*store_->alerts().After(UINT64_MAX - 1, 10), SizeIs(0));
  EXPECT_EQ(store_->alerts().Inbox().unacknowledged, 3u);
  auto acknowledged = store_->alerts().Acknowledge({"a", "a", "zzz"});
  EXPECT_EQ(acknowledged->acknowledged, 1u);
  EXPECT_EQ(acknowledged->unknown_ids, std::vector<std::string>{"zzz"});
  EXPECT_EQ(store_->alerts().Acknowledge({"a"})->acknowledged, 0u);
  EXPECT_EQ(store_->alerts().Inbox().unacknowledged, 2u);
  EXPECT_EQ(store_->alerts().Inbox().last_cursor, 3u);
  // New alerts continue after the last cursor.
  EXPECT_EQ(store_->alerts().Store({Alert("d")})->stored, 1u);
  EXPECT_EQ((*store_->alerts().After(3, 10))[0].cursor(), 4u);
}

TEST_F(NodeDatabaseTest, CheckedAlertsAreAggregatedPerCaseAskerAndDay) {
  AlertLog& log = store_->alerts();
  // A bulk check of 250 of one case's identifiers, in three deliveries.
  std::vector<IncomingAlert> first;
  first.reserve(100);
  for (int i = 0; i < 100; ++i) {
    first.push_back(Checked(absl::StrCat("c", i), "south", "OPS-1",
                            absl::StrCat("+1613555", 1000 + i), now_));
  }
  auto stored = log.Store(std::move(first));
  ASSERT_TRUE(stored.ok()) << stored.status();
  EXPECT_EQ(stored->stored, 1u);
  EXPECT_EQ(stored->aggregated, 99u);
  EXPECT_THAT(stored->cursors, ::testing::Each(1u));
  for (int batch = 1; batch < 3; ++batch) {
    std::vector<IncomingAlert> more;
    for (int i = 100 * batch; i < 100 * batch + 75; ++i) {
      more.push_back(Checked(absl::StrCat("c", i), "south", "OPS-1",
                             absl::StrCat("+1613555", 1000 + i),
                             now_ + absl::Minutes(batch)));
    }
    EXPECT_EQ(log.Store(std::move(more))->aggregated, 75u);
  }
  // Another asker, another case, the next day: alerts of their own. A
  // redelivery is a duplicate, held at its group's cursor.
  auto others = log.Store(
      {Checked("x1", "west", "OPS-1", "+16135551000", now_),
       Checked("x2", "south", "OPS-2", "+16135552000", now_),
       Checked("x3", "south", "OPS-1", "+16135551000", now_ + absl::Hours(24)),
       Checked("c7", "south", "OPS-1", "+16135551007", now_)});
  ASSERT_TRUE(others.ok()) << others.status();
  EXPECT_EQ(others->stored, 3u);
  EXPECT_EQ(others->duplicates, 1u);
  EXPECT_EQ(others->cursors, (std::vector<uint64_t>{2, 3, 4, 1}));
  auto all = log.After(0, 10);
  ASSERT_THAT(*all, SizeIs(4));
  EXPECT_EQ((*all)[0].checked_count(), 250u);
  EXPECT_EQ((*all)[0].own_entries_size(), kMaxOwnEntriesPerAlert);
  EXPECT_EQ((*all)[0].alert_id(), "c0");
  EXPECT_EQ((*all)[1].checked_count(), 1u);
  EXPECT_EQ(log.Inbox().unacknowledged, 4u);
  // Acknowledged by any of its ids, the group's alert takes no more: the
  // next check raises a new alert.
  EXPECT_EQ(log.Acknowledge({"c200"})->acknowledged, 1u);
  auto after = log.Store({Checked("c900", "south", "OPS-1", "+1", now_)});
  EXPECT_EQ(after->stored, 1u);
  EXPECT_EQ(after->cursors, std::vector<uint64_t>{5});
}

TEST_F(NodeDatabaseTest, RecoveredAlertsTakeTheirCursorsAgain) {
  AlertLog& log = store_->alerts();
  ASSERT_TRUE(log.Store({Alert("a")}).ok());
  IncomingAlert b = Alert("b");
  b.cursor = 4;
  IncomingAlert checked = Checked("c", "south", "OPS-1", "+1", now_);
  checked.cursor = 6;
  IncomingAlert joins = Checked("d", "south", "OPS-1", "+2", now_);
  joins.cursor = 6;
  IncomingAlert taken = Alert("e");
  taken.cursor = 1;  // held by "a": stored under the next cursor instead
  auto stored = log.Store({b, checked, joins, taken, Alert("a")});
  ASSERT_TRUE(stored.ok()) << stored.status();
  EXPECT_EQ(stored->cursors, (std::vector<uint64_t>{4, 6, 6, 7, 1}));
  ASSERT_TRUE(store_->FinishAlertRecovery(20).ok());
  EXPECT_EQ(log.Store({Alert("f")})->cursors, std::vector<uint64_t>{20});
  auto all = log.After(0, 10);
  ASSERT_THAT(*all, SizeIs(5));
  EXPECT_EQ((*all)[2].checked_count(), 2u);
}

TEST_F(NodeDatabaseTest, ARegistrationIsStoredWithItsFederatedLookup) {
  const NewEntry phone = Entry(v1::IDENTIFIER_TYPE_PHONE, "613-555-0100");
  const NewEntry email = Entry(v1::IDENTIFIER_TYPE_EMAIL, "a@example.org");
  ASSERT_TRUE(store_->cases().Register(Case("OPS-1"), {phone}).ok());
  auto stored = store_->cases().Register(Case("OPS-1"), {phone, email},
                                         &store_->federation_queue());
  ASSERT_TRUE(stored.ok()) << stored.status();
  ASSERT_FALSE(stored->federation_key.empty());
  // Claimed by the registration's own federated check: not retried while
  // it runs; released when the hub did not take it.
  EXPECT_THAT(*store_->federation_queue().Oldest(10), SizeIs(0));
  store_->federation_queue().Release(stored->federation_key);
  auto queued = store_->federation_queue().Oldest(10);
  ASSERT_TRUE(queued.ok());
  ASSERT_THAT(*queued, SizeIs(1));
  EXPECT_EQ((*queued)[0].first, stored->federation_key);
  // Only the new entry: the phone was federated with the case's first
  // registration.
  const v1::FederatedLookupRequest& request = (*queued)[0].second.request();
  EXPECT_EQ(request.purpose(), v1::LOOKUP_PURPOSE_REGISTER);
  EXPECT_EQ(request.requester_contact().name(), "Det. Sgt. A. Example");
  EXPECT_EQ(request.requester_sharing(), v1::SHARING_POINTER);
  ASSERT_THAT(request.queries(), SizeIs(1));
  EXPECT_EQ(request.queries(0).token(), email.token);
  // Taken by the hub, it leaves the queue.
  ASSERT_TRUE(store_->federation_queue().Remove(stored->federation_key).ok());
  EXPECT_THAT(*store_->federation_queue().Oldest(10), SizeIs(0));
  // Nothing new: nothing to federate.
  stored = store_->cases().Register(Case("OPS-1"), {phone, email},
                                    &store_->federation_queue());
  ASSERT_TRUE(stored.ok());
  EXPECT_TRUE(stored->federation_key.empty());
}

TEST_F(NodeDatabaseTest, AClaimedLookupIsFreeAfterARestart) {
  const NewEntry phone = Entry(v1::IDENTIFIER_TYPE_PHONE, "613-555-0100");
  auto stored = store_->cases().Register(Case("OPS-1"), {phone},
                                         &store_->federation_queue());
  ASSERT_TRUE(stored.ok());
  // The node dies while its registration waits on the hub: the claim dies
  // with it, the lookup does not.
  store_.reset();
  store_ = Open();
  auto queued = store_->federation_queue().Oldest(10);
  ASSERT_TRUE(queued.ok());
  ASSERT_THAT(*queued, SizeIs(1));
  EXPECT_EQ((*queued)[0].second.request().queries(0).token(), phone.token);
}

// An entry as the node stores it when the custodians could not make its
// token.
NewEntry WithoutToken(NewEntry entry) {
  entry.token.clear();
  return entry;
}

TEST_F(NodeDatabaseTest, EntriesWithoutTokensAwaitThemThenMatchAndFederate) {
  const NewEntry phone = Entry(v1::IDENTIFIER_TYPE_PHONE, "613-555-0100");
  const NewEntry email = Entry(v1::IDENTIFIER_TYPE_EMAIL, "a@example.org");
  const NewEntry ip = Entry(v1::IDENTIFIER_TYPE_IP_ADDRESS, "192.0.2.7",
                            1'799'000'000, 1'799'000'600);
  auto stored = store_->cases().Register(
      Case("OPS-1"),
      {WithoutToken(phone), WithoutToken(phone), WithoutToken(ip), email});
  ASSERT_TRUE(stored.ok()) << stored.status();
  EXPECT_EQ(stored->added, 3u);  // the repeat within the request once
  EXPECT_EQ(stored->awaiting_tokens, 2u);
  // Stored and shown in the case; matching nothing yet.
  auto c = store_->cases().GetCase("OPS-1", /*with_entries=*/true);
  ASSERT_TRUE(c.ok());
  EXPECT_THAT(c->entries(), SizeIs(3));
  EXPECT_EQ(Hits(phone), 0u);
  EXPECT_EQ(Hits(email), 1u);

  // Kept across a restart.
  store_.reset();
  store_ = Open();
  auto awaiting = store_->cases().OldestAwaitingTokens(10);
  ASSERT_TRUE(awaiting.ok()) << awaiting.status();
  ASSERT_THAT(*awaiting, SizeIs(1));
  const AwaitingRegistration registration = (*awaiting)[0];
  EXPECT_EQ(registration.case_ref, "OPS-1");
  ASSERT_THAT(registration.identifiers, SizeIs(2));
  EXPECT_EQ(registration.identifiers[0].form, phone.canonical.form);
  EXPECT_EQ(registration.identifiers[1].form, ip.canonical.form);

  EXPECT_EQ(store_->cases()
                .AttachTokens(registration, {phone.token},
                              &store_->federation_queue())
                .code(),
            absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE(store_->cases()
                  .AttachTokens(registration, {phone.token, ip.token},
                                &store_->federation_queue())
                  .ok());
  EXPECT_EQ(Hits(phone), 1u);
  EXPECT_EQ(Hits(ip), 1u);
  // Their federated lookup is queued, as a registration by the case's
  // contact, with the window of the time-bound one.
  auto queued = store_->federation_queue().Oldest(10);
  ASSERT_TRUE(queued.ok());
  ASSERT_THAT(*queued, SizeIs(1));
  const v1::FederatedLookupRequest& request = (*queued)[0].second.request();
  EXPECT_EQ(request.purpose(), v1::LOOKUP_PURPOSE_REGISTER);
  EXPECT_EQ(request.requester_contact().name(), "Det. Sgt. A. Example");
  ASSERT_THAT(request.queries(), SizeIs(2));
  EXPECT_EQ(request.queries(0).token(), phone.token);
  EXPECT_FALSE(request.queries(0).has_observed());
  EXPECT_EQ(request.queries(1).token(), ip.token);
  EXPECT_EQ(request.queries(1).observed().start().seconds(), 1'799'000'000);
  // Done once: attaching again writes nothing and queues nothing.
  awaiting = store_->cases().OldestAwaitingTokens(10);
  ASSERT_TRUE(awaiting.ok());
  EXPECT_THAT(*awaiting, SizeIs(0));
  ASSERT_TRUE(store_->cases()
                  .AttachTokens(registration, {phone.token, ip.token},
                                &store_->federation_queue())
                  .ok());
  EXPECT_THAT(*store_->federation_queue().Oldest(10), SizeIs(1));
  // The case closes with them.
  ASSERT_TRUE(store_->cases().CloseCase("OPS-1", "done").ok());
  EXPECT_EQ(Hits(phone), 0u);
}

TEST_F(NodeDatabaseTest, AwaitedTokensOfAClosedCaseOrARepeatStayOut) {
  const NewEntry phone = Entry(v1::IDENTIFIER_TYPE_PHONE, "613-555-0100");
  const NewEntry email = Entry(v1::IDENTIFIER_TYPE_EMAIL, "a@example.org");
  // OPS-1 holds the phone with its token already; OPS-2's email waits and
  // OPS-2 is closed before the custodians return.
  ASSERT_TRUE(store_->cases().Register(Case("OPS-1"), {phone}).ok());
  ASSERT_EQ(
      store_->cases().Register(Case("OPS-1"), {WithoutToken(phone)})->added,
      1u);
  ASSERT_TRUE(
      store_->cases().Register(Case("OPS-2"), {WithoutToken(email)}).ok());
  ASSERT_TRUE(store_->cases().CloseCase("OPS-2", "done").ok());
  auto awaiting = store_->cases().OldestAwaitingTokens(10);
  ASSERT_TRUE(awaiting.ok());
  ASSERT_THAT(*awaiting, SizeIs(2));
  ASSERT_TRUE(store_->cases()
                  .AttachTokens((*awaiting)[0], {phone.token},
                                &store_->federation_queue())
                  .ok());
  ASSERT_TRUE(store_->cases()
                  .AttachTokens((*awaiting)[1], {email.token},
                                &store_->federation_queue())
                  .ok());
  EXPECT_EQ(Hits(phone), 1u);  // matched once
  EXPECT_EQ(Hits(email), 0u);  // closed
  EXPECT_THAT(*store_->federation_queue().Oldest(10), SizeIs(0));
  EXPECT_THAT(*store_->cases().OldestAwaitingTokens(10), SizeIs(0));
}

TEST_F(NodeDatabaseTest, EntriesForTokenAreTheAgencysOwn) {
  NewEntry phone = Entry(v1::IDENTIFIER_TYPE_PHONE, "613-555-0100");
  ASSERT_TRUE(store_->cases().Register(Case("OPS-1"), {phone}).ok());
  ASSERT_TRUE(store_->cases().Register(Case("OPS-2"), {phone}).ok());
  auto entries = store_->cases().EntriesForToken(phone.token);
  ASSERT_TRUE(entries.ok());
  ASSERT_THAT(*entries, SizeIs(2));
  EXPECT_EQ((*entries)[0].case_ref, "OPS-1");
  EXPECT_EQ((*entries)[0].entry.canonical(), "+16135550100");
  EXPECT_EQ((*entries)[0].entry.identifier().value(), "613-555-0100");
}

// Re-tokenization. The tokenizer standing in for the custodians of another
// epoch: SHA-256 of the epoch and the token input.
constexpr char kNewEpoch[] = "epoch-2";

std::string NewToken(const NewEntry& entry) {
  return Sha256(absl::StrCat(kNewEpoch, TokenInput(entry.canonical)));
}

TokenizeBatch NewEpochTokens(int* calls) {
  return [calls](const std::vector<CanonicalIdentifier>& identifiers) {
    ++*calls;
    std::vector<std::string> tokens;
    tokens.reserve(identifiers.size());
    for (const CanonicalIdentifier& identifier : identifiers) {
      tokens.push_back(Sha256(absl::StrCat(kNewEpoch, TokenInput(identifier))));
    }
    return absl::StatusOr<std::vector<std::string>>(std::move(tokens));
  };
}

class RetokenizeTest : public NodeDatabaseTest {
 protected:
  // Two open cases sharing a phone, a closed case, and a registration
  // waiting for the federation; then the database is closed.
  void SetUp() override {
    NodeDatabaseTest::SetUp();
    ASSERT_TRUE(store_->cases()
                    .Register(Case("OPEN-1"), {phone_, email_},
                              &store_->federation_queue())
                    .ok());
    ASSERT_TRUE(store_->cases().Register(Case("OPEN-2"), {phone_}).ok());
    ASSERT_TRUE(store_->cases().Register(Case("CLOSED-1"), {closed_}).ok());
    ASSERT_TRUE(store_->cases().CloseCase("CLOSED-1", "done").ok());
    store_.reset();
  }

  absl::Status Retokenize(int* calls) {
    return RetokenizeNodeDatabase(dir_.path() + "/db", "agency-a", kNewEpoch,
                                  /*batch=*/1, NewEpochTokens(calls),
                                  [this](const RetokenizeProgress& progress) {
                                    done_ = progress.entries_done;
                                  });
  }

  // The database, as a node of the new epoch sees it.
  void ExpectNewEpoch() {
    auto store = NodeDatabase::Open(dir_.path() + "/db", "agency-a", kNewEpoch,
                                    [this] { return now_; });
    ASSERT_TRUE(store.ok()) << store.status();
    auto hits = (*store)->cases().Lookup({{NewToken(phone_), {}},
                                          {NewToken(email_), {}},
                                          {NewToken(closed_), {}},
                                          {phone_.token, {}}});
    ASSERT_TRUE(hits.ok()) << hits.status();
    ASSERT_THAT((*hits)[0], SizeIs(2));  // both open cases
    EXPECT_THAT((*hits)[1], SizeIs(1));
    EXPECT_THAT((*hits)[2], SizeIs(0));  // closed: out of the index
    EXPECT_THAT((*hits)[3], SizeIs(0));  // the old token matches nothing
    // The postings show their cases' headers.
    EXPECT_EQ((*hits)[0][1].case_ref(), "OPEN-2");
    EXPECT_EQ((*hits)[0][1].contact().name(), "Det. Sgt. A. Example");
    EXPECT_EQ((*hits)[0][1].caveat(), "covert");
    EXPECT_EQ(FromTimestamp((*hits)[0][1].expires_at()),
              now_ + absl::Hours(24 * 30));
    v1::Case open = *(*store)->cases().GetCase("OPEN-1", true);
    ASSERT_EQ(open.entries_size(), 2);
    auto pending = (*store)->federation_queue().Oldest(10);
    ASSERT_TRUE(pending.ok());
    ASSERT_THAT(*pending, SizeIs(1));
    const auto& request = (*pending)[0].second.request();
    ASSERT_EQ(request.queries_size(), 2);
    EXPECT_EQ(request.queries(0).token(), NewToken(phone_));
    EXPECT_EQ(request.queries(1).token(), NewToken(email_));
  }

  NewEntry phone_ = Entry(v1::IDENTIFIER_TYPE_PHONE, "613-555-0100");
  NewEntry email_ = Entry(v1::IDENTIFIER_TYPE_EMAIL, "a@example.com");
  NewEntry closed_ = Entry(v1::IDENTIFIER_TYPE_PHONE, "613-555-0199");
  uint64_t done_ = 0;
};

TEST_F(RetokenizeTest, EveryTokenMovesToTheNewEpoch) {
  int calls = 0;
  ASSERT_TRUE(Retokenize(&calls).ok());
  EXPECT_EQ(done_, 4u);  // every entry, the closed case's too
  ExpectNewEpoch();
  // A node of the old epoch is refused, and told what to run.
  auto old = NodeDatabase::Open(dir_.path() + "/db", "agency-a", kEpoch,
                                [this] { return now_; });
  EXPECT_EQ(old.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(old.status().message()), HasSubstr("--retokenize"));
}

TEST_F(RetokenizeTest, AnHmacEraDatabaseIsRefusedThenMigrated) {
  ASSERT_TRUE(RewriteAsSchema(dir_.path() + "/db", 1));
  auto refused = NodeDatabase::Open(dir_.path() + "/db", "agency-a", kNewEpoch,
                                    [this] { return now_; });
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(refused.status().message()),
              AllOf(HasSubstr("HMAC"), HasSubstr("--retokenize")));
  int calls = 0;
  ASSERT_TRUE(Retokenize(&calls).ok());
  ExpectNewEpoch();
}

// A database of each earlier schema, made here (tests/schema_fixtures.h),
// with today's and yesterday's CHECKED alerts and a match alert.
class MigrationTest : public RetokenizeTest {
 protected:
  void SetUp() override {
    RetokenizeTest::SetUp();
    store_ = Open();
    ASSERT_TRUE(store_->alerts()
                    .Store({Checked("today", "south", "OPEN-1", "+1", now_),
                            Checked("yesterday", "south", "OPEN-1", "+2",
                                    now_ - absl::Hours(24)),
                            Alert("match")})
                    .ok());
    store_.reset();
  }

  // Opened by this release, of `epoch`: migrated to the current schema.
  // `phone_token` is phone_'s token of that epoch.
  void ExpectMigrated(const std::string& epoch,
                      const std::string& phone_token) {
    auto store = NodeDatabase::Open(dir_.path() + "/db", "agency-a", epoch,
                                    [this] { return now_; });
    ASSERT_TRUE(store.ok()) << store.status();
    auto hits = (*store)->cases().Lookup({{phone_token, {}}});
    ASSERT_TRUE(hits.ok()) << hits.status();
    ASSERT_THAT((*hits)[0], SizeIs(2));
    for (const auto& hit : (*hits)[0]) {
      EXPECT_EQ(hit.contact().name(), "Det. Sgt. A. Example");
      EXPECT_EQ(hit.caveat(), "covert");
      EXPECT_EQ(hit.sharing(), v1::SHARING_POINTER);
      EXPECT_EQ(FromTimestamp(hit.expires_at()), now_ + absl::Hours(24 * 30));
    }
    auto all = (*store)->alerts().After(0, 10);
    ASSERT_TRUE(all.ok());
    ASSERT_THAT(*all, SizeIs(3));
    EXPECT_EQ((*all)[0].checked_count(), 1u);
    EXPECT_EQ((*all)[1].checked_count(), 1u);
    EXPECT_EQ((*all)[2].checked_count(), 0u);  // not a CHECKED alert
    // Today's next check of the case joins today's alert; not yesterday's.
    auto joined = (*store)->alerts().Store(
        {Checked("later", "south", "OPEN-1", "+3", now_ + absl::Minutes(1))});
    ASSERT_TRUE(joined.ok());
    EXPECT_EQ(joined->aggregated, 1u);
    EXPECT_EQ(joined->cursors, std::vector<uint64_t>{1});
    EXPECT_EQ((*store)->alerts().Inbox().last_cursor, 3u);
    store->reset();
    auto database = Database::OpenReadOnly(dir_.path() + "/db");
    ASSERT_TRUE(database.ok());
    EXPECT_EQ(ReadNodeDatabaseMeta(**database)->schema_version,
              kNodeSchemaVersion);
  }
};

TEST_F(MigrationTest, ASchema3DatabaseMigratesAtStart) {
  ASSERT_TRUE(RewriteAsSchema(dir_.path() + "/db", 3));
  ExpectMigrated(kEpoch, phone_.token);
}

TEST_F(MigrationTest, ASchema2DatabaseMigratesAtStart) {
  ASSERT_TRUE(RewriteAsSchema(dir_.path() + "/db", 2));
  ExpectMigrated(kEpoch, phone_.token);
}

TEST_F(MigrationTest, AnHmacEraDatabaseMigratesByRetokenizingThenAtStart) {
  ASSERT_TRUE(RewriteAsSchema(dir_.path() + "/db", 1));
  int calls = 0;
  ASSERT_TRUE(Retokenize(&calls).ok());
  ExpectMigrated(kNewEpoch, NewToken(phone_));
  ExpectNewEpoch();
}

TEST_F(MigrationTest, ADatabaseOfANewerReleaseIsRefused) {
  ASSERT_TRUE(RewriteAsSchema(dir_.path() + "/db", kNodeSchemaVersion + 1));
  auto refused = NodeDatabase::Open(dir_.path() + "/db", "agency-a", kEpoch,
                                    [this] { return now_; });
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(refused.status().message()),
              HasSubstr("newer release"));
}

TEST_F(RetokenizeTest, AKill9HalfWayIsRefusedThenContinued) {
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // Dies, with no chance to flush or close, in its third entry batch
    // (after the queue's and two entries').
    int calls = 0;
    TokenizeBatch tokenize = NewEpochTokens(&calls);
    (void)RetokenizeNodeDatabase(
        dir_.path() + "/db", "agency-a", kNewEpoch, 1,
        [&](const std::vector<CanonicalIdentifier>& identifiers) {
          if (calls == 3) raise(SIGKILL);
          return tokenize(identifiers);
        },
        [](const RetokenizeProgress&) {});
    _exit(3);
  }
  int status = 0;
  waitpid(child, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
      << "child exited with " << status;
  auto interrupted = NodeDatabase::Open(dir_.path() + "/db", "agency-a",
                                        kNewEpoch, [this] { return now_; });
  EXPECT_EQ(interrupted.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(interrupted.status().message()),
              HasSubstr("interrupted"));
  int calls = 0;
  ASSERT_TRUE(Retokenize(&calls).ok());
  EXPECT_EQ(calls, 2);  // the two entries not done before the kill
  ExpectNewEpoch();
}

}  // namespace
}  // namespace deconfliction

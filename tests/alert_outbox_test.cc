#include "storage/alert_outbox.h"

#include <string>
#include <vector>

#include "api/timestamps.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/temp_dir.h"

namespace deconfliction {
namespace {

using ::testing::SizeIs;

storage::v1::OutboxRecord Alert(const std::string& recipient,
                                const std::string& id, int64_t raised) {
  storage::v1::OutboxRecord record;
  record.set_recipient(recipient);
  record.mutable_alert()->set_alert_id(id);
  record.mutable_alert()->mutable_raised_at()->set_seconds(raised);
  return record;
}

TEST(AlertOutboxTest, OutboxKeepsEachAgencysAlertsInOrderAcrossRestarts) {
  TempDir dir;
  {
    auto hub = HubDatabase::Open(dir.path() + "/hub");
    ASSERT_TRUE(hub.ok()) << hub.status();
    ASSERT_TRUE(
        (*hub)
            ->outbox()
            .Enqueue({Alert("north", "n1", 100), Alert("south", "s1", 50),
                      Alert("north", "n2", 200)},
                     {})
            .ok());
  }
  auto hub = HubDatabase::Open(dir.path() + "/hub");
  ASSERT_TRUE((*hub)->outbox().Enqueue({Alert("north", "n3", 300)}, {}).ok());
  auto north = (*hub)->outbox().PendingAlerts("north", 10);
  ASSERT_TRUE(north.ok());
  ASSERT_THAT(*north, SizeIs(3));
  EXPECT_EQ((*north)[0].record.alert().alert_id(), "n1");
  EXPECT_EQ((*north)[2].record.alert().alert_id(), "n3");
  auto backlog = (*hub)->outbox().BacklogFor("north");
  EXPECT_EQ(backlog->alerts, 3u);
  EXPECT_EQ(backlog->oldest_alert, absl::FromUnixSeconds(100));

  ASSERT_TRUE(
      (*hub)->outbox().RemoveAlerts({(*north)[0].key, (*north)[1].key}).ok());
  auto left = (*hub)->outbox().PendingAlerts("north", 10);
  ASSERT_THAT(*left, SizeIs(1));
  EXPECT_EQ((*left)[0].record.alert().alert_id(), "n3");
  EXPECT_THAT(*(*hub)->outbox().PendingAlerts("south", 10), SizeIs(1));
}

TEST(AlertOutboxTest, CompletingARecheckQueuesItsAlertsAtomically) {
  TempDir dir;
  auto hub = HubDatabase::Open(dir.path() + "/hub");
  storage::v1::RecheckRecord recheck;
  recheck.set_agency("ccc");
  recheck.set_requester("north");
  recheck.add_queries()->set_token(std::string(32, 't'));
  ASSERT_TRUE((*hub)->outbox().Enqueue({}, {recheck}).ok());
  auto pending = (*hub)->outbox().PendingRechecks("ccc", 10);
  ASSERT_THAT(*pending, SizeIs(1));
  EXPECT_EQ((*hub)->outbox().BacklogFor("ccc")->rechecks, 1u);
  ASSERT_TRUE((*hub)
                  ->outbox()
                  .CompleteRecheck((*pending)[0].key, {Alert("ccc", "c1", 1),
                                                       Alert("north", "n1", 1)})
                  .ok());
  EXPECT_THAT(*(*hub)->outbox().PendingRechecks("ccc", 10), SizeIs(0));
  EXPECT_THAT(*(*hub)->outbox().PendingAlerts("ccc", 10), SizeIs(1));
  EXPECT_THAT(*(*hub)->outbox().PendingAlerts("north", 10), SizeIs(1));
}

}  // namespace
}  // namespace deconfliction

#include "storage/alert_outbox.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
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

  ASSERT_TRUE((*hub)
                  ->outbox()
                  .MarkDelivered({(*north)[0], (*north)[1]}, {},
                                 absl::FromUnixSeconds(400))
                  .ok());
  auto left = (*hub)->outbox().PendingAlerts("north", 10);
  ASSERT_THAT(*left, SizeIs(1));
  EXPECT_EQ((*left)[0].record.alert().alert_id(), "n3");
  EXPECT_THAT(*(*hub)->outbox().PendingAlerts("south", 10), SizeIs(1));
}

TEST(AlertOutboxTest, DeliveredAlertsAreKeptByCursorInPagesThenForgotten) {
  TempDir dir;
  auto hub = HubDatabase::Open(dir.path() + "/hub");
  ASSERT_TRUE(hub.ok()) << hub.status();
  AlertOutbox& outbox = (*hub)->outbox();
  std::vector<storage::v1::OutboxRecord> queued;
  queued.reserve(6);
  for (int i = 0; i < 5; ++i) {
    queued.push_back(Alert("north", absl::StrCat("n", i), 100 + i));
  }
  queued.push_back(Alert("south", "s0", 100));
  ASSERT_TRUE(outbox.Enqueue(queued, {}).ok());
  auto north = outbox.PendingAlerts("north", 10);
  // n0 at cursor 7, n1..n3 joined one alert at 8, n4 at 9; delivered in two
  // batches, a day apart.
  ASSERT_TRUE(outbox
                  .MarkDelivered({(*north)[0], (*north)[1], (*north)[2]},
                                 {7, 8, 8}, absl::FromUnixSeconds(1000))
                  .ok());
  ASSERT_TRUE(outbox
                  .MarkDelivered({(*north)[3], (*north)[4]}, {8, 9},
                                 absl::FromUnixSeconds(1000 + 86400))
                  .ok());
  auto south = outbox.PendingAlerts("south", 10);
  ASSERT_TRUE(
      outbox.MarkDelivered(*south, {3}, absl::FromUnixSeconds(1000)).ok());
  EXPECT_THAT(*outbox.PendingAlerts("north", 10), SizeIs(0));

  // After cursor 7, two per page: n1 n2 | n3 n4.
  std::vector<std::string> ids;
  std::string token;
  int pages = 0;
  do {
    auto page = outbox.Delivered("north", 7, token, 2);
    ASSERT_TRUE(page.ok()) << page.status();
    EXPECT_EQ(page->last_cursor, 9u);
    for (const auto& record : page->alerts) {
      ids.push_back(record.alert().alert_id());
    }
    token = page->next_page_token;
    ++pages;
  } while (!token.empty() && pages < 5);
  EXPECT_EQ(ids, (std::vector<std::string>{"n1", "n2", "n3", "n4"}));
  EXPECT_EQ(pages, 2);
  EXPECT_EQ(outbox.Delivered("north", 0, "", 10)->alerts.size(), 5u);
  EXPECT_EQ(outbox.Delivered("north", 0, "bad", 10).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(outbox.Delivered("south", 0, "", 10)->last_cursor, 3u);

  // Past the retention window of the first batch.
  auto forgotten =
      outbox.ForgetDeliveredBefore(absl::FromUnixSeconds(1000 + 3600));
  ASSERT_TRUE(forgotten.ok());
  EXPECT_EQ(*forgotten, 4u);
  auto kept = outbox.Delivered("north", 0, "", 10);
  ASSERT_THAT(kept->alerts, SizeIs(2));
  EXPECT_EQ(kept->alerts[0].alert().alert_id(), "n3");
  EXPECT_EQ(kept->last_cursor, 9u);  // the counter outlives the records
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

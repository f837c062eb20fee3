// Match alerts across the federation as separate processes over mutual
// TLS: raised for both sides, delivered durably across node and hub
// crashes, watched from a cursor.
#include <signal.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "api/deconfliction/v1/deconfliction.grpc.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/temp_dir.h"
#include "tests/test_federation.h"

#ifndef DECONFLICTION_CLI
#define DECONFLICTION_CLI "client/deconflict"  // Bazel runfiles path
#endif

namespace deconfliction {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::SizeIs;

// Collects one agency's alerts from a Watch stream in the background.
class Watcher {
 public:
  Watcher(TestFederation* federation, const std::string& agency,
          uint64_t after = 0)
      : stub_(v1::Alerts::NewStub(federation->UserChannel(agency))) {
    thread_ = std::thread([this, after] { Run(after); });
  }
  ~Watcher() { Stop(); }

  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
      if (context_ != nullptr) context_->TryCancel();
    }
    if (thread_.joinable()) thread_.join();
  }

  // Alerts (so far) about one of this agency's cases whose reference starts
  // with `case_prefix`.
  std::vector<v1::Alert> ForCases(const std::string& case_prefix) {
    return Where(
        [&](const v1::Alert& alert) { return AboutCase(alert, case_prefix); });
  }

  // Alerts (so far) for which `wanted` holds.
  std::vector<v1::Alert> Where(
      const std::function<bool(const v1::Alert&)>& wanted) {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<v1::Alert> out;
    for (const v1::Alert& alert : alerts_) {
      if (wanted(alert)) out.push_back(alert);
    }
    return out;
  }

  // Waits up to `timeout` until `count` alerts satisfy `wanted`; returns
  // those that do.
  std::vector<v1::Alert> WaitWhere(
      const std::function<bool(const v1::Alert&)>& wanted, size_t count,
      std::chrono::seconds timeout) {
    auto end = std::chrono::steady_clock::now() + timeout;
    std::unique_lock<std::mutex> lock(mu_);
    while (true) {
      size_t found = 0;
      for (const v1::Alert& alert : alerts_) found += wanted(alert);
      if (found >= count ||
          changed_.wait_until(lock, end) == std::cv_status::timeout) {
        break;
      }
    }
    lock.unlock();
    return Where(wanted);
  }

  // Waits up to `timeout` until `count` alerts are about cases starting with
  // `case_prefix`.
  std::vector<v1::Alert> WaitFor(const std::string& case_prefix, size_t count,
                                 std::chrono::seconds timeout) {
    return WaitWhere(
        [&](const v1::Alert& alert) { return AboutCase(alert, case_prefix); },
        count, timeout);
  }

  static bool AboutCase(const v1::Alert& alert, const std::string& prefix) {
    for (const v1::OwnEntry& entry : alert.own_entries()) {
      if (entry.case_ref().rfind(prefix, 0) == 0) return true;
    }
    return false;
  }

  uint64_t last_cursor() {
    std::lock_guard<std::mutex> lock(mu_);
    return alerts_.empty() ? 0 : alerts_.back().cursor();
  }
  std::vector<v1::Alert> all() {
    std::lock_guard<std::mutex> lock(mu_);
    return alerts_;
  }

 private:
  // Reconnects after interruptions (a restarted node), from the last cursor.
  void Run(uint64_t after) {
    while (true) {
      grpc::ClientContext context;
      context.set_deadline(std::chrono::system_clock::now() +
                           std::chrono::seconds(120));
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (stopping_) return;
        context_ = &context;
        if (!alerts_.empty()) after = alerts_.back().cursor();
      }
      v1::WatchRequest request;
      request.set_after_cursor(after);
      auto stream = stub_->Watch(&context, request);
      v1::Alert alert;
      while (stream->Read(&alert)) {
        std::lock_guard<std::mutex> lock(mu_);
        alerts_.push_back(alert);
        changed_.notify_all();
      }
      stream->Finish();
      {
        std::lock_guard<std::mutex> lock(mu_);
        context_ = nullptr;
        if (stopping_) return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  }

  std::unique_ptr<v1::Alerts::Stub> stub_;
  std::mutex mu_;
  std::condition_variable changed_;
  std::vector<v1::Alert> alerts_;
  grpc::ClientContext* context_ = nullptr;
  bool stopping_ = false;
  std::thread thread_;
};

v1::Identifier Id(v1::IdentifierType type, const std::string& value) {
  v1::Identifier identifier;
  identifier.set_type(type);
  identifier.set_value(value);
  return identifier;
}

grpc::Status Register(TestFederation* federation, const std::string& agency,
                      const std::string& case_ref,
                      const v1::Identifier& identifier,
                      v1::RegisterResponse* response,
                      v1::Sharing sharing = v1::SHARING_POINTER) {
  v1::RegisterRequest request;
  request.set_case_ref(case_ref);
  request.mutable_contact()->set_name("Det. " + agency);
  request.mutable_contact()->set_phone("+16135550111");
  request.set_sharing(sharing);
  *request.add_identifiers() = identifier;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(10));
  return v1::Registry::NewStub(federation->UserChannel(agency))
      ->Register(&context, request, response);
}

// `agency`'s analyst checks `identifier`.
grpc::Status CheckAt(TestFederation* federation, const std::string& agency,
                     const v1::Identifier& identifier) {
  v1::CheckRequest check;
  *check.add_identifiers() = identifier;
  v1::CheckResponse response;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(10));
  return v1::Deconfliction::NewStub(federation->UserChannel(agency))
      ->Check(&context, check, &response);
}

// Registers a new identifier at `first` and then at `second`, and waits until
// both agencies' watchers have its alert. Alerts reach each agency in the
// order the hub raised them, so once this returns, every alert raised before
// it has arrived: a barrier for "and nothing more came".
void AwaitSentinel(TestFederation* federation, const std::string& first,
                   Watcher* first_watcher, const std::string& second,
                   Watcher* second_watcher, const std::string& name) {
  v1::RegisterResponse registered;
  const v1::Identifier sentinel =
      Id(v1::IDENTIFIER_TYPE_EMAIL, name + "@sentinel.example.org");
  ASSERT_TRUE(
      Register(federation, first, "F-" + name, sentinel, &registered).ok());
  ASSERT_TRUE(
      Register(federation, second, "S-" + name, sentinel, &registered).ok());
  ASSERT_THAT(first_watcher->WaitFor("F-" + name, 1, std::chrono::seconds(30)),
              SizeIs(1));
  ASSERT_THAT(second_watcher->WaitFor("S-" + name, 1, std::chrono::seconds(30)),
              SizeIs(1));
}

class AlertsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    federation_ = new TestFederation(dir_->path(), FederationOptions());
    ASSERT_TRUE(federation_->Start());
  }
  static void TearDownTestSuite() {
    delete federation_;
    delete dir_;
  }
  static TempDir* dir_;
  static TestFederation* federation_;
};

TempDir* AlertsTest::dir_ = nullptr;
TestFederation* AlertsTest::federation_ = nullptr;

TEST_F(AlertsTest, ARegistrationMatchAlertsBothAgenciesExactlyOnce) {
  Watcher north(federation_, "north"), south(federation_, "south");
  v1::RegisterResponse registered;
  ASSERT_TRUE(Register(federation_, "north", "N-ALERT-1",
                       Id(v1::IDENTIFIER_TYPE_PHONE, "(613) 555-0177"),
                       &registered)
                  .ok());
  ASSERT_TRUE(Register(federation_, "south", "S-ALERT-1",
                       Id(v1::IDENTIFIER_TYPE_PHONE, "+1 613.555.0177"),
                       &registered)
                  .ok());
  std::vector<v1::Alert> at_north =
      north.WaitFor("N-ALERT-1", 1, std::chrono::seconds(20));
  std::vector<v1::Alert> at_south =
      south.WaitFor("S-ALERT-1", 1, std::chrono::seconds(20));
  // Registering again raises nothing new: by the time a later match's
  // alerts have arrived, still one alert each.
  ASSERT_TRUE(Register(federation_, "south", "S-ALERT-1",
                       Id(v1::IDENTIFIER_TYPE_PHONE, "6135550177"), &registered)
                  .ok());
  AwaitSentinel(federation_, "north", &north, "south", &south, "after-alert-1");
  at_north = north.ForCases("N-ALERT-1");
  at_south = south.ForCases("S-ALERT-1");
  ASSERT_THAT(at_north, SizeIs(1));
  ASSERT_THAT(at_south, SizeIs(1));

  const v1::Alert& owner = at_north[0];
  EXPECT_EQ(owner.kind(), v1::ALERT_KIND_REGISTRATION_MATCH);
  EXPECT_EQ(owner.identifier_type(), v1::IDENTIFIER_TYPE_PHONE);
  ASSERT_THAT(owner.own_entries(), SizeIs(1));
  EXPECT_EQ(owner.own_entries(0).case_ref(), "N-ALERT-1");
  EXPECT_EQ(owner.own_entries(0).canonical(), "+16135550177");
  EXPECT_EQ(owner.other_agency_id(), "south");
  EXPECT_EQ(owner.other_contact().name(), "Det. south");
  // Never the other side's case or identifier as it wrote it: only this
  // agency's own entries, in canonical form, and the other side's pointer.
  EXPECT_EQ(owner.other_case_ref(), "");
  EXPECT_EQ(owner.other_caveat(), "");

  const v1::Alert& registrant = at_south[0];
  EXPECT_EQ(registrant.own_entries(0).case_ref(), "S-ALERT-1");
  EXPECT_EQ(registrant.other_agency_id(), "north");
  ASSERT_THAT(registrant.own_entries(), SizeIs(1));
  EXPECT_EQ(registrant.own_entries(0).canonical(), "+16135550177");
  EXPECT_EQ(registrant.other_case_ref(), "");  // north shares no case ref
  EXPECT_NE(owner.alert_id(), registrant.alert_id());
}

TEST_F(AlertsTest, ACheckAlertsTheOwner) {
  Watcher south(federation_, "south");
  v1::RegisterResponse registered;
  ASSERT_TRUE(Register(federation_, "south", "S-CHECKED",
                       Id(v1::IDENTIFIER_TYPE_EMAIL, "looked.at@example.org"),
                       &registered)
                  .ok());
  ASSERT_TRUE(CheckAt(federation_, "north",
                      Id(v1::IDENTIFIER_TYPE_EMAIL, "Looked.At@Example.org"))
                  .ok());
  auto alerts = south.WaitFor("S-CHECKED", 1, std::chrono::seconds(20));
  ASSERT_THAT(alerts, SizeIs(1));
  EXPECT_EQ(alerts[0].kind(), v1::ALERT_KIND_CHECKED);
  EXPECT_EQ(alerts[0].other_agency_id(), "north");
}

TEST_F(AlertsTest, ARegistrantInASilentCaseIsHiddenFromTheOwner) {
  Watcher north(federation_, "north"), south(federation_, "south"),
      ccc(federation_, "ccc");
  v1::RegisterResponse registered;
  const v1::Identifier wallet =
      Id(v1::IDENTIFIER_TYPE_EMAIL, "wallet.owner@example.org");
  ASSERT_TRUE(
      Register(federation_, "north", "N-OPEN", wallet, &registered).ok());
  // south's undercover case comes second: its registration finds north's.
  ASSERT_TRUE(Register(federation_, "south", "S-UNDERCOVER", wallet,
                       &registered, v1::SHARING_SILENT)
                  .ok());
  auto at_north = north.WaitFor("N-OPEN", 1, std::chrono::seconds(20));
  ASSERT_THAT(at_north, SizeIs(1));
  EXPECT_EQ(at_north[0].other_agency_id(), "ccc");
  EXPECT_THAT(at_north[0].DebugString(), Not(HasSubstr("south")));
  auto at_south = south.WaitFor("S-UNDERCOVER", 1, std::chrono::seconds(20));
  ASSERT_THAT(at_south, SizeIs(1));
  EXPECT_EQ(at_south[0].other_agency_id(), "north");
  auto at_centre = ccc.WaitWhere(
      [](const v1::Alert& alert) {
        return alert.kind() == v1::ALERT_KIND_SILENT_MATCH &&
               alert.silent_owner_agency_id() == "south";
      },
      1, std::chrono::seconds(20));
  ASSERT_THAT(at_centre, SizeIs(1));
  EXPECT_EQ(at_centre[0].other_agency_id(), "north");
}

TEST_F(AlertsTest, ANodeDownWhenTheMatchHappensGetsItsAlertAfterRestart) {
  // A silent entry's match is also for the coordination centre, ccc.
  v1::RegisterResponse registered;
  ASSERT_TRUE(Register(federation_, "south", "S-SILENT",
                       Id(v1::IDENTIFIER_TYPE_USERNAME, "x:silent_target"),
                       &registered, v1::SHARING_SILENT)
                  .ok());
  federation_->node("ccc").Kill();
  ASSERT_TRUE(
      Register(federation_, "north", "N-SILENT",
               Id(v1::IDENTIFIER_TYPE_USERNAME, "twitter:@Silent_Target"),
               &registered)
          .ok());
  ASSERT_TRUE(federation_->StartNode("ccc"));
  Watcher ccc(federation_, "ccc");
  auto alerts = ccc.WaitWhere(
      [](const v1::Alert& alert) {
        return alert.silent_owner_agency_id() == "south";
      },
      1, std::chrono::seconds(30));
  ASSERT_THAT(alerts, SizeIs(1));
  EXPECT_EQ(alerts[0].kind(), v1::ALERT_KIND_SILENT_MATCH);
  EXPECT_EQ(alerts[0].other_agency_id(), "north");
}

TEST_F(AlertsTest, ARegistrationMadeWhileANodeWasDownIsMatchedWhenItReturns) {
  v1::RegisterResponse registered;
  ASSERT_TRUE(Register(federation_, "ccc", "C-STANDING",
                       Id(v1::IDENTIFIER_TYPE_IMEI, "490154203237518"),
                       &registered)
                  .ok());
  federation_->node("ccc").Kill();
  Watcher south(federation_, "south");
  ASSERT_TRUE(Register(federation_, "south", "S-STANDING",
                       Id(v1::IDENTIFIER_TYPE_IMEI, "49-015420-323751-8"),
                       &registered)
                  .ok());
  ASSERT_THAT(registered.matches(), SizeIs(1));
  EXPECT_FALSE(registered.matches(0).complete());  // ccc did not answer
  EXPECT_THAT(registered.matches(0).hits(), SizeIs(0));
  ASSERT_TRUE(federation_->StartNode("ccc"));
  Watcher ccc(federation_, "ccc");
  auto at_south = south.WaitFor("S-STANDING", 1, std::chrono::seconds(30));
  auto at_ccc = ccc.WaitFor("C-STANDING", 1, std::chrono::seconds(30));
  ASSERT_THAT(at_south, SizeIs(1));
  ASSERT_THAT(at_ccc, SizeIs(1));
  EXPECT_EQ(at_south[0].other_agency_id(), "ccc");
  EXPECT_EQ(at_ccc[0].other_agency_id(), "south");
}

TEST_F(AlertsTest, ARegistrationMadeWhileTheHubWasDownIsMatchedWhenItReturns) {
  Watcher north(federation_, "north"), south(federation_, "south");
  v1::RegisterResponse registered;
  ASSERT_TRUE(Register(federation_, "north", "N-HUBDOWN",
                       Id(v1::IDENTIFIER_TYPE_EMAIL, "hub.down@example.org"),
                       &registered)
                  .ok());
  federation_->hub().Kill();
  ASSERT_TRUE(Register(federation_, "south", "S-HUBDOWN",
                       Id(v1::IDENTIFIER_TYPE_EMAIL, "Hub.Down@example.org"),
                       &registered)
                  .ok());  // the registration itself stands
  ASSERT_THAT(registered.matches(), SizeIs(1));
  EXPECT_FALSE(registered.matches(0).complete());
  ASSERT_THAT(registered.matches(0).unanswered(), SizeIs(1));
  EXPECT_EQ(registered.matches(0).unanswered(0).agency_id(), "hub");
  ASSERT_TRUE(federation_->StartHub());
  EXPECT_THAT(south.WaitFor("S-HUBDOWN", 1, std::chrono::seconds(30)),
              SizeIs(1));
  EXPECT_THAT(north.WaitFor("N-HUBDOWN", 1, std::chrono::seconds(30)),
              SizeIs(1));
}

TEST_F(AlertsTest, ANodeKilledWhileItsRegistrationWaitsOnTheHubFederatesIt) {
  Watcher north(federation_, "north");
  v1::RegisterResponse registered;
  ASSERT_TRUE(Register(federation_, "north", "N-KILLED",
                       Id(v1::IDENTIFIER_TYPE_EMAIL, "killed.wait@example.org"),
                       &registered)
                  .ok());
  // The hub hangs, so south's registration, once stored, waits on it.
  federation_->hub().Signal(SIGSTOP);
  std::thread registering([] {
    // Fails when south is killed: what counts is what south stored.
    v1::RegisterResponse unanswered;
    Register(federation_, "south", "S-KILLED",
             Id(v1::IDENTIFIER_TYPE_EMAIL, "Killed.Wait@example.org"),
             &unanswered);
  });
  // Barrier: the case is stored at south.
  bool stored = false;
  for (int i = 0; i < 100 && !stored; ++i) {
    v1::Case found;
    stored = federation_->GetCase("south", "S-KILLED", &found).ok();
    if (!stored) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  federation_->node("south").Kill();
  registering.join();
  federation_->hub().Signal(SIGCONT);
  ASSERT_TRUE(stored);
  ASSERT_TRUE(federation_->StartNode("south"));
  // The lookup was queued with the registration: the restarted node sends
  // it, and both sides are alerted.
  Watcher south(federation_, "south");
  EXPECT_THAT(south.WaitFor("S-KILLED", 1, std::chrono::seconds(30)),
              SizeIs(1));
  EXPECT_THAT(north.WaitFor("N-KILLED", 1, std::chrono::seconds(30)),
              SizeIs(1));
}

TEST_F(AlertsTest, ARegistrationMadeWhileTheCustodiansWereDownIsMatchedLater) {
  Watcher north(federation_, "north"), south(federation_, "south");
  v1::RegisterResponse registered;
  ASSERT_TRUE(Register(federation_, "north", "N-NOTOKEN",
                       Id(v1::IDENTIFIER_TYPE_EMAIL, "no.token@example.org"),
                       &registered)
                  .ok());
  // Two of the three custodians down: south cannot make the token.
  federation_->custodian("alpha").Terminate();
  federation_->custodian("beta").Terminate();
  const grpc::Status stored = Register(
      federation_, "south", "S-NOTOKEN",
      Id(v1::IDENTIFIER_TYPE_EMAIL, "No.Token@example.org"), &registered);
  ASSERT_TRUE(federation_->StartCustodian("alpha"));
  ASSERT_TRUE(federation_->StartCustodian("beta"));
  ASSERT_TRUE(stored.ok()) << stored.error_message();
  EXPECT_EQ(registered.awaiting_tokens(), 1u);
  ASSERT_THAT(registered.matches(), SizeIs(1));
  EXPECT_FALSE(registered.matches(0).complete());
  // Once the custodians are back, south makes the token, federates the
  // registration, and both agencies are alerted.
  EXPECT_THAT(south.WaitFor("S-NOTOKEN", 1, std::chrono::seconds(30)),
              SizeIs(1));
  EXPECT_THAT(north.WaitFor("N-NOTOKEN", 1, std::chrono::seconds(30)),
              SizeIs(1));
}

TEST_F(AlertsTest,
       AWatcherResumingFromItsCursorMissesNothingAndSeesNothingTwice) {
  v1::RegisterResponse registered;
  auto watcher = std::make_unique<Watcher>(federation_, "north");
  for (int i = 0; i < 3; ++i) {
    const std::string mac = absl::StrFormat("02:00:00:00:10:%02d", i);
    ASSERT_TRUE(Register(federation_, "north", absl::StrCat("N-RESUME-", i),
                         Id(v1::IDENTIFIER_TYPE_MAC_ADDRESS, mac), &registered)
                    .ok());
    ASSERT_TRUE(Register(federation_, "south", absl::StrCat("S-RESUME-", i),
                         Id(v1::IDENTIFIER_TYPE_MAC_ADDRESS, mac), &registered)
                    .ok());
  }
  ASSERT_THAT(watcher->WaitFor("N-RESUME-", 3, std::chrono::seconds(20)),
              SizeIs(3));
  std::vector<v1::Alert> before = watcher->all();
  const uint64_t cursor = watcher->last_cursor();
  watcher->Stop();
  watcher.reset();
  for (int i = 3; i < 6; ++i) {
    const std::string mac = absl::StrFormat("02:00:00:00:10:%02d", i);
    ASSERT_TRUE(Register(federation_, "north", absl::StrCat("N-RESUME-", i),
                         Id(v1::IDENTIFIER_TYPE_MAC_ADDRESS, mac), &registered)
                    .ok());
    ASSERT_TRUE(Register(federation_, "south", absl::StrCat("S-RESUME-", i),
                         Id(v1::IDENTIFIER_TYPE_MAC_ADDRESS, mac), &registered)
                    .ok());
  }
  Watcher resumed(federation_, "north", cursor);
  ASSERT_THAT(resumed.WaitFor("N-RESUME-", 3, std::chrono::seconds(20)),
              SizeIs(3));
  Watcher south(federation_, "south");
  AwaitSentinel(federation_, "north", &resumed, "south", &south,
                "after-resume");
  std::set<std::string> ids;
  for (const v1::Alert& alert : before) ids.insert(alert.alert_id());
  for (const v1::Alert& alert : resumed.ForCases("N-RESUME-")) {
    EXPECT_GT(alert.cursor(), cursor);
    EXPECT_TRUE(ids.insert(alert.alert_id()).second) << "seen twice";
  }
  std::set<std::string> cases;
  for (const v1::Alert& alert : resumed.ForCases("N-RESUME-")) {
    cases.insert(alert.own_entries(0).case_ref());
  }
  EXPECT_EQ(cases,
            (std::set<std::string>{"N-RESUME-3", "N-RESUME-4", "N-RESUME-5"}));
}

TEST_F(AlertsTest, TheCliWatchesAndResumesWhereItLeftOff) {
  Watcher north(federation_, "north"), south(federation_, "south");
  v1::RegisterResponse registered;
  ASSERT_TRUE(Register(federation_, "north", "N-CLI",
                       Id(v1::IDENTIFIER_TYPE_VEHICLE_PLATE, "CA-ON:CLI 123"),
                       &registered)
                  .ok());
  ASSERT_TRUE(Register(federation_, "south", "S-CLI",
                       Id(v1::IDENTIFIER_TYPE_VEHICLE_PLATE, "ca-on:cli-123"),
                       &registered)
                  .ok());
  ASSERT_THAT(south.WaitFor("S-CLI", 1, std::chrono::seconds(30)), SizeIs(1));
  const std::string profile = federation_->WriteProfile("south");
  const std::string cursor_file = dir_->path() + "/south.cursor";
  auto watch = [&](const std::string& flags) {
    std::string command =
        absl::StrCat(DECONFLICTION_CLI, " --profile=", profile,
                     " --cursor_file=", cursor_file, " ", flags, " watch 2>&1");
    std::string output;
    FILE* pipe = popen(command.c_str(), "r");
    char buffer[4096];
    size_t n;
    while ((n = fread(buffer, 1, sizeof(buffer), pipe)) > 0) {
      output.append(buffer, n);
    }
    EXPECT_EQ(pclose(pipe), 0) << output;
    return output;
  };
  // Everything so far (already stored), then the cursor is kept...
  std::string first = watch("--json --watch_seconds=1");
  EXPECT_THAT(first, HasSubstr("\"case_ref\":\"S-CLI\""));
  std::ifstream cursor_in(cursor_file);
  uint64_t cursor = 0;
  cursor_in >> cursor;
  EXPECT_GT(cursor, 0u);
  // ...so the next watch shows what is new (a later match, stored before
  // the watch starts) and not what it showed before.
  AwaitSentinel(federation_, "north", &north, "south", &south, "after-cli");
  std::string again = watch("--json --watch_seconds=1");
  EXPECT_THAT(again, HasSubstr("\"case_ref\":\"S-after-cli\""));
  EXPECT_THAT(again, Not(HasSubstr("S-CLI")));
}

// The hub is killed after acknowledging a registration and before
// delivering its alerts (held back by a delivery delay): after a restart
// every alert arrives, exactly once.
class HubCrashTest : public ::testing::Test {};

TEST_F(HubCrashTest,
       AlertsAcknowledgedBeforeAKill9AreDeliveredOnceAfterRestart) {
  TempDir dir;
  FederationOptions options;
  options.alert_delivery_delay_ms = 3000;
  TestFederation federation(dir.path(), options);
  ASSERT_TRUE(federation.Start());
  Watcher north(&federation, "north"), south(&federation, "south");
  v1::RegisterResponse registered;
  v1::Identifier hash =
      Id(v1::IDENTIFIER_TYPE_FILE_HASH, "d41d8cd98f00b204e9800998ecf8427e");
  ASSERT_TRUE(
      Register(&federation, "north", "N-CRASH", hash, &registered).ok());
  ASSERT_TRUE(
      Register(&federation, "south", "S-CRASH", hash, &registered).ok());
  federation.hub().Kill();  // SIGKILL, within the delivery delay
  EXPECT_THAT(north.ForCases("N-CRASH"), SizeIs(0));
  ASSERT_TRUE(federation.StartHub());
  EXPECT_THAT(north.WaitFor("N-CRASH", 1, std::chrono::seconds(30)), SizeIs(1));
  EXPECT_THAT(south.WaitFor("S-CRASH", 1, std::chrono::seconds(30)), SizeIs(1));
  // Nothing is delivered twice: a later match arrives after any redelivery.
  AwaitSentinel(&federation, "north", &north, "south", &south, "after-crash");
  EXPECT_THAT(north.ForCases("N-CRASH"), SizeIs(1));
  EXPECT_THAT(south.ForCases("S-CRASH"), SizeIs(1));
}

// Watching through restarts: a federation of its own per test, whose
// nodes are killed and stopped.
class WatchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    federation_ =
        std::make_unique<TestFederation>(dir_.path(), FederationOptions());
    ASSERT_TRUE(federation_->Start());
    // One alert in south's log to watch for.
    north_ = std::make_unique<Watcher>(federation_.get(), "north");
    south_ = std::make_unique<Watcher>(federation_.get(), "south");
    AwaitSentinel(federation_.get(), "north", north_.get(), "south",
                  south_.get(), "watched");
    south_->Stop();
  }

  TempDir dir_;
  std::unique_ptr<TestFederation> federation_;
  std::unique_ptr<Watcher> north_, south_;
};

TEST_F(WatchTest, TheCliResumesWithinTwoSecondsOfItsNodesReturn) {
  // south's node is down for 5 s; the watch starts meanwhile and shows
  // south's alert once the node is back (without stacking its backoff on
  // gRPC's).
  federation_->node("south").Kill();
  const std::string log = dir_.path() + "/cli-watch.log";
  ChildProcess cli;
  ASSERT_TRUE(cli.Start(
      {DECONFLICTION_CLI, "--profile=" + federation_->WriteProfile("south"),
       "--json", "--after=0", "--watch_seconds=60", "watch"},
      log));
  absl::SleepFor(absl::Seconds(5));
  ASSERT_TRUE(federation_->StartNode("south"));
  const absl::Time back = absl::Now();
  std::string shown;
  while (absl::Now() - back < absl::Seconds(10)) {
    std::ifstream in(log);
    shown.assign(std::istreambuf_iterator<char>(in), {});
    if (shown.find("\"case_ref\":\"S-watched\"") != std::string::npos) break;
    absl::SleepFor(absl::Milliseconds(20));
  }
  const absl::Duration resumed = absl::Now() - back;
  RecordProperty("resumed_ms",
                 absl::StrCat(absl::ToInt64Milliseconds(resumed)));
  EXPECT_THAT(shown, HasSubstr("\"case_ref\":\"S-watched\""));
  EXPECT_LT(resumed, absl::Seconds(2)) << shown;
  EXPECT_THAT(shown, HasSubstr("watch interrupted"));
  cli.Terminate();
}

TEST_F(WatchTest, HeartbeatsComeWhenAskedAndAStoppingNodeEndsTheStream) {
  auto alerts = v1::Alerts::NewStub(federation_->UserChannel("south"));
  {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(10));
    v1::WatchRequest request;
    request.set_heartbeat_seconds(301);
    v1::Alert alert;
    auto refused = alerts->Watch(&context, request);
    EXPECT_FALSE(refused->Read(&alert));
    grpc::Status status = refused->Finish();
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(status.error_message(), HasSubstr("heartbeat_seconds"));
  }
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(30));
  v1::WatchRequest request;
  request.set_heartbeat_seconds(1);
  auto stream = alerts->Watch(&context, request);
  // The alert first, then a heartbeat at its cursor.
  v1::Alert alert;
  ASSERT_TRUE(stream->Read(&alert));
  EXPECT_FALSE(alert.has_heartbeat_at());
  const uint64_t cursor = alert.cursor();
  const absl::Time asked = absl::Now();
  ASSERT_TRUE(stream->Read(&alert));
  EXPECT_TRUE(alert.has_heartbeat_at());
  EXPECT_EQ(alert.cursor(), cursor);
  EXPECT_TRUE(alert.alert_id().empty());
  EXPECT_LT(absl::Now() - asked, absl::Seconds(3));

  // SIGTERM: the stream ends at once, naming the cursor to resume after,
  // and the node exits without waiting out its grace period for it.
  const absl::Time stopping = absl::Now();
  federation_->node("south").Signal(SIGTERM);
  while (stream->Read(&alert)) {
    ASSERT_TRUE(alert.has_heartbeat_at());
  }
  grpc::Status ended = stream->Finish();
  EXPECT_EQ(ended.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_THAT(ended.error_message(),
              HasSubstr(absl::StrCat("the node is stopping; watch again after "
                                     "cursor ",
                                     cursor)));
  // Well before the node's 1 s grace period would have cancelled it.
  EXPECT_LT(absl::Now() - stopping, absl::Milliseconds(800));
}

// A node restored from a backup gets back, from the hub, the alerts
// delivered since the backup, under their cursors: a watcher holding a
// cursor sees every later alert once, and none again.
TEST(BackupTest, ARestoreRepeatsAndSkipsNoAlertForAWatcherHoldingACursor) {
  TempDir dir;
  TestFederation federation(dir.path(), FederationOptions());
  ASSERT_TRUE(federation.Start());
  auto north = std::make_unique<Watcher>(&federation, "north");
  Watcher south(&federation, "south");
  const std::string command = absl::StrCat(
      DECONFLICTION_NODE_BINARY, " --config=", dir.path(), "/north.textproto");
  const std::string backups = dir.path() + "/backups/north";
  AwaitSentinel(&federation, "north", north.get(), "south", &south,
                "before-backup");
  // Online, while north serves.
  ASSERT_EQ(std::system(absl::StrCat(command, " --backup_to=", backups, " >> ",
                                     dir.path(), "/backup.log 2>&1")
                            .c_str()),
            0);
  // Two matches and a check of north's identifier after the backup.
  AwaitSentinel(&federation, "north", north.get(), "south", &south,
                "after-backup-1");
  AwaitSentinel(&federation, "north", north.get(), "south", &south,
                "after-backup-2");
  ASSERT_TRUE(CheckAt(&federation, "south",
                      Id(v1::IDENTIFIER_TYPE_EMAIL,
                         "after-backup-1@sentinel.example.org"))
                  .ok());
  ASSERT_THAT(north->WaitWhere(
                  [](const v1::Alert& alert) {
                    return alert.kind() == v1::ALERT_KIND_CHECKED;
                  },
                  1, std::chrono::seconds(30)),
              SizeIs(1));
  const std::vector<v1::Alert> seen = north->all();
  const uint64_t held = north->last_cursor();
  ASSERT_GE(seen.size(), 4u);
  north->Stop();

  // north's disk is lost: restored from the backup, with the node stopped.
  EXPECT_NE(std::system(absl::StrCat(command, " --restore_from=", backups,
                                     " >> ", dir.path(), "/backup.log 2>&1")
                            .c_str()),
            0);  // refused while the node runs
  ASSERT_EQ(federation.node("north").Terminate(), 0);
  ASSERT_EQ(std::system(absl::StrCat(command, " --restore_from=", backups,
                                     " >> ", dir.path(), "/backup.log 2>&1")
                            .c_str()),
            0);
  ASSERT_TRUE(federation.StartNode("north"));

  // The watcher holding its cursor sees the next match, and nothing before.
  Watcher resumed(&federation, "north", held);
  AwaitSentinel(&federation, "north", &resumed, "south", &south,
                "after-restore");
  std::vector<v1::Alert> after = resumed.all();
  ASSERT_THAT(after, SizeIs(1));
  EXPECT_GT(after[0].cursor(), held);
  EXPECT_TRUE(Watcher::AboutCase(after[0], "F-after-restore"));
  // From the start, the log is the one the watcher saw, then the new one.
  Watcher replay(&federation, "north");
  ASSERT_THAT(replay.WaitFor("F-after-restore", 1, std::chrono::seconds(30)),
              SizeIs(1));
  std::vector<v1::Alert> log = replay.all();
  ASSERT_EQ(log.size(), seen.size() + 1);
  for (size_t i = 0; i < seen.size(); ++i) {
    EXPECT_EQ(log[i].cursor(), seen[i].cursor()) << i;
    EXPECT_EQ(log[i].alert_id(), seen[i].alert_id()) << i;
  }
  std::ifstream north_log(dir.path() + "/north.log");
  const std::string logged((std::istreambuf_iterator<char>(north_log)), {});
  EXPECT_THAT(logged, HasSubstr("msg=\"alerts recovered after a restore\""));
  EXPECT_THAT(logged, HasSubstr(" lost=0 "));
  EXPECT_THAT(logged, Not(HasSubstr(" recovered=0 ")));
  std::ifstream backup_log(dir.path() + "/backup.log");
  const std::string said((std::istreambuf_iterator<char>(backup_log)), {});
  EXPECT_THAT(said, HasSubstr("in use by a running server"));
  EXPECT_THAT(said, HasSubstr("restored backup 1 of "));

  // The hub too: backed up online, restored stopped, serving again.
  const std::string hub = absl::StrCat(
      DECONFLICTION_HUB_BINARY, " --config=", dir.path(), "/hub.textproto");
  ASSERT_EQ(std::system(absl::StrCat(hub, " --backup_to=", dir.path(),
                                     "/backups/hub >> ", dir.path(),
                                     "/backup.log 2>&1")
                            .c_str()),
            0);
  ASSERT_EQ(federation.hub().Terminate(), 0);
  ASSERT_EQ(std::system(absl::StrCat(hub, " --restore_from=", dir.path(),
                                     "/backups/hub >> ", dir.path(),
                                     "/backup.log 2>&1")
                            .c_str()),
            0);
  ASSERT_TRUE(federation.StartHub());
  AwaitSentinel(&federation, "north", &resumed, "south", &south,
                "after-hub-restore");
  EXPECT_THAT(resumed.all(), SizeIs(2));
}

}  // namespace
}  // namespace deconfliction

// The metrics registry's Prometheus text exposition, parsed back line by
// line, and the listener that serves it.
#include "metrics/metrics.h"

#include <httplib.h>

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "metrics/metrics_listener.h"
#include "tests/exposition.h"

namespace deconfliction {
namespace {

using ::testing::HasSubstr;

TEST(MetricsTest, TheExpositionParsesBackWithEveryFamilyTyped) {
  MetricsRegistry registry;
  CounterFamily* answers = registry.AddCounterFamily(
      "deconfliction_custodian_answers_total", "Answers.\nBy outcome.",
      {"custodian", "outcome"});
  answers->WithLabels({"alpha", "valid"}).Increment(3);
  answers->WithLabels({"beta", "invalid"}).Increment();
  // Hostile label text is escaped, never breaking the line.
  answers->WithLabels({"q\"uo\\te\nnew", "valid"}).Increment();
  registry.AddCounterFamily("deconfliction_plain_total", "Unlabelled.");
  registry.AddGauge("deconfliction_queue_depth", "Depth.", [] { return 7.5; });
  // A timestamp and a large count keep every digit.
  registry.AddGauge("deconfliction_expiry_timestamp_seconds", "When.",
                    [] { return 1827490123.25; });
  registry.AddGaugeFamily("deconfliction_bytes", "Bytes.", {"store"}, [] {
    return std::vector<MetricsRegistry::GaugeSample>{{{"a"}, 123456789012.0}};
  });
  registry.AddInfo("deconfliction_build_info", "Build.",
                   {{"version", "1.2.3"}});
  HistogramFamily* seconds = registry.AddHistogramFamily(
      "deconfliction_call_seconds", "Time.", {"method"}, {0.01, 0.1, 1});
  Histogram& check = seconds->WithLabels({"/a.B/Check"});
  for (double value : {0.005, 0.01, 0.05, 0.5, 7.0}) check.Observe(value);

  const std::string text = registry.Exposition();
  const Parsed parsed = Parse(text);
  EXPECT_THAT(parsed.malformed, ::testing::IsEmpty()) << text;
  EXPECT_EQ(parsed.types.at("deconfliction_custodian_answers_total"),
            "counter");
  EXPECT_EQ(parsed.types.at("deconfliction_queue_depth"), "gauge");
  EXPECT_EQ(parsed.samples.at("deconfliction_custodian_answers_total{"
                              "custodian=\"alpha\",outcome=\"valid\"}"),
            3);
  EXPECT_EQ(parsed.samples.at("deconfliction_custodian_answers_total{"
                              "custodian=\"beta\",outcome=\"invalid\"}"),
            1);
  EXPECT_EQ(parsed.samples.at("deconfliction_custodian_answers_total{"
                              "custodian=\"q\\\"uo\\\\te\\nnew\",outcome="
                              "\"valid\"}"),
            1);
  EXPECT_EQ(parsed.samples.at("deconfliction_plain_total"), 0);
  EXPECT_EQ(parsed.samples.at("deconfliction_queue_depth"), 7.5);
  EXPECT_EQ(parsed.samples.at("deconfliction_expiry_timestamp_seconds"),
            1827490123.25);
  EXPECT_THAT(text,
              HasSubstr("\ndeconfliction_bytes{store=\"a\"} 123456789012\n"));
  EXPECT_EQ(parsed.samples.at("deconfliction_build_info{version=\"1.2.3\"}"),
            1);
  // A histogram: cumulative buckets (a bound holds values equal to it), the
  // implied +Inf, the sum and the count.
  EXPECT_EQ(parsed.types.at("deconfliction_call_seconds"), "histogram");
  const std::string series =
      "deconfliction_call_seconds_bucket{method=\"/a.B/Check\",le=";
  EXPECT_EQ(parsed.samples.at(series + "\"0.01\"}"), 2);
  EXPECT_EQ(parsed.samples.at(series + "\"0.1\"}"), 3);
  EXPECT_EQ(parsed.samples.at(series + "\"1\"}"), 4);
  EXPECT_EQ(parsed.samples.at(series + "\"+Inf\"}"), 5);
  EXPECT_DOUBLE_EQ(parsed.samples.at(
                       "deconfliction_call_seconds_sum{method=\"/a.B/Check\"}"),
                   7.565);
  EXPECT_EQ(parsed.samples.at(
                "deconfliction_call_seconds_count{method=\"/a.B/Check\"}"),
            5);
  // The HELP text's newline is escaped too.
  EXPECT_THAT(text, HasSubstr("# HELP deconfliction_custodian_answers_total "
                              "Answers.\\nBy outcome.\n"));
}

TEST(MetricsTest, TheListenerServesTheExpositionAndNothingElse) {
  MetricsRegistry registry;
  registry.AddCounterFamily("deconfliction_requests_total", "Requests.")
      ->WithLabels({})
      .Increment(2);
  auto listener = MetricsListener::Start("127.0.0.1:0", &registry);
  ASSERT_TRUE(listener.ok()) << listener.status();
  ASSERT_GT((*listener)->port(), 0);
  httplib::Client client("127.0.0.1", (*listener)->port());
  client.set_connection_timeout(5);
  client.set_read_timeout(5);
  auto scraped = client.Get("/metrics");
  ASSERT_TRUE(scraped);
  EXPECT_EQ(scraped->status, 200);
  EXPECT_THAT(scraped->get_header_value("Content-Type"),
              HasSubstr("version=0.0.4"));
  EXPECT_EQ(Parse(scraped->body).samples.at("deconfliction_requests_total"), 2);
  auto other = client.Get("/");
  ASSERT_TRUE(other);
  EXPECT_EQ(other->status, 404);
  auto posted = client.Post("/metrics", "x", "text/plain");
  ASSERT_TRUE(posted);
  EXPECT_NE(posted->status, 200);
}

TEST(MetricsTest, AMalformedOrTakenAddressIsRefused) {
  MetricsRegistry registry;
  EXPECT_EQ(MetricsListener::Start("no-port", &registry).status().code(),
            absl::StatusCode::kInvalidArgument);
  auto first = MetricsListener::Start("127.0.0.1:0", &registry);
  ASSERT_TRUE(first.ok());
  const std::string taken = "127.0.0.1:" + std::to_string((*first)->port());
  EXPECT_EQ(MetricsListener::Start(taken, &registry).status().code(),
            absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace deconfliction

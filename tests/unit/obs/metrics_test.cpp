// The Prometheus rendering of /metrics (text exposition format 0.0.4): every family once
// with its HELP and TYPE, one sample per shard labelled with the shard's number, values as
// set, counters named *_total (or *_sum/*_count of a summary-like pair), the latency sum in
// seconds, latency histograms summed over the shards with cumulative buckets, and nothing a
// scraper would refuse (checked line by line against the format).
#include <gtest/gtest.h>

#include <cctype>
#include <cstdint>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "obs/metrics.h"

namespace wsa {
namespace {

struct sample {
  std::string name;
  std::string labels;  // without braces
  std::string value;
};

struct exposition {
  std::vector<std::string> family_order;
  std::map<std::string, std::string> type;  // family -> type
  std::map<std::string, std::string> help;
  std::vector<sample> samples;
};

bool valid_metric_name(const std::string& s) {
  if (s.empty() || !(std::isalpha(static_cast<unsigned char>(s[0])) || s[0] == '_' ||
                     s[0] == ':')) {
    return false;
  }
  for (char c : s) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == ':')) {
      return false;
    }
  }
  return true;
}

// A strict reading of the text format: comment lines "# HELP name text" and "# TYPE name
// type" (TYPE before the family's samples, once), sample lines "name{labels} value".
void parse(const std::string& text, exposition& e) {
  EXPECT_FALSE(text.empty());
  EXPECT_EQ(text.back(), '\n') << "the last line must end in a newline";
  std::istringstream lines(text);
  std::string line;
  std::set<std::string> seen_samples;
  while (std::getline(lines, line)) {
    SCOPED_TRACE(line);
    ASSERT_FALSE(line.empty());
    if (line.starts_with("# ")) {
      std::istringstream words(line.substr(2));
      std::string keyword;
      std::string name;
      words >> keyword >> name;
      std::string rest;
      std::getline(words, rest);
      ASSERT_TRUE(valid_metric_name(name));
      if (keyword == "TYPE") {
        EXPECT_FALSE(e.type.contains(name)) << "TYPE given twice";
        EXPECT_TRUE(rest == " counter" || rest == " gauge" || rest == " histogram") << rest;
        e.type[name] = rest.substr(1);
        e.family_order.push_back(name);
      } else {
        ASSERT_EQ(keyword, "HELP");
        EXPECT_FALSE(e.help.contains(name)) << "HELP given twice";
        EXPECT_FALSE(rest.empty());
        e.help[name] = rest;
      }
      continue;
    }
    sample s;
    const std::size_t brace = line.find('{');
    const std::size_t space = line.rfind(' ');
    ASSERT_NE(space, std::string::npos);
    if (brace != std::string::npos && brace < space) {
      s.name = line.substr(0, brace);
      const std::size_t close = line.find('}', brace);
      ASSERT_EQ(close + 1, space) << "labels, then one space, then the value";
      s.labels = line.substr(brace + 1, close - brace - 1);
    } else {
      s.name = line.substr(0, space);
    }
    s.value = line.substr(space + 1);
    ASSERT_TRUE(valid_metric_name(s.name));
    ASSERT_FALSE(e.family_order.empty()) << "a sample before any TYPE";
    const std::string& family = e.family_order.back();
    if (e.type.at(family) == "histogram") {
      // family_bucket{le="..."} (cumulative, ending in +Inf), family_sum, family_count.
      EXPECT_TRUE(s.name == family + "_bucket" || s.name == family + "_sum" ||
                  s.name == family + "_count")
          << "samples of a family must be together";
      EXPECT_EQ(s.name == family + "_bucket", s.labels.starts_with("le=\"")) << s.labels;
    } else {
      ASSERT_TRUE(e.type.contains(s.name)) << "a sample before (or without) its TYPE";
      EXPECT_EQ(s.name, family) << "samples of a family must be together";
    }
    std::size_t used = 0;
    (void)std::stod(s.value, &used);
    EXPECT_EQ(used, s.value.size()) << "not a number: " << s.value;
    EXPECT_TRUE(seen_samples.insert(s.name + "{" + s.labels + "}").second) << "duplicate";
    e.samples.push_back(s);
  }
}

std::string value_of(const exposition& e, const std::string& name, const std::string& labels) {
  for (const sample& s : e.samples) {
    if (s.name == name && s.labels == labels) {
      return s.value;
    }
  }
  return "(absent)";
}

TEST(PrometheusRendering, EveryFamilyOnceWithHelpTypeAndOneSamplePerShard) {
  shard_metrics a;
  shard_metrics b;
  const shard_metrics* blocks[] = {&a, &b};
  std::string text;
  render_prometheus(text, blocks, true);
  exposition e;
  parse(text, e);
  ASSERT_FALSE(e.family_order.empty());
  for (const std::string& family : e.family_order) {
    SCOPED_TRACE(family);
    EXPECT_TRUE(family.starts_with("wsagent_"));
    EXPECT_TRUE(e.help.contains(family)) << "no HELP";
    if (e.type.at(family) == "histogram") {
      EXPECT_TRUE(family.ends_with("_seconds")) << "latencies are in seconds";
      EXPECT_EQ(value_of(e, family + "_bucket", "le=\"+Inf\""), "0");
      EXPECT_EQ(value_of(e, family + "_count", ""), "0");
      continue;
    }
    const bool counter = e.type.at(family) == "counter";
    const bool pair_part = family.ends_with("_sum") || family.ends_with("_count");
    EXPECT_EQ(counter, family.ends_with("_total") || pair_part)
        << "counters are named *_total, gauges are not";
    if (family == "wsagent_ready") {
      continue;
    }
    EXPECT_EQ(std::stod(value_of(e, family, "shard=\"0\"")), 0.0);
    EXPECT_EQ(std::stod(value_of(e, family, "shard=\"1\"")), 0.0);
  }
  // The names dashboards and alerts use (docs/ and deploy/ refer to them).
  for (const char* name :
       {"wsagent_ready", "wsagent_connections", "wsagent_websockets",
        "wsagent_connections_accepted_total", "wsagent_connections_refused_total",
        "wsagent_handshake_failures_total", "wsagent_messages_in_total",
        "wsagent_messages_out_total", "wsagent_publishes_total", "wsagent_deliveries_total",
        "wsagent_bytes_in_total", "wsagent_bytes_out_total",
        "wsagent_slow_consumer_closes_total", "wsagent_protocol_errors_total",
        "wsagent_command_errors_total", "wsagent_auth_failures_total",
        "wsagent_token_expiries_total", "wsagent_subscriptions", "wsagent_tags_owned",
        "wsagent_http_requests_total", "wsagent_mailbox_overflows_total",
        "wsagent_broker_pending", "wsagent_broker_errors_total",
        "wsagent_broker_reconnects_total", "wsagent_broker_latency_seconds_sum",
        "wsagent_broker_latency_seconds_count", "wsagent_gap_notices_total"}) {
    EXPECT_TRUE(e.type.contains(name)) << name;
  }
  EXPECT_EQ(value_of(e, "wsagent_ready", ""), "1");
}

TEST(PrometheusRendering, ValuesArePerShardAndTheLatencySumIsInSeconds) {
  shard_metrics a;
  shard_metrics b;
  a.connections.add(3);
  a.connections.sub();
  b.connections.add(5);
  a.publishes.add(7);
  b.slow_consumer_closes.add();
  a.broker_latency_us_sum.add(1'500'000);  // 1.5 s
  a.broker_latency_count.add(3);
  b.broker_latency_us_sum.add(250);        // 250 us
  b.bytes_out.set(18'446'744'073'709'551'615u);
  const shard_metrics* blocks[] = {&a, &b};
  std::string text;
  render_prometheus(text, blocks, false);
  exposition e;
  parse(text, e);
  EXPECT_EQ(value_of(e, "wsagent_ready", ""), "0");
  EXPECT_EQ(value_of(e, "wsagent_connections", "shard=\"0\""), "2");
  EXPECT_EQ(value_of(e, "wsagent_connections", "shard=\"1\""), "5");
  EXPECT_EQ(value_of(e, "wsagent_publishes_total", "shard=\"0\""), "7");
  EXPECT_EQ(value_of(e, "wsagent_slow_consumer_closes_total", "shard=\"1\""), "1");
  EXPECT_EQ(value_of(e, "wsagent_broker_latency_seconds_sum", "shard=\"0\""), "1.500000");
  EXPECT_EQ(value_of(e, "wsagent_broker_latency_seconds_sum", "shard=\"1\""), "0.000250");
  EXPECT_EQ(value_of(e, "wsagent_broker_latency_seconds_count", "shard=\"0\""), "3");
  EXPECT_EQ(value_of(e, "wsagent_bytes_out_total", "shard=\"1\""), "18446744073709551615");
}

TEST(PrometheusRendering, RenderingAppendsAndScalesWithTheShardCount) {
  std::vector<shard_metrics> blocks(12);
  std::vector<const shard_metrics*> pointers;
  for (shard_metrics& m : blocks) {
    pointers.push_back(&m);
  }
  std::string text = "kept\n";
  render_prometheus(text, pointers, true);
  ASSERT_TRUE(text.starts_with("kept\n"));
  exposition e;
  parse(text.substr(5), e);
  EXPECT_EQ(value_of(e, "wsagent_deliveries_total", "shard=\"11\""), "0");
  std::size_t histograms = 0;
  for (const auto& [family, type] : e.type) {
    histograms += type == "histogram" ? 1 : 0;
  }
  // Histograms are one per node: their buckets, +Inf, _sum and _count, whatever the shards.
  const std::size_t per_histogram = latency_histogram::buckets + 2;
  EXPECT_EQ(e.samples.size(),
            1 + (e.family_order.size() - 1 - histograms) * 12 + histograms * per_histogram);
}

TEST(PrometheusRendering, HistogramsAreCumulativeSummedOverShardsAndInSeconds) {
  shard_metrics a;
  shard_metrics b;
  a.broker_publish_latency.observe_us(80);       // <= 100 us
  a.broker_publish_latency.observe_us(100);      // <= 100 us (bounds are inclusive)
  b.broker_publish_latency.observe_us(101);      // <= 250 us
  b.broker_publish_latency.observe_us(3'000);    // <= 5 ms
  a.broker_publish_latency.observe_us(9'000'000);  // past 5 s: +Inf only
  b.redis_command_latency.observe_ns(1'000'000, 3'500'000);  // 2.5 ms
  b.redis_command_latency.observe_ns(5, 1);  // a clock that went backwards counts as 0
  const shard_metrics* blocks[] = {&a, &b};
  std::string text;
  render_prometheus(text, blocks, true);
  exposition e;
  parse(text, e);
  const std::string p = "wsagent_broker_publish_seconds";
  EXPECT_EQ(e.type.at(p), "histogram");
  EXPECT_EQ(value_of(e, p + "_bucket", "le=\"0.0001\""), "2");
  EXPECT_EQ(value_of(e, p + "_bucket", "le=\"0.00025\""), "3");
  EXPECT_EQ(value_of(e, p + "_bucket", "le=\"0.0025\""), "3");
  EXPECT_EQ(value_of(e, p + "_bucket", "le=\"0.005\""), "4");
  EXPECT_EQ(value_of(e, p + "_bucket", "le=\"5\""), "4");
  EXPECT_EQ(value_of(e, p + "_bucket", "le=\"+Inf\""), "5");
  EXPECT_EQ(value_of(e, p + "_count", ""), "5");
  EXPECT_EQ(value_of(e, p + "_sum", ""), "9.003281");
  // Buckets never decrease, in the order of their bounds.
  double last = -1;
  for (const sample& s : e.samples) {
    if (s.name == p + "_bucket") {
      EXPECT_GE(std::stod(s.value), last) << s.labels;
      last = std::stod(s.value);
    }
  }
  const std::string r = "wsagent_redis_command_seconds";
  EXPECT_EQ(value_of(e, r + "_bucket", "le=\"0.0001\""), "1");
  EXPECT_EQ(value_of(e, r + "_bucket", "le=\"0.001\""), "1");
  EXPECT_EQ(value_of(e, r + "_bucket", "le=\"0.0025\""), "2");
  EXPECT_EQ(value_of(e, r + "_count", ""), "2");
  EXPECT_EQ(value_of(e, r + "_sum", ""), "0.002500");
}

}  // namespace
}  // namespace wsa

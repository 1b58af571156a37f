// Tests of the --stats-tag report: valid JSON, totals that add the shards up, per-shard rows.
#include "obs/stats_report.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace wsa {
namespace {

TEST(stats_report, TotalsAndPerShardFigures) {
  shard_metrics a;
  shard_metrics b;
  a.connections.set(2);
  b.connections.set(3);
  a.messages_in.add(10);
  b.messages_out.add(7);
  b.bytes_out.add(1000);
  a.slow_consumer_closes.add(1);
  const std::vector<const shard_metrics*> shards{&a, &b};
  std::string out = "stale";
  render_stats_json(out, "n-1", 1764950400123, shards);
  EXPECT_TRUE(out.starts_with(R"({"node":"n-1","ts":1764950400123,"shards":2,"total":{)")) << out;
  EXPECT_NE(out.find(R"("total":{"connections":5,"websockets":0,"subscriptions":0,"messages_in":10,)"
                     R"("messages_out":7,"publishes":0,"deliveries":0,"bytes_in":0,"bytes_out":1000,)"
                     R"("slow_consumer_closes":1,)"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find(R"("per_shard":[{"connections":2,)"), std::string::npos) << out;
  EXPECT_NE(out.find(R"(},{"connections":3,)"), std::string::npos) << out;
  EXPECT_TRUE(out.ends_with("}]}")) << out;
}

TEST(stats_report, NoShards) {
  std::string out;
  render_stats_json(out, "n", 0, {});
  EXPECT_NE(out.find(R"("shards":0,)"), std::string::npos) << out;
  EXPECT_TRUE(out.ends_with(R"("per_shard":[]})")) << out;
}

}  // namespace
}  // namespace wsa

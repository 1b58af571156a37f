// Tags are client-chosen, so every table keyed by them uses the per-process seeded hash of
// src/pubsub/hash.h (issue 8, "Hash flooding"). Seen from outside through the owner shard
// of a tag (wsagent_tags_owned per shard): a client cannot pick tags that all land on one
// shard by computing a public hash, and two processes place the same tags differently.
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "support/http_client.h"
#include "support/metrics_reader.h"
#include "support/server_process.h"
#include "support/ws_client.h"

namespace wsa::test {
namespace {

void publish(ws_client& client, const std::string& tag) {
  const json_message ok =
      client.call(R"({"op":"pub","id":1,"tag":")" + tag + R"(","data":0})");
  ASSERT_EQ(ok.op(), "ok") << ok.text();
}

TEST(HashSeed, TagsChosenAgainstThePublicHashStillSpreadOverTheShards) {
  // 64 tags that std::hash (libstdc++'s fixed-seed MurmurHash) sends to shard 0 of 2.
  std::vector<std::string> chosen;
  for (int i = 0; chosen.size() < 64; ++i) {
    std::string tag = "crafted." + std::to_string(i);
    if (std::hash<std::string_view>{}(tag) % 2 == 0) {
      chosen.push_back(std::move(tag));
    }
  }
  server_process server({"--no-auth", "--shards", "2"});
  ASSERT_TRUE(server.start());
  ws_client client = ws_client::connect(server.port());
  for (const std::string& tag : chosen) {
    publish(client, tag);
  }
  const std::string metrics = http_get(server.port(), "/metrics").body;
  const uint64_t on_0 = metric_of_shard(metrics, "wsagent_tags_owned", 0);
  const uint64_t on_1 = metric_of_shard(metrics, "wsagent_tags_owned", 1);
  EXPECT_EQ(on_0 + on_1, 64u);
  // Seeded: each tag lands on either shard by chance (all on one: 2^-63).
  EXPECT_GT(on_0, 0u);
  EXPECT_GT(on_1, 0u);
}

// The owner shard of each tag in turn, read from the per-shard tag counts.
std::vector<int> owners_of(const std::vector<std::string>& tags) {
  server_process server({"--no-auth", "--shards", "2"});
  EXPECT_TRUE(server.start());
  ws_client client = ws_client::connect(server.port());
  std::vector<int> owners;
  uint64_t before_1 = 0;
  for (const std::string& tag : tags) {
    publish(client, tag);
    const uint64_t now_1 =
        metric_of_shard(http_get(server.port(), "/metrics").body, "wsagent_tags_owned", 1);
    owners.push_back(now_1 > before_1 ? 1 : 0);
    before_1 = now_1;
  }
  return owners;
}

TEST(HashSeed, EveryProcessDrawsItsOwnSeed) {
  std::vector<std::string> tags;
  for (int i = 0; i < 24; ++i) {
    tags.push_back("seed.t" + std::to_string(i));
  }
  const std::vector<int> first = owners_of(tags);
  const std::vector<int> second = owners_of(tags);
  ASSERT_EQ(first.size(), tags.size());
  // Equal placements of 24 tags under two independent seeds: 2^-24.
  EXPECT_NE(first, second) << "the same owner shards in two processes: a fixed hash";
}

}  // namespace
}  // namespace wsa::test

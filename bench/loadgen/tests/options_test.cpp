// Command line: --url with several nodes of one cluster (bench/capacity spreads connections
// over them), and what it refuses.
#include <gtest/gtest.h>

#include <arpa/inet.h>

#include <string>
#include <vector>

#include "options.h"

namespace wsa::loadgen {
namespace {

int parse(std::vector<std::string> args, options& o, std::string& err) {
  std::vector<char*> argv;
  for (std::string& a : args) {
    argv.push_back(a.data());
  }
  return parse_options(static_cast<int>(argv.size()), argv.data(), o, err);
}

TEST(options, delayed_acks_is_off_unless_asked) {
  options o;
  std::string err;
  ASSERT_EQ(parse({"wsagent-loadgen", "fanout", "--url", "ws://127.0.0.1:9001/ws"}, o, err), 0);
  EXPECT_FALSE(o.delayed_acks);
  options d;
  ASSERT_EQ(parse({"wsagent-loadgen", "fanout", "--url", "ws://127.0.0.1:9001/ws",
                   "--delayed-acks"}, d, err), 0)
      << err;
  EXPECT_TRUE(d.delayed_acks);
}

TEST(options, one_url_one_target) {
  options o;
  std::string err;
  ASSERT_EQ(parse({"wsagent-loadgen", "fanout", "--url", "ws://127.0.0.1:9001/ws"}, o, err), 0)
      << err;
  ASSERT_EQ(o.targets.size(), 1u);
  EXPECT_EQ(ntohs(o.targets[0].addr.sin_port), 9001);
  EXPECT_EQ(o.targets[0].host_header, "127.0.0.1:9001");
  EXPECT_EQ(o.path, "/ws");
}

TEST(options, several_urls_are_the_nodes_in_order) {
  options o;
  std::string err;
  ASSERT_EQ(parse({"wsagent-loadgen", "fanout", "--url",
                   "ws://127.0.0.1:9001/ws,ws://127.0.0.2:9002/ws,ws://localhost:9003/ws"},
                  o, err),
            0)
      << err;
  ASSERT_EQ(o.targets.size(), 3u);
  EXPECT_EQ(ntohs(o.targets[1].addr.sin_port), 9002);
  EXPECT_EQ(ntohl(o.targets[1].addr.sin_addr.s_addr), (127u << 24) | 2u);
  EXPECT_EQ(o.targets[2].host_header, "localhost:9003");
  EXPECT_EQ(o.path, "/ws");
}

TEST(options, nodes_with_different_paths_or_a_bad_one_are_refused) {
  options o;
  std::string err;
  EXPECT_EQ(parse({"wsagent-loadgen", "fanout", "--url", "ws://127.0.0.1:1/ws,ws://127.0.0.1:2/x"},
                  o, err),
            -1);
  EXPECT_NE(err.find("same path"), std::string::npos) << err;
  options o2;
  EXPECT_EQ(parse({"wsagent-loadgen", "fanout", "--url", "ws://127.0.0.1:1/ws,"}, o2, err), -1);
  options o3;
  EXPECT_EQ(parse({"wsagent-loadgen", "fanout", "--url", "ws://127.0.0.1:1/ws,mqtt://127.0.0.1:2"},
                  o3, err),
            -1);
}

}  // namespace
}  // namespace wsa::loadgen

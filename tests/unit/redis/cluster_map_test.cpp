// Key slots (against the cluster spec's examples; the comparison with a real Redis is in
// cluster_client_test.cpp), CLUSTER SLOTS replies as Redis 7 writes them and as a broken or
// hostile server might, redirections and cluster errors, numeric addresses.
#include "redis/cluster_map.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>

#include <string>
#include <vector>

#include "redis/address.h"
#include "redis/resp_reader.h"
#include "redis/slot.h"

namespace wsa {
namespace {

TEST(key_slot, crc16_check_value_and_spec_examples) {
  // CRC-16/XMODEM's check value, as in the cluster spec's reference implementation.
  EXPECT_EQ(crc16_xmodem("123456789"), 0x31c3);
  EXPECT_EQ(key_slot("123456789"), 0x31c3 & 16383);
  EXPECT_EQ(key_slot("foo"), 12182);
  EXPECT_EQ(key_slot("bar"), 5061);
  EXPECT_EQ(key_slot(""), 0);
}

TEST(key_slot, hash_tags) {
  // Only what is between the first '{' and the next '}' counts, when it is not empty.
  EXPECT_EQ(key_slot("{user1000}.following"), key_slot("user1000"));
  EXPECT_EQ(key_slot("{user1000}.followers"), key_slot("user1000"));
  EXPECT_EQ(key_slot("foo{}{bar}"), crc16_xmodem("foo{}{bar}") & 16383);
  EXPECT_EQ(key_slot("foo{{bar}}zap"), key_slot("{bar"));
  EXPECT_EQ(key_slot("foo{bar}{zap}"), key_slot("bar"));
  EXPECT_EQ(key_slot("{unclosed"), crc16_xmodem("{unclosed") & 16383);
  // A tag's keys and channel share one slot.
  const uint16_t s = key_slot("chat.lobby");
  EXPECT_EQ(key_slot("wsa:{chat.lobby}:seq"), s);
  EXPECT_EQ(key_slot("wsa:{chat.lobby}:log"), s);
  EXPECT_EQ(key_slot("wsa:{chat.lobby}"), s);
}

// Parses one RESP reply from its bytes; the reader must outlive the view.
class reply_reader {
 public:
  resp_view parse(const std::string& bytes) {
    reader_.reset();
    EXPECT_TRUE(reader_.feed(bytes.data(), bytes.size()));
    resp_view v;
    EXPECT_EQ(reader_.next(v), resp_reader::result::reply);
    return v;
  }

 private:
  resp_reader reader_;
};

std::string bulk(std::string_view s) {
  return "$" + std::to_string(s.size()) + "\r\n" + std::string(s) + "\r\n";
}
std::string integer(long v) { return ":" + std::to_string(v) + "\r\n"; }
std::string array(std::initializer_list<std::string> items) {
  std::string out = "*" + std::to_string(items.size()) + "\r\n";
  for (const std::string& i : items) {
    out += i;
  }
  return out;
}

// A Redis 7 master entry: [host, port, id, [metadata...]].
std::string master(std::string host, long port, std::string id,
                   std::initializer_list<std::string> meta = {}) {
  return array({host.empty() ? "$-1\r\n" : bulk(host), integer(port), bulk(id), array(meta)});
}

TEST(parse_cluster_slots, redis_7_reply_with_replicas) {
  reply_reader r;
  const std::string bytes =
      array({array({integer(0), integer(5460), master("127.0.0.1", 7001, "aaa"),
                    master("127.0.0.1", 7004, "ddd")}),
             array({integer(5461), integer(16383), master("::1", 7002, "bbb")})});
  std::vector<cluster_slot_range> out;
  std::string why;
  ASSERT_TRUE(parse_cluster_slots(r.parse(bytes), out, why)) << why;
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].first, 0);
  EXPECT_EQ(out[0].last, 5460);
  EXPECT_EQ(out[0].host, "127.0.0.1");
  EXPECT_EQ(out[0].port, 7001);
  EXPECT_EQ(out[0].id, "aaa");  // the master, not the replica after it
  EXPECT_EQ(out[1].host, "::1");
  EXPECT_EQ(out[1].last, 16383);
}

TEST(parse_cluster_slots, hostname_endpoint_uses_the_ip_metadata) {
  reply_reader r;
  const std::string bytes = array(
      {array({integer(0), integer(16383),
              master("redis-0.example", 6379, "aaa",
                     {bulk("hostname"), bulk("redis-0.example"), bulk("ip"), bulk("10.0.0.7")})})});
  std::vector<cluster_slot_range> out;
  std::string why;
  ASSERT_TRUE(parse_cluster_slots(r.parse(bytes), out, why)) << why;
  EXPECT_EQ(out[0].host, "10.0.0.7");
}

TEST(parse_cluster_slots, unknown_endpoint_is_empty) {
  reply_reader r;
  const std::string bytes = array({array({integer(0), integer(16383), master("", 7001, "a")})});
  std::vector<cluster_slot_range> out;
  std::string why;
  ASSERT_TRUE(parse_cluster_slots(r.parse(bytes), out, why)) << why;
  EXPECT_EQ(out[0].host, "");
}

TEST(parse_cluster_slots, refuses_anything_malformed) {
  const std::vector<std::string> bad = {
      "-ERR This instance has cluster support disabled\r\n",
      ":1\r\n",
      array({integer(5)}),
      array({array({integer(0), integer(16384), master("127.0.0.1", 1, "a")})}),
      array({array({integer(10), integer(9), master("127.0.0.1", 1, "a")})}),
      array({array({integer(-1), integer(9), master("127.0.0.1", 1, "a")})}),
      array({array({integer(0), integer(9), master("127.0.0.1", 0, "a")})}),
      array({array({integer(0), integer(9), master("127.0.0.1", 65536, "a")})}),
      array({array({integer(0), integer(9), array({bulk("127.0.0.1")})})}),
      array({array({bulk("0"), integer(9), master("127.0.0.1", 1, "a")})}),
      array({array({integer(0), integer(9), array({bulk("h"), bulk("1"), bulk("a")})})}),
  };
  for (const std::string& bytes : bad) {
    reply_reader r;
    std::vector<cluster_slot_range> out;
    std::string why;
    EXPECT_FALSE(parse_cluster_slots(r.parse(bytes), out, why)) << bytes;
    EXPECT_FALSE(why.empty());
  }
}

TEST(parse_redirect, moved_and_ask) {
  cluster_redirect r = parse_redirect("MOVED 3999 127.0.0.1:6381");
  EXPECT_EQ(r.type, cluster_redirect::kind::moved);
  EXPECT_EQ(r.slot, 3999);
  EXPECT_EQ(r.host, "127.0.0.1");
  EXPECT_EQ(r.port, 6381);
  r = parse_redirect("ASK 16383 ::1:7000");
  EXPECT_EQ(r.type, cluster_redirect::kind::ask);
  EXPECT_EQ(r.slot, 16383);
  EXPECT_EQ(r.host, "::1");
  EXPECT_EQ(r.port, 7000);
  r = parse_redirect("MOVED 1 :7000");  // unknown endpoint: the node that answered
  EXPECT_EQ(r.type, cluster_redirect::kind::moved);
  EXPECT_EQ(r.host, "");
}

TEST(parse_redirect, other_errors_and_malformed_ones_are_not_redirections) {
  for (const char* text :
       {"ERR unknown command", "MOVED", "MOVED 16384 127.0.0.1:1", "MOVED x 127.0.0.1:1",
        "MOVED 1 127.0.0.1", "MOVED 1 127.0.0.1:0", "MOVED 1 127.0.0.1:70000", "ASKING 1 a:1",
        "MOVEDX 1 a:1", "TRYAGAIN Multiple keys request during rehashing of slot"}) {
    EXPECT_EQ(parse_redirect(text).type, cluster_redirect::kind::none) << text;
  }
  EXPECT_TRUE(is_tryagain_error("TRYAGAIN Multiple keys request during rehashing of slot"));
  EXPECT_TRUE(is_clusterdown_error("CLUSTERDOWN The cluster is down"));
  EXPECT_TRUE(is_noscript_error("NOSCRIPT No matching script. Please use EVAL."));
  EXPECT_FALSE(is_tryagain_error("TRYAGAINX"));
}

TEST(numeric_redis_address, ipv4_ipv6_and_names) {
  redis_address a;
  ASSERT_TRUE(numeric_redis_address("127.0.0.1", 7001, a));
  EXPECT_EQ(a.text, "127.0.0.1:7001");
  EXPECT_EQ(a.storage.ss_family, AF_INET);
  EXPECT_EQ(ntohs(reinterpret_cast<sockaddr_in&>(a.storage).sin_port), 7001);
  redis_address b;
  ASSERT_TRUE(numeric_redis_address("::1", 7001, b));
  EXPECT_EQ(b.text, "[::1]:7001");
  EXPECT_EQ(b.storage.ss_family, AF_INET6);
  EXPECT_FALSE(same_endpoint(a, b));
  redis_address c;
  ASSERT_TRUE(numeric_redis_address("127.0.0.1", 7001, c));
  EXPECT_TRUE(same_endpoint(a, c));
  ASSERT_TRUE(numeric_redis_address("127.0.0.1", 7002, c));
  EXPECT_FALSE(same_endpoint(a, c));
  EXPECT_FALSE(numeric_redis_address("localhost", 7001, c));  // never resolves names
  EXPECT_FALSE(numeric_redis_address("", 7001, c));
  EXPECT_FALSE(numeric_redis_address("127.0.0.1", 0, c));
  EXPECT_FALSE(numeric_redis_address(std::string(100, '1'), 7001, c));
}

}  // namespace
}  // namespace wsa

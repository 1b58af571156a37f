// The publisher's metadata kept with a message (mqtt/message_meta.h): round trips, the
// defaults of a message without any, and metadata that does not read back (written by
// another node) refused rather than sent.
#include "mqtt/message_meta.h"

#include <gtest/gtest.h>

#include <string>

#include "hex.h"

namespace wsa::mqtt {
namespace {

using test::unhex;

// Content type "a/b", a user property k=v, payload format 1: MQTT's own encoding.
const std::string forwarded = unhex("03 0003 612f62  26 0001 6b 0001 76  01 01");

TEST(message_meta, round_trips_every_field) {
  std::string out;
  write_message_meta({2, true, 3600, 0x0102030405060708ull, forwarded}, out);
  EXPECT_EQ(out.size(), message_meta_header + forwarded.size());
  message_meta m;
  ASSERT_TRUE(read_message_meta(out, m));
  EXPECT_EQ(m.qos, 2);
  EXPECT_TRUE(m.retain);
  EXPECT_EQ(m.expiry_s, 3600u);
  EXPECT_EQ(m.publisher, 0x0102030405060708ull);
  EXPECT_EQ(m.forwarded, forwarded);
}

TEST(message_meta, small_when_there_is_little_to_carry) {
  std::string out;
  write_message_meta({0, false, 0, 0, {}}, out);
  EXPECT_EQ(out.size(), 1u);
  message_meta m;
  ASSERT_TRUE(read_message_meta(out, m));
  EXPECT_EQ(m.qos, 0);
  EXPECT_FALSE(m.retain);
  EXPECT_EQ(m.expiry_s, 0u);
  EXPECT_EQ(m.publisher, 0u);
  EXPECT_TRUE(m.forwarded.empty());
}

TEST(message_meta, none_reads_as_a_websocket_publish) {
  message_meta m;
  ASSERT_TRUE(read_message_meta({}, m));
  EXPECT_EQ(m.qos, 1);
  EXPECT_FALSE(m.retain);
  EXPECT_EQ(m.expiry_s, 0u);
  EXPECT_EQ(m.publisher, 0u);
}

TEST(message_meta, malformed_metadata_is_refused_with_the_defaults) {
  std::string good;
  write_message_meta({1, true, 10, 7, forwarded}, good);
  for (const std::string& bad :
       {unhex("03"),                            // QoS 3
        unhex("20"),                            // an unknown flag
        unhex("10 0102"),                       // publisher cut short
        unhex("08 00"),                         // expiry cut short
        unhex("00 23 0001"),                    // topic alias: not a forwarded property
        unhex("00 26 0001 6b 0005 76"),         // user property value cut short
        good.substr(0, good.size() - 1)}) {     // the last property cut short
    message_meta m;
    EXPECT_FALSE(read_message_meta(bad, m)) << test::hex(bad);
    EXPECT_EQ(m.qos, 1);
    EXPECT_TRUE(m.forwarded.empty());
  }
}

TEST(message_meta, session_hash_is_stable_and_never_zero) {
  EXPECT_EQ(session_hash("alice\ndevice-1"), session_hash("alice\ndevice-1"));
  EXPECT_NE(session_hash("alice\ndevice-1"), session_hash("bob\ndevice-1"));
  EXPECT_NE(session_hash(""), 0u);
  // FNV-1a 64 of "a": the same on every node and build.
  EXPECT_EQ(session_hash("a"), 0xaf63dc4c8601ec8cull);
}

}  // namespace
}  // namespace wsa::mqtt

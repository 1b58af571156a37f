// The decoder on what real clients sent (captures.h): every packet decodes to the fields the
// clients were asked to send, whatever the pieces the bytes arrive in.
#include <gtest/gtest.h>

#include <random>
#include <span>
#include <string>
#include <vector>

#include "captures.h"
#include "decode_util.h"

namespace wsa::mqtt::test {
namespace {

std::string client_bytes(std::span<const captured_chunk> chunks) {
  std::string out;
  for (const captured_chunk& c : chunks) {
    if (c.from_client) {
      out += unhex(c.hex);
    }
  }
  return out;
}

// Whole, then byte by byte, then every split in two, then random pieces: same packets.
void expect_decodes(std::span<const captured_chunk> chunks,
                    const std::vector<std::string>& expected) {
  const std::string bytes = client_bytes(chunks);
  EXPECT_EQ(decode_all(bytes), expected);
  EXPECT_EQ(decode_all(bytes, std::vector<std::size_t>(bytes.size(), 1)), expected);
  for (std::size_t cut = 1; cut < bytes.size(); ++cut) {
    ASSERT_EQ(decode_all(bytes, {cut}), expected) << "split at " << cut;
  }
  std::mt19937 rng(12345);
  for (int round = 0; round < 200; ++round) {
    std::vector<std::size_t> pieces;
    for (std::size_t left = bytes.size(); left > 0;) {
      const std::size_t n = std::min<std::size_t>(left, 1 + rng() % 40);
      pieces.push_back(n);
      left -= n;
    }
    ASSERT_EQ(decode_all(bytes, pieces), expected) << "round " << round;
  }
}

TEST(mqtt_decoder_capture, mosquitto_sub_v311) {
  expect_decodes(sub311, {
                             "CONNECT v311 id=sub311 keep ka=60 user=user pass=tok311",
                             "SUBSCRIBE id=1 sensors/+/temp:q1 a/#:q1",
                             "PUBACK id=1",
                             "PUBACK id=2",
                             "DISCONNECT",
                         });
}

TEST(mqtt_decoder_capture, mosquitto_pub_v311) {
  expect_decodes(pub311, {
                             "CONNECT v311 id=pub311 clean ka=60 user=user pass=tok311",
                             "PUBLISH q1 id=1 topic=sensors/x/temp payload={\"t\":21.5}",
                             "DISCONNECT",
                         });
  expect_decodes(pub311_qos2_will, {
                                       "CONNECT v311 id=pub311b clean ka=30 will=dev/gone:bye:q1:r",
                                       "PUBLISH q2 id=1 topic=a/b payload=hello",
                                       "PUBREL id=1",
                                       "DISCONNECT",
                                   });
}

TEST(mqtt_decoder_capture, mosquitto_v5) {
  expect_decodes(
      sub5,
      {
          "CONNECT v5 id=sub5 keep ka=60 pass=tok5 session_expiry=3600 receive_max=10 alias_max=5 "
          "user:dev=kind",
          "SUBSCRIBE id=1 sensors/#:q1 sub_id=7",
          "PUBACK id=1",
          "DISCONNECT",
      });
  expect_decodes(
      pub5,
      {
          "CONNECT v5 id=pub5 clean ka=60 receive_max=20",
          "PUBLISH q1 id=1 topic=sensors/y payload=21.5 format=1 expiry=60 content_type=text/plain "
          "response_topic=reply/here correlation=abc user:unit=C",
          "DISCONNECT",
      });
  expect_decodes(pub5_alias, {
                                 "CONNECT v5 id=pub5b clean ka=60 receive_max=20",
                                 "PUBLISH q0 topic=sensors/z payload=\\x00\\x01\\xff alias=3",
                                 "DISCONNECT",
                             });
}

TEST(mqtt_decoder_capture, paho) {
  expect_decodes(
      paho311,
      {
          "CONNECT v311 id=paho311 keep ka=20 will=dev/paho/status:offline:q1:r user=ignored "
          "pass=jwt.token.here",
          "SUBSCRIBE id=1 t/#:q2 u/+:q1",
          "PUBLISH q2 id=2 topic=u/x payload=\\x00binary\\xff",
          "PUBLISH q1 id=3 topic=u/y payload=text payload",
          "PUBREL id=2",
          "PUBACK id=1",
          "PUBACK id=2",
          "UNSUBSCRIBE id=4 t/# u/+",
          "DISCONNECT",
      });
  expect_decodes(
      paho5, {
                 "CONNECT v5 id=paho5 clean ka=20 will=dev/paho/status:offline:q1:r user=ignored "
                 "pass=jwt.token.here session_expiry=60 alias_max=4",
                 "SUBSCRIBE id=1 t/#:q2:nl:rap:rh1 u/+:q1 sub_id=42",
                 "PUBLISH q2 id=2 topic=u/x payload=\\x00binary\\xff alias=2 user:a=1 user:b=2",
                 "PUBLISH q1 id=3 topic=u/y payload=text payload",
                 "PUBREL id=2",
                 "PUBACK id=1",
                 "PUBACK id=2",
                 "UNSUBSCRIBE id=4 t/# u/+",
                 "DISCONNECT session_expiry=0",
             });
}

TEST(mqtt_decoder_capture, zero_copy_when_whole) {
  const std::string bytes = client_bytes(pub311);
  decoder d(1 << 20);
  std::string_view input(bytes);
  packet p;
  decode_error e;
  ASSERT_EQ(d.next(input, p, e), decode_status::packet);
  ASSERT_EQ(d.next(input, p, e), decode_status::packet);
  ASSERT_EQ(p.type, packet_type::publish);
  // The payload is a view into the caller's bytes, not a copy.
  EXPECT_GE(p.publish.payload.data(), bytes.data());
  EXPECT_LE(p.publish.payload.data() + p.publish.payload.size(), bytes.data() + bytes.size());
  EXPECT_EQ(d.buffered(), 0u);
}

}  // namespace
}  // namespace wsa::mqtt::test

// WebSocket and MQTT codec tests: the handshake key/accept pair against RFC 6455's example,
// response checks, header sizes at the 125/126/65535/65536 boundaries, masking, and MQTT
// framing and packets against hand-assembled bytes.
#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "mqtt_codec.h"
#include "ws_codec.h"

namespace wsa::loadgen {
namespace {

TEST(ws_codec, accept_matches_rfc6455_example) {
  // RFC 6455 section 1.3: key dGhlIHNhbXBsZSBub25jZQ== -> s3pPLMBiTxaQ9kYGzzhZRbK+xOo=
  const unsigned char nonce[] = "the sample nonce";
  uint64_t a;
  uint64_t b;
  std::memcpy(&a, nonce, 8);
  std::memcpy(&b, nonce + 8, 8);
  char key[ws_key_size];
  char accept[ws_accept_size];
  ws_make_key(a, b, key, accept);
  EXPECT_EQ(std::string(key, ws_key_size), "dGhlIHNhbXBsZSBub25jZQ==");
  EXPECT_EQ(std::string(accept, ws_accept_size), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

TEST(ws_codec, request_carries_key_subprotocol_and_token) {
  byte_buffer out;
  ws_write_request(out, "127.0.0.1:8080", "/ws", "dGhlIHNhbXBsZSBub25jZQ==", "wsagent.v1",
                   "abc");
  std::string s(out.data(), out.size());
  EXPECT_EQ(s.rfind("GET /ws HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n", 0), 0u);
  EXPECT_NE(s.find("Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"), std::string::npos);
  EXPECT_NE(s.find("Sec-WebSocket-Protocol: wsagent.v1\r\n"), std::string::npos);
  EXPECT_NE(s.find("Authorization: Bearer abc\r\n"), std::string::npos);
  EXPECT_EQ(s.substr(s.size() - 4), "\r\n\r\n");
}

TEST(ws_codec, response_check) {
  const char* accept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";
  std::string ok = "HTTP/1.1 101 Switching Protocols\r\nupgrade: WebSocket\r\nConnection: Upgrade\r\n"
                   "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
                   "Sec-WebSocket-Protocol: mqtt\r\n\r\n";
  EXPECT_EQ(ws_check_response(ok, accept, "mqtt", true), nullptr);
  EXPECT_NE(ws_check_response(ok, accept, "wsagent.v1", false), nullptr);  // other protocol
  std::string bad_accept = ok;
  bad_accept.replace(bad_accept.find("s3pP"), 4, "AAAA");
  EXPECT_NE(ws_check_response(bad_accept, accept, "mqtt", true), nullptr);
  std::string no_proto = "HTTP/1.1 101 OK\r\nUpgrade: websocket\r\n"
                         "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";
  EXPECT_EQ(ws_check_response(no_proto, accept, "wsagent.v1", false), nullptr);
  EXPECT_NE(ws_check_response(no_proto, accept, "mqtt", true), nullptr);
  EXPECT_STREQ(ws_check_response("HTTP/1.1 401 Unauthorized\r\n\r\n", accept, "", false),
               "HTTP 401 (token refused)");
}

TEST(ws_codec, header_sizes_and_parse_round_trip) {
  for (std::size_t len : {0u, 1u, 125u, 126u, 65535u, 65536u, 1000000u}) {
    char h[16];
    std::size_t n = ws_write_header(h, ws_text, len, 0x11223344);
    EXPECT_EQ(n, ws_client_header_size(len)) << len;
    ws_frame_header f;
    ASSERT_TRUE(ws_parse_header(h, n, f));
    EXPECT_TRUE(f.fin);
    EXPECT_TRUE(f.masked);
    EXPECT_EQ(f.opcode, ws_text);
    EXPECT_EQ(f.payload, len);
    EXPECT_EQ(f.size, n);
    EXPECT_EQ(f.mask, 0x11223344u);
    EXPECT_FALSE(ws_parse_header(h, n - 1, f)) << "incomplete header must wait";
  }
}

TEST(ws_codec, mask_matches_bytewise_definition) {
  std::string src = "The quick brown fox jumps over the lazy dog, 43 bytes of it.";
  std::string p = src;
  uint32_t mask = 0xa1b2c3d4;
  ws_mask(p.data(), p.size(), mask);
  unsigned char mb[4];
  std::memcpy(mb, &mask, 4);
  for (std::size_t i = 0; i < src.size(); ++i) {
    ASSERT_EQ(static_cast<unsigned char>(p[i]),
              static_cast<unsigned char>(src[i] ^ mb[i % 4])) << i;
  }
  ws_mask(p.data(), p.size(), mask);
  EXPECT_EQ(p, src);
}

TEST(mqtt_codec, varint_boundaries) {
  for (uint32_t v : {0u, 127u, 128u, 16383u, 16384u, 2097151u, 2097152u, mqtt_max_remaining}) {
    char buf[8] = {static_cast<char>(0x30)};
    char* end = mqtt_write_varint(buf + 1, v);
    EXPECT_EQ(static_cast<std::size_t>(end - buf - 1), mqtt_varint_size(v));
    std::size_t header = 0;
    std::size_t total = 0;
    bool malformed = true;
    ASSERT_TRUE(mqtt_packet_size(buf, static_cast<std::size_t>(end - buf), header, total,
                                 malformed));
    EXPECT_FALSE(malformed);
    EXPECT_EQ(total, header + v);
  }
  const char five[] = {0x30, char(0xff), char(0xff), char(0xff), char(0xff), 0x01};
  std::size_t header = 0;
  std::size_t total = 0;
  bool malformed = false;
  EXPECT_FALSE(mqtt_packet_size(five, sizeof five, header, total, malformed));
  EXPECT_TRUE(malformed);
}

TEST(mqtt_codec, connect_and_subscribe_bytes) {
  char buf[64];
  char* end = mqtt_write_connect(buf, "c1", 60, true);
  const unsigned char want[] = {0x10, 14, 0, 4, 'M', 'Q', 'T', 'T', 4, 0x02, 0, 60, 0, 2, 'c', '1'};
  ASSERT_EQ(static_cast<std::size_t>(end - buf), sizeof want);
  EXPECT_EQ(std::memcmp(buf, want, sizeof want), 0);
  end = mqtt_write_subscribe(buf, 1, "a/b", 1);
  const unsigned char sub[] = {0x82, 8, 0, 1, 0, 3, 'a', '/', 'b', 1};
  ASSERT_EQ(static_cast<std::size_t>(end - buf), sizeof sub);
  EXPECT_EQ(std::memcmp(buf, sub, sizeof sub), 0);
}

TEST(mqtt_codec, publish_round_trip_qos0_and_qos1) {
  for (uint8_t qos : {0, 1}) {
    std::string payload(300, 'z');  // two-byte remaining length
    std::size_t size = mqtt_publish_size(8, qos, payload.size());
    std::string pkt(size, '\0');
    char* q = mqtt_write_publish_head(pkt.data(), "bench/t0", qos, 77, payload.size());
    std::memcpy(q, payload.data(), payload.size());
    ASSERT_EQ(static_cast<std::size_t>(q - pkt.data()) + payload.size(), size);
    std::size_t header = 0;
    std::size_t total = 0;
    bool malformed = false;
    ASSERT_TRUE(mqtt_packet_size(pkt.data(), pkt.size(), header, total, malformed));
    ASSERT_EQ(total, size);
    std::string_view topic;
    uint16_t id = 0;
    const char* body = nullptr;
    std::size_t n = 0;
    ASSERT_TRUE(mqtt_parse_publish(static_cast<uint8_t>(pkt[0] & 0x0f), pkt.data() + header,
                                   total - header, topic, id, body, n));
    EXPECT_EQ(topic, "bench/t0");
    EXPECT_EQ(id, qos ? 77 : 0);
    EXPECT_EQ(std::string(body, n), payload);
  }
}

TEST(mqtt_codec, tag_to_topic_per_protocol_mapping) {
  std::string s = "bench.t0.*.>";
  tag_to_topic(s.data(), s.size());
  EXPECT_EQ(s, "bench/t0/+/#");
}

}  // namespace
}  // namespace wsa::loadgen

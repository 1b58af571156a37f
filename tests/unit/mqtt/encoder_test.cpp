// Server packets byte for byte: against what mosquitto 2.0.11 sent in the same situation
// (captures.h) where the packet is the same, against the specification's layouts elsewhere;
// sizes agree with what is written; PUBLISH heads + shared bodies make whole packets that
// the decoder reads back.
#include "mqtt/encoder.h"

#include <gtest/gtest.h>

#include <array>
#include <string>
#include <vector>

#include "decode_util.h"
#include "mqtt/publish.h"

namespace wsa::mqtt::test {
namespace {

// Hex written with spaces for reading, compared without.
std::string norm(std::string_view spaced) { return hex(unhex(spaced)); }

template <class Size, class Write>
std::string encode(Size&& size, Write&& write) {
  std::string out(size() + 16, '\xee');
  char* end = write(out.data());
  EXPECT_EQ(static_cast<std::size_t>(end - out.data()), size());
  out.resize(static_cast<std::size_t>(end - out.data()));
  return hex(out);
}

std::string connack(protocol level, const connack_fields& f) {
  return encode([&] { return connack_size(level, f); },
                [&](char* p) { return write_connack(p, level, f); });
}

std::string ack(protocol level, packet_type type, const ack_fields& f) {
  return encode([&] { return ack_size(level, f); },
                [&](char* p) { return write_ack(p, level, type, f); });
}

std::string suback(protocol level, uint16_t id, std::vector<reason> codes,
                   std::string_view why = {}) {
  return encode([&] { return suback_size(level, codes, why); },
                [&](char* p) { return write_suback(p, level, id, codes, why); });
}

std::string unsuback(protocol level, uint16_t id, std::vector<reason> codes) {
  return encode([&] { return unsuback_size(level, codes); },
                [&](char* p) { return write_unsuback(p, level, id, codes); });
}

std::string disconnect(reason code, std::string_view why = {}, std::string_view ref = {}) {
  return encode([&] { return disconnect_size(code, why, ref); },
                [&](char* p) { return write_disconnect(p, code, why, ref); });
}

TEST(mqtt_encoder, connack_v311) {
  EXPECT_EQ(connack(protocol::v311, {}), norm("20020000"));  // as mosquitto
  connack_fields f;
  f.session_present = true;
  EXPECT_EQ(connack(protocol::v311, f), norm("20020100"));
  f = {};
  f.code = reason::not_authorized;
  EXPECT_EQ(connack(protocol::v311, f), norm("20020005"));
  f.code = reason::unsupported_protocol_version;
  EXPECT_EQ(connack(protocol::v311, f), norm("20020001"));
  f.code = reason::client_identifier_not_valid;
  EXPECT_EQ(connack(protocol::v311, f), norm("20020002"));
  f.code = reason::server_busy;
  EXPECT_EQ(connack(protocol::v311, f), norm("20020003"));
  f.code = reason::bad_user_name_or_password;
  EXPECT_EQ(connack(protocol::v311, f), norm("20020004"));
  f.reason_string = "ignored in 3.1.1";
  EXPECT_EQ(connack(protocol::v311, f), norm("20020004"));
}

TEST(mqtt_encoder, connack_v5) {
  connack_fields f;
  f.shared_subscription_available = true;
  EXPECT_EQ(connack(protocol::v5, f), norm("2003000000"));
  // mosquitto's own defaults (topic alias maximum 10, receive maximum 20), our order.
  f.topic_alias_maximum = 10;
  f.receive_maximum = 20;
  EXPECT_EQ(connack(protocol::v5, f), norm("2009000006210014 22000a"));
  f = {};
  f.session_present = true;
  f.has_session_expiry = true;
  f.session_expiry_interval = 3600;
  f.maximum_packet_size = 1 << 20;
  f.assigned_client_id = "auto-1";
  f.has_server_keep_alive = true;
  f.server_keep_alive = 30;
  EXPECT_EQ(connack(protocol::v5, f),
            norm("201b 01 00 18 1100000e10 2700100000 1200066175746f2d31 2a00 13001e"));
  f = {};
  f.code = reason::not_authorized;
  f.reason_string = "no";
  f.retain_available = false;
  f.maximum_qos = 1;
  f.wildcard_subscription_available = false;
  f.subscription_identifier_available = false;
  EXPECT_EQ(connack(protocol::v5, f), norm("2012 00 87 0f 2401 2500 1f00026e6f 2800 2900 2a00"));
}

TEST(mqtt_encoder, acknowledgements) {
  // As mosquitto sent them (captures.h).
  EXPECT_EQ(ack(protocol::v311, packet_type::puback, {1}), norm("40020001"));
  EXPECT_EQ(ack(protocol::v311, packet_type::pubrec, {2}), norm("50020002"));
  EXPECT_EQ(ack(protocol::v311, packet_type::pubrel, {2}), norm("62020002"));
  EXPECT_EQ(ack(protocol::v311, packet_type::pubcomp, {2}), norm("70020002"));
  EXPECT_EQ(ack(protocol::v5, packet_type::puback, {1, reason::no_matching_subscribers}),
            norm("4003000110"));
  // 5.0 short form for success; reason strings only with a reason code.
  EXPECT_EQ(ack(protocol::v5, packet_type::pubrec, {2}), norm("50020002"));
  EXPECT_EQ(ack(protocol::v5, packet_type::puback, {7, reason::not_authorized, "no"}),
            norm("40 09 0007 87 05 1f00026e6f"));
  EXPECT_EQ(ack(protocol::v5, packet_type::pubcomp, {9, reason::packet_identifier_not_found}),
            norm("7003000992"));
  EXPECT_EQ(ack(protocol::v311, packet_type::puback, {7, reason::not_authorized, "no"}),
            norm("40020007"));
}

TEST(mqtt_encoder, suback_unsuback_ping_disconnect) {
  EXPECT_EQ(suback(protocol::v311, 1, {reason::granted_qos1, reason::granted_qos1}),
            norm("900400010101"));
  EXPECT_EQ(suback(protocol::v5, 1, {reason::granted_qos1, reason::success}),
            norm("9005000100 0100"));
  EXPECT_EQ(suback(protocol::v5, 1, {reason::granted_qos1, reason::granted_qos1}),
            norm("90050001000101"));
  EXPECT_EQ(suback(protocol::v311, 3,
                   {reason::topic_filter_invalid, reason::not_authorized, reason::success}),
            norm("9005000380 8000"));
  EXPECT_EQ(suback(protocol::v5, 3, {reason::topic_filter_invalid, reason::not_authorized}, "bad"),
            norm("900b0003 06 1f0003626164 8f87"));
  EXPECT_EQ(unsuback(protocol::v311, 4, {reason::success, reason::success}), norm("b0020004"));
  EXPECT_EQ(unsuback(protocol::v5, 4, {reason::success, reason::success}), norm("b0050004000000"));
  EXPECT_EQ(unsuback(protocol::v5, 4, {reason::no_subscription_existed}), norm("b00400040011"));
  EXPECT_EQ(encode([] { return pingresp_size; }, [](char* p) { return write_pingresp(p); }),
            norm("d000"));
  EXPECT_EQ(disconnect(reason::success), norm("e000"));
  EXPECT_EQ(disconnect(reason::session_taken_over), norm("e0018e"));
  EXPECT_EQ(disconnect(reason::keep_alive_timeout, "idle"), norm("e0098d 07 1f000469646c65"));
  EXPECT_EQ(disconnect(reason::use_another_server, "", "n2"), norm("e0079c 05 1c00026e32"));
}

std::string publish(protocol level, const outgoing_message& m, const delivery& d) {
  std::string out(head_size(level, m, d) + body_size(level, m), '\xee');
  char* end = write_head(out.data(), level, m, d);
  EXPECT_EQ(static_cast<std::size_t>(end - out.data()), head_size(level, m, d));
  const std::size_t body_at = static_cast<std::size_t>(end - out.data());
  std::string shared(shared_frame_size(level, m), '\xee');
  EXPECT_EQ(write_shared_frame(shared.data(), level, m) - shared.data(),
            static_cast<std::ptrdiff_t>(shared.size()));
  // The body is the tail of the shared frame.
  out.replace(body_at, std::string::npos, shared.substr(shared.size() - body_size(level, m)));
  return hex(out);
}

TEST(mqtt_encoder, publish_as_mosquitto) {
  const outgoing_message hello{"a/b", "hello", {}};
  EXPECT_EQ(publish(protocol::v311, hello, {.qos = 1, .packet_id = 2}),
            norm("320c0003612f62000268656c6c6f"));
  const outgoing_message temp{"sensors/x/temp", "{\"t\":21.5}", {}};
  EXPECT_EQ(publish(protocol::v311, temp, {.qos = 1, .packet_id = 1}),
            norm("321c000e73656e736f72732f782f74656d7000017b2274223a32312e357d"));
  // 5.0 with subscription identifiers and forwarded user properties.
  const std::array<uint32_t, 1> sub42{42};
  EXPECT_EQ(publish(protocol::v5, {"u/y", "text payload", {}},
                    {.qos = 1, .packet_id = 1, .subscription_ids = sub42}),
            norm("32160003752f790001020b2a74657874207061796c6f6164"));
  const std::string user_props = unhex("26000161000131260001620001 32");
  EXPECT_EQ(publish(protocol::v5, {"u/x", std::string_view("\0binary\xff", 8), user_props},
                    {.qos = 1, .packet_id = 2, .subscription_ids = sub42}),
            norm("32200003752f780002100b2a26000161000131260001620001320062696e617279ff"));
  const std::array<uint32_t, 1> sub7{7};
  EXPECT_EQ(publish(protocol::v5, {"sensors/z", std::string_view("\0\1\xff", 3), {}},
                    {.subscription_ids = sub7}),
            norm("3011000973656e736f72732f7a020b070001ff"));
}

TEST(mqtt_encoder, publish_shared_frame_and_variants) {
  const outgoing_message m{"t", "p", {}};
  std::string shared(shared_frame_size(protocol::v311, m), '\0');
  write_shared_frame(shared.data(), protocol::v311, m);
  EXPECT_EQ(hex(shared), norm("3004000174 70"));
  EXPECT_TRUE(uses_shared_frame({}));
  EXPECT_FALSE(uses_shared_frame({.qos = 1, .packet_id = 1}));
  EXPECT_FALSE(uses_shared_frame({.retain = true}));
  EXPECT_FALSE(uses_shared_frame({.topic_alias = 1}));
  EXPECT_FALSE(uses_shared_frame({.has_message_expiry = true}));
  EXPECT_EQ(publish(protocol::v311, m, {}), hex(shared));
  EXPECT_EQ(
      publish(protocol::v311, m, {.qos = 1, .packet_id = 0x1234, .dup = true, .retain = true}),
      norm("3b06000174123470"));
  // 5.0: an alias with its topic, then the alias alone (topic omitted), the expiry left.
  EXPECT_EQ(publish(protocol::v5, m, {}), norm("3005000174 00 70"));
  EXPECT_EQ(publish(protocol::v5, m, {.topic_alias = 3}), norm("3008000174 03 230003 70"));
  EXPECT_EQ(publish(protocol::v5, m, {.topic_alias = 3, .omit_topic = true}),
            norm("30070000 03 230003 70"));
  EXPECT_EQ(
      publish(
          protocol::v5, m,
          {.qos = 1, .packet_id = 9, .has_message_expiry = true, .message_expiry_interval = 59}),
      norm("320c0001740009 05 020000003b 70"));
  const std::string props = unhex("0101 030004 74657874");  // format 1, content type "text"
  EXPECT_EQ(publish(protocol::v5, {"t", "p", props}, {}),
            norm("300e000174 09 0101030004746578 74 70"));
}

TEST(mqtt_encoder, patched_heads_equal_written_heads) {
  const outgoing_message m{"sensors/room-1/temp", std::string(300, 'x'), {}};
  for (protocol level : {protocol::v311, protocol::v5}) {
    const delivery base{.qos = 1, .packet_id = 1};
    std::string head(head_size(level, m, base), '\0');
    write_head(head.data(), level, m, base);
    const std::size_t at = packet_id_offset(level, m, base);
    for (uint16_t id : {uint16_t{2}, uint16_t{255}, uint16_t{256}, uint16_t{65535}}) {
      for (bool dup : {false, true}) {
        std::string patched = head;
        patch_head(patched.data(), at, id, dup);
        delivery d = base;
        d.packet_id = id;
        d.dup = dup;
        std::string written(head_size(level, m, d), '\0');
        write_head(written.data(), level, m, d);
        EXPECT_EQ(hex(patched), hex(written)) << id << dup;
      }
    }
  }
}

TEST(mqtt_encoder, publish_decodes_back) {
  // What the server sends is a PUBLISH the decoder (which reads the same format) accepts,
  // whatever the sizes (remaining lengths of 1 to 3 bytes) and options.
  for (protocol level : {protocol::v311, protocol::v5}) {
    const std::string connect = level == protocol::v5 ? unhex("100e00044d5154540502003c00000163")
                                                      : unhex("100d00044d5154540402003c000163");
    for (std::size_t size : {0, 1, 100, 127, 128, 16'383, 16'384, 70'000}) {
      const std::string payload(size, 'p');
      const std::string props = level == protocol::v5 ? unhex("26000161000162") : "";
      const outgoing_message m{"a/b", payload, props};
      for (const delivery& d : {delivery{}, delivery{.qos = 1, .packet_id = 77, .dup = true},
                                delivery{.retain = true,
                                .topic_alias = 2,
                                .has_message_expiry = true,
                                .message_expiry_interval = 5}}) {
        if (level == protocol::v311 && d.topic_alias != 0) {
          continue;
        }
        std::string bytes(head_size(level, m, d), '\0');
        write_head(bytes.data(), level, m, d);
        bytes += level == protocol::v5 ? props + payload : payload;
        const std::vector<std::string> got = decode_all(connect + bytes);
        ASSERT_EQ(got.size(), 2u);
        std::string expected = "PUBLISH q" + std::to_string(d.qos) + (d.dup ? " dup" : "") +
                               (d.retain ? " retain" : "") +
                               (d.qos ? " id=" + std::to_string(d.packet_id) : "") +
                               " topic=a/b payload=" + payload;
        if (level == protocol::v5) {
          if (d.has_message_expiry) expected += " expiry=5";
          if (d.topic_alias) expected += " alias=2";
          expected += " user:a=b";
        }
        EXPECT_EQ(got[1], expected);
      }
    }
  }
}

}  // namespace
}  // namespace wsa::mqtt::test

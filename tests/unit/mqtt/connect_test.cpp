// CONNECT negotiation: client identifiers, clean session / clean start, session expiry and
// its cap, keep-alive (1.5 x, server keep alive), windows, will checks, enhanced auth
// refused, the CONNACK that says it all (byte for byte for the common cases).
#include "mqtt/connect.h"

#include <gtest/gtest.h>

#include <string>

#include "decode_util.h"
#include "mqtt/encoder.h"

namespace wsa::mqtt::test {
namespace {

// A CONNECT packet with this body (hex).
std::string connect_frame(std::string_view body_hex) { return frame(0x10, body_hex); }

// Decodes one CONNECT.
class mqtt_connect : public ::testing::Test {
 protected:
  const connect_packet& decode(const std::string& bytes) {
    bytes_ = bytes;
    decoder d(1 << 20);
    std::string_view input(bytes_);
    decode_error e;
    EXPECT_EQ(d.next(input, packet_, e), decode_status::packet) << e.what;
    return packet_.connect;
  }

  std::string connack_hex(const connect_outcome& o, bool present = false) {
    const connack_fields f = connack_for(o, present);
    std::string out(connack_size(o.params.level, f), '\0');
    write_connack(out.data(), o.params.level, f);
    return hex(out);
  }

  limits lim_;
  std::string bytes_;
  packet packet_;
};

// paho 3.1.1 from captures.h: persistent session, will, keep-alive 20.
constexpr std::string_view paho311_connect =
    "104600044d51545404ec001400077061686f333131000f6465762f7061686f2f73746174757300076f66666c"
    "696e65000769676e6f726564000e6a77742e746f6b656e2e68657265";
// mosquitto_sub 5.0: session expiry 3600, receive maximum 10, topic alias maximum 5.
constexpr std::string_view sub5_connect =
    "102e00044d5154540540003c1721000a22000526000364657600046b696e641100000e100004737562350004"
    "746f6b35";

TEST_F(mqtt_connect, paho_v311_persistent_with_will) {
  const connect_outcome o = negotiate(decode(unhex(paho311_connect)), lim_, "unused");
  ASSERT_EQ(o.code, reason::success) << o.what;
  const session_params& s = o.params;
  EXPECT_EQ(s.level, protocol::v311);
  EXPECT_EQ(s.client_id, "paho311");
  EXPECT_FALSE(s.client_id_assigned);
  EXPECT_FALSE(s.clean_start);
  EXPECT_EQ(s.session_expiry, lim_.max_session_expiry);  // 3.1.1 "forever", capped
  EXPECT_EQ(s.keep_alive, 20);
  EXPECT_EQ(s.keep_alive_deadline_ms, 30'000);  // 1.5 x
  EXPECT_EQ(s.outbound_window, lim_.max_inflight);
  EXPECT_EQ(s.outbound_alias_maximum, 0);
  EXPECT_EQ(s.inbound_alias_maximum, 0);
  EXPECT_EQ(s.token, "jwt.token.here");  // the password; the user name is ignored
  ASSERT_TRUE(s.has_will);
  EXPECT_EQ(s.will.tag, "dev.paho.status");
  EXPECT_EQ(s.will.payload, "offline");
  EXPECT_EQ(s.will.qos, 1);
  EXPECT_TRUE(s.will.retain);
  EXPECT_EQ(connack_hex(o), "20020000");
  EXPECT_EQ(connack_hex(o, true), "20020100");
}

TEST_F(mqtt_connect, mosquitto_v5_negotiation) {
  lim_.max_inflight = 32;
  lim_.receive_maximum = 20;
  lim_.topic_alias_maximum = 8;
  lim_.max_outbound_aliases = 16;
  lim_.max_packet_size = 65536;
  const connect_outcome o = negotiate(decode(unhex(sub5_connect)), lim_, "unused");
  ASSERT_EQ(o.code, reason::success);
  const session_params& s = o.params;
  EXPECT_EQ(s.level, protocol::v5);
  EXPECT_EQ(s.session_expiry, 3600u);
  EXPECT_EQ(s.outbound_window, 10);        // the client's receive maximum is smaller
  EXPECT_EQ(s.outbound_alias_maximum, 5);  // the client's topic alias maximum
  EXPECT_EQ(s.inbound_alias_maximum, 8);
  EXPECT_EQ(s.receive_maximum, 20);
  EXPECT_EQ(s.client_max_packet_size, 0u);
  EXPECT_TRUE(s.problem_information);
  EXPECT_EQ(s.token, "tok5");
  // Receive maximum 20, maximum packet size 65536, topic alias maximum 8, no shared subs.
  EXPECT_EQ(connack_hex(o), hex(unhex("201000000d 210014 2700010000 220008 2a00")));
}

TEST_F(mqtt_connect, session_expiry_capped_and_said) {
  lim_.max_session_expiry = 600;
  // 5.0, session expiry 0xffffffff ("never").
  const connect_outcome o =
      negotiate(decode(connect_frame("00044d5154540500003c 05 11ffffffff 0001 63")), lim_, "");
  ASSERT_EQ(o.code, reason::success);
  EXPECT_EQ(o.params.session_expiry, 600u);
  EXPECT_TRUE(o.connack.has_session_expiry);
  EXPECT_EQ(o.connack.session_expiry_interval, 600u);
  // No session expiry: the session ends with the connection, nothing to say.
  const connect_outcome none =
      negotiate(decode(connect_frame("00044d5154540500003c 00 0001 63")), lim_, "");
  EXPECT_EQ(none.params.session_expiry, 0u);
  EXPECT_FALSE(none.connack.has_session_expiry);
  // 3.1.1 clean session: the session ends with the connection.
  EXPECT_EQ(negotiate(decode(connect_frame("00044d5154540402003c 0001 63")), lim_, "")
                .params.session_expiry,
            0u);
}

TEST_F(mqtt_connect, client_identifiers) {
  // 3.1.1 empty id with clean session: assigned, not told (3.1.1 cannot say it).
  connect_outcome o = negotiate(decode(connect_frame("00044d5154540402003c 0000")), lim_, "auto-7");
  ASSERT_EQ(o.code, reason::success);
  EXPECT_EQ(o.params.client_id, "auto-7");
  EXPECT_TRUE(o.params.client_id_assigned);
  EXPECT_EQ(connack_hex(o), "20020000");
  // 3.1.1 empty id without clean session: identifier rejected (return code 2).
  o = negotiate(decode(connect_frame("00044d5154540400003c 0000")), lim_, "auto-7");
  EXPECT_EQ(o.code, reason::client_identifier_not_valid);
  EXPECT_EQ(connack_hex(o), "20020002");
  // 5.0 empty id, even without clean start: assigned and told in CONNACK.
  o = negotiate(decode(connect_frame("00044d5154540500003c 00 0000")), lim_, "auto-8");
  ASSERT_EQ(o.code, reason::success);
  EXPECT_EQ(o.params.client_id, "auto-8");
  EXPECT_NE(connack_hex(o).find(hex("\x12\x00\x06"
                                    "auto-8")),
            std::string::npos);
  // Too long, or not printable ASCII: 3.1.1 code 2, 5.0 0x85 with a reason string.
  lim_.max_client_id = 4;
  o = negotiate(decode(connect_frame("00044d5154540402003c 0005 6162636465")), lim_, "");
  EXPECT_EQ(o.code, reason::client_identifier_not_valid);
  EXPECT_EQ(connack_hex(o), "20020002");
  o = negotiate(decode(connect_frame("00044d5154540502003c 00 0002 6120")), lim_, "");
  EXPECT_EQ(o.code, reason::client_identifier_not_valid);
  EXPECT_EQ(connack_hex(o).substr(4, 4), "0085");  // no session present, 0x85
  EXPECT_TRUE(is_valid_client_id("abcd", 4));
  EXPECT_FALSE(is_valid_client_id("", 4));
  EXPECT_FALSE(is_valid_client_id("caf\xc3\xa9", 10));
  EXPECT_FALSE(is_valid_client_id("a b", 10));
}

TEST_F(mqtt_connect, keep_alive) {
  // 3.1.1 keep-alive 0: no deadline.
  EXPECT_EQ(negotiate(decode(connect_frame("00044d51545404020000 0001 63")), lim_, "")
                .params.keep_alive_deadline_ms,
            0);
  // 5.0 with a server maximum: a client asking for none or for more gets the server's, told
  // in CONNACK (Server Keep Alive); a client asking for less keeps its own.
  lim_.max_keep_alive = 60;
  connect_outcome o = negotiate(decode(connect_frame("00044d51545405020000 00 0001 63")), lim_, "");
  EXPECT_EQ(o.params.keep_alive, 60);
  EXPECT_EQ(o.params.keep_alive_deadline_ms, 90'000);
  EXPECT_TRUE(o.connack.has_server_keep_alive);
  o = negotiate(decode(connect_frame("00044d5154540502012c 00 0001 63")), lim_, "");  // 300 s
  EXPECT_EQ(o.params.keep_alive, 60);
  o = negotiate(decode(connect_frame("00044d5154540502001e 00 0001 63")), lim_, "");  // 30 s
  EXPECT_EQ(o.params.keep_alive, 30);
  EXPECT_EQ(o.params.keep_alive_deadline_ms, 45'000);
  EXPECT_FALSE(o.connack.has_server_keep_alive);
  // 3.1.1 cannot be told: its own value stands.
  o = negotiate(decode(connect_frame("00044d5154540402012c 0001 63")), lim_, "");
  EXPECT_EQ(o.params.keep_alive, 300);
}

TEST_F(mqtt_connect, keep_alive_0_bounded_by_the_idle_timeout) {
  lim_.idle_timeout_ms = 60'000;
  // 3.1.1 cannot be told: silence is allowed for the idle timeout.
  connect_outcome o = negotiate(decode(connect_frame("00044d51545404020000 0001 63")), lim_, "");
  EXPECT_EQ(o.params.keep_alive, 0);
  EXPECT_EQ(o.params.keep_alive_deadline_ms, 60'000);
  // 5.0 is told a keep-alive whose 1.5 times fits in it.
  o = negotiate(decode(connect_frame("00044d51545405020000 00 0001 63")), lim_, "");
  EXPECT_EQ(o.params.keep_alive, 40);
  EXPECT_EQ(o.params.keep_alive_deadline_ms, 60'000);
  EXPECT_TRUE(o.connack.has_server_keep_alive);
  EXPECT_EQ(o.connack.server_keep_alive, 40);
  // A client's own keep-alive stands.
  o = negotiate(decode(connect_frame("00044d5154540402012c 0001 63")), lim_, "");
  EXPECT_EQ(o.params.keep_alive_deadline_ms, 450'000);
}

TEST_F(mqtt_connect, wills) {
  // Will topic mapping to no tag ("a b"): 5.0 topic name invalid, 3.1.1 not authorized.
  connect_outcome o = negotiate(
      decode(connect_frame("00044d51545404060000 0001 63 0003 612062 0001 78")), lim_, "");
  EXPECT_EQ(o.code, reason::topic_name_invalid);
  EXPECT_EQ(connack_hex(o), "20020005");
  o = negotiate(decode(connect_frame("00044d51545405060000 00 0001 63 00 0003 244142 0001 78")),
                lim_, "");
  EXPECT_EQ(o.code, reason::topic_name_invalid);  // "$AB"
  // Will payload over the bound: quota exceeded (3.1.1: server unavailable).
  lim_.max_will_payload = 2;
  o = negotiate(decode(connect_frame("00044d51545404060000 0001 63 0001 74 0003 787878")), lim_,
                "");
  EXPECT_EQ(o.code, reason::quota_exceeded);
  EXPECT_EQ(connack_hex(o), "20020003");
  lim_.max_will_payload = 100;
  // 5.0 will properties: payload format 1 with a payload that is not UTF-8.
  o = negotiate(decode(connect_frame("00044d51545405060000 00 0001 63 02 0101 0001 74 0001 ff")),
                lim_, "");
  EXPECT_EQ(o.code, reason::payload_format_invalid);
  // Will delay, message expiry and forwarded properties (user property, content type).
  o = negotiate(decode(connect_frame("00044d51545405360000 00 0001 63"
                                     "18 180000000a 020000003c 260001610001 62 030004 74657874"
                                     "0003 612f62 0002 6869")),
                lim_, "");
  ASSERT_EQ(o.code, reason::success) << o.what;
  const will_message& w = o.params.will;
  EXPECT_EQ(w.tag, "a.b");
  EXPECT_EQ(w.payload, "hi");
  EXPECT_EQ(w.qos, 2);
  EXPECT_TRUE(w.retain);
  EXPECT_EQ(w.delay_interval, 10u);
  EXPECT_TRUE(w.has_message_expiry);
  EXPECT_EQ(w.message_expiry_interval, 60u);
  EXPECT_EQ(hex(w.forwarded_properties), hex(unhex("260001610001 62 030004 74657874")));
}

TEST_F(mqtt_connect, enhanced_authentication_refused) {
  const connect_outcome o = negotiate(
      decode(connect_frame("00044d5154540502003c 08 150005 5343524d31 0001 63")), lim_, "");
  EXPECT_EQ(o.code, reason::bad_authentication_method);
  EXPECT_EQ(connack_hex(o).substr(4, 4), "008c");
}

TEST_F(mqtt_connect, windows_and_limits_from_5_0_properties) {
  lim_.max_inflight = 4;
  const connect_outcome o = negotiate(
      decode(connect_frame("00044d5154540502003c 0d 21ffff 2700000400 220100 1700 0001 63")), lim_,
      "");
  ASSERT_EQ(o.code, reason::success);
  EXPECT_EQ(o.params.outbound_window, 4);  // ours is smaller than the client's 65535
  EXPECT_EQ(o.params.client_max_packet_size, 1024u);
  EXPECT_EQ(o.params.outbound_alias_maximum, lim_.max_outbound_aliases);
  EXPECT_FALSE(o.params.problem_information);
}

}  // namespace
}  // namespace wsa::mqtt::test

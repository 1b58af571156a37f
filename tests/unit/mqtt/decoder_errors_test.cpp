// The decoder against packets that break one rule each, on purpose: the error names the
// rule's reason code (MQTT 5.0 section 4.13) and the server's answer follows the protocol in
// force. Also limits, stickiness and the answers of action_for.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "decode_util.h"
#include "mqtt/wire.h"

namespace wsa::mqtt::test {
namespace {

// CONNECTs with client id "c", clean session, keep-alive 60.
const std::string connect311 = frame(0x10, "00044d51545404 02 003c 0001 63");
const std::string connect5 = frame(0x10, "00044d51545405 02 003c 00 0001 63");

// A 5.0 CONNECT with these properties (hex, without their length) and flags.
std::string connect5_with(std::string_view props_hex, std::string_view flags = "02",
                          std::string_view tail_hex = "0001 63") {
  const std::string props = unhex(props_hex);
  char length[4];
  const std::string len(length, write_varint(length, static_cast<uint32_t>(props.size())));
  return frame(0x10, "00044d51545405" + std::string(flags) + "003c" + hex(len) +
                         std::string(props_hex) + std::string(tail_hex));
}

struct error_case {
  const char* name;
  std::string bytes;
  reason code;
  packet_type packet;
  error_action action;
};

decode_error decode_error_of(const std::string& bytes, uint32_t max_packet = 1 << 20) {
  decoder d(max_packet);
  std::string_view input(bytes);
  packet p;
  decode_error e;
  for (;;) {
    const decode_status s = d.next(input, p, e);
    if (s == decode_status::error) {
      return e;
    }
    if (s == decode_status::need_more) {
      ADD_FAILURE() << "no error";
      return e;
    }
  }
}

void check(const std::vector<error_case>& cases) {
  for (const error_case& c : cases) {
    const decode_error e = decode_error_of(c.bytes);
    EXPECT_EQ(e.code, c.code) << c.name << ": " << e.what;
    EXPECT_EQ(e.packet, c.packet) << c.name;
    EXPECT_EQ(action_for(e), c.action) << c.name;
    EXPECT_STRNE(e.what, "") << c.name;
    // Whatever the pieces, the same error.
    const std::vector<std::string> bytewise =
        decode_all(c.bytes, std::vector<std::size_t>(c.bytes.size(), 1));
    ASSERT_FALSE(bytewise.empty()) << c.name;
    EXPECT_EQ(bytewise.back(), std::string("error: ") + reason_name(e.code) + ": " + e.what)
        << c.name;
  }
}

using pt = packet_type;
using ea = error_action;
constexpr auto malformed = reason::malformed_packet;
constexpr auto protocol_error = reason::protocol_error;

TEST(mqtt_decoder_errors, connection_rules) {
  check({
      {"first packet not CONNECT", frame(0xc0, ""), protocol_error, pt::pingreq, ea::close},
      {"PUBLISH before CONNECT", frame(0x30, "0001 61"), protocol_error, pt::publish, ea::close},
      {"second CONNECT", connect311 + connect311, protocol_error, pt::connect, ea::close},
      {"second CONNECT (5.0)", connect5 + connect5, protocol_error, pt::connect, ea::connack_v5},
      {"reserved type 0", connect311 + frame(0x00, ""), malformed, pt::reserved, ea::close},
      {"AUTH in 3.1.1", connect311 + frame(0xf0, ""), malformed, pt::auth, ea::close},
      {"CONNACK from a client", connect311 + frame(0x20, "0000"), protocol_error, pt::connack,
       ea::close},
      {"SUBACK from a client", connect5 + frame(0x90, "000100"), protocol_error, pt::suback,
       ea::disconnect_v5},
      {"UNSUBACK from a client", connect311 + frame(0xb0, "0001"), protocol_error, pt::unsuback,
       ea::close},
      {"PINGRESP from a client", connect311 + frame(0xd0, ""), protocol_error, pt::pingresp,
       ea::close},
  });
}

TEST(mqtt_decoder_errors, fixed_header) {
  check({
      {"remaining length in 5 bytes", connect311 + unhex("30ffffffff01"), malformed, pt::publish,
       ea::close},
      {"remaining length not minimal", connect311 + unhex("c08000"), malformed, pt::pingreq,
       ea::close},
      {"remaining length not minimal (5.0)", connect5 + unhex("3080808000"), malformed, pt::publish,
       ea::disconnect_v5},
      {"PUBLISH QoS 3", connect311 + frame(0x36, "0001 61 0001"), malformed, pt::publish,
       ea::close},
      {"PUBLISH QoS 0 with DUP", connect311 + frame(0x38, "0001 61"), malformed, pt::publish,
       ea::close},
      {"PUBREL flags 0", connect311 + frame(0x60, "0001"), malformed, pt::pubrel, ea::close},
      {"PUBACK flags 2", connect311 + frame(0x42, "0001"), malformed, pt::puback, ea::close},
      {"SUBSCRIBE flags 0", connect311 + frame(0x80, "0001 0001 61 00"), malformed, pt::subscribe,
       ea::close},
      {"UNSUBSCRIBE flags 3", connect311 + frame(0xa3, "0001 0001 61"), malformed, pt::unsubscribe,
       ea::close},
      {"PINGREQ flags 1", connect311 + frame(0xc1, ""), malformed, pt::pingreq, ea::close},
      {"CONNECT flags 1", frame(0x11, "00044d51545404 02 003c 0001 63"), malformed, pt::connect,
       ea::close},
  });
}

TEST(mqtt_decoder_errors, connect) {
  check({
      {"not MQTT", frame(0x10, "00044d515458 04 02 003c 0001 63"), protocol_error, pt::connect,
       ea::close},
      {"MQTT 3.1", frame(0x10, "00064d5149736470 03 02 003c 0001 63"),
       reason::unsupported_protocol_version, pt::connect, ea::connack_v311},
      {"level 6", frame(0x10, "00044d51545406 02 003c 0001 63"),
       reason::unsupported_protocol_version, pt::connect, ea::connack_v311},
      {"level 3 named MQTT", frame(0x10, "00044d51545403 02 003c 0001 63"),
       reason::unsupported_protocol_version, pt::connect, ea::connack_v311},
      {"truncated", frame(0x10, "00044d51545404 02"), malformed, pt::connect, ea::close},
      {"reserved flag", frame(0x10, "00044d51545404 03 003c 0001 63"), malformed, pt::connect,
       ea::close},
      {"will QoS 3", frame(0x10, "00044d51545404 1e 003c 0001 63 0001 74 0000"), malformed,
       pt::connect, ea::close},
      {"will retain without will", frame(0x10, "00044d51545404 22 003c 0001 63"), malformed,
       pt::connect, ea::close},
      {"will QoS without will", frame(0x10, "00044d51545404 0a 003c 0001 63"), malformed,
       pt::connect, ea::close},
      {"password without user name", frame(0x10, "00044d51545404 42 003c 0001 63 0001 70"),
       protocol_error, pt::connect, ea::close},
      {"bytes after the payload", frame(0x10, "00044d51545404 02 003c 0001 63 00"), malformed,
       pt::connect, ea::close},
      {"client id bad UTF-8", frame(0x10, "00044d51545404 02 003c 0002 c328"), malformed,
       pt::connect, ea::close},
      {"client id with U+0000", frame(0x10, "00044d51545404 02 003c 0002 6300"), malformed,
       pt::connect, ea::close},
      {"missing user name", frame(0x10, "00044d51545404 82 003c 0001 63"), malformed, pt::connect,
       ea::close},
      {"missing will payload", frame(0x10, "00044d51545404 06 003c 0001 63 0001 74"), malformed,
       pt::connect, ea::close},
      {"wildcard will topic", frame(0x10, "00044d51545404 06 003c 0001 63 0001 23 0000"),
       reason::topic_name_invalid, pt::connect, ea::connack_v311},
      {"empty will topic (5.0)", connect5_with("", "06", "0001 63 00 0000 0000"),
       reason::topic_name_invalid, pt::connect, ea::connack_v5},
      {"auth data without method", connect5_with("16 0001 61"), protocol_error, pt::connect,
       ea::connack_v5},
      {"session expiry twice", connect5_with("11 00000001 11 00000002"), protocol_error,
       pt::connect, ea::connack_v5},
      {"topic alias in CONNECT", connect5_with("23 0001"), malformed, pt::connect, ea::connack_v5},
      {"unknown property", connect5_with("7f 00"), malformed, pt::connect, ea::connack_v5},
      {"property id not one byte", connect5_with("8101 00"), malformed, pt::connect,
       ea::connack_v5},
      {"receive maximum 0", connect5_with("21 0000"), protocol_error, pt::connect, ea::connack_v5},
      {"maximum packet size 0", connect5_with("27 00000000"), protocol_error, pt::connect,
       ea::connack_v5},
      {"request problem information 2", connect5_with("17 02"), protocol_error, pt::connect,
       ea::connack_v5},
      {"request response information 2", connect5_with("19 02"), protocol_error, pt::connect,
       ea::connack_v5},
      {"truncated property", connect5_with("11 0000"), malformed, pt::connect, ea::connack_v5},
      {"user property bad UTF-8", connect5_with("26 0001 ff 0001 61"), malformed, pt::connect,
       ea::connack_v5},
      {"property length past the end", frame(0x10, "00044d51545405 02 003c 40 0001 63"), malformed,
       pt::connect, ea::connack_v5},
      {"session expiry in will properties",
       connect5_with("", "06", "0001 63 05 1100000001 0001 74 0000"), malformed, pt::connect,
       ea::connack_v5},
      {"will delay in CONNECT properties", connect5_with("18 00000001"), malformed, pt::connect,
       ea::connack_v5},
  });
}

TEST(mqtt_decoder_errors, publish) {
  check({
      {"packet id 0", connect311 + frame(0x32, "0001 61 0000"), protocol_error, pt::publish,
       ea::close},
      {"empty topic (3.1.1)", connect311 + frame(0x30, "0000"), protocol_error, pt::publish,
       ea::close},
      {"empty topic without alias (5.0)", connect5 + frame(0x30, "0000 00"), protocol_error,
       pt::publish, ea::disconnect_v5},
      {"wildcard +", connect311 + frame(0x30, "0003 612f2b"), reason::topic_name_invalid,
       pt::publish, ea::close},
      {"wildcard #", connect5 + frame(0x30, "0001 23 00"), reason::topic_name_invalid, pt::publish,
       ea::disconnect_v5},
      {"topic bad UTF-8", connect311 + frame(0x30, "0001 ff"), malformed, pt::publish, ea::close},
      {"topic with U+0000", connect311 + frame(0x30, "0001 00"), malformed, pt::publish, ea::close},
      {"topic surrogate", connect311 + frame(0x30, "0003 eda080"), malformed, pt::publish,
       ea::close},
      {"topic overlong", connect311 + frame(0x30, "0002 c0af"), malformed, pt::publish, ea::close},
      {"topic past the end", connect311 + frame(0x30, "0005 61"), malformed, pt::publish,
       ea::close},
      {"packet id missing", connect311 + frame(0x32, "0001 61 00"), malformed, pt::publish,
       ea::close},
      {"subscription identifier from a client", connect5 + frame(0x30, "0001 61 02 0b01"),
       protocol_error, pt::publish, ea::disconnect_v5},
      {"topic alias 0", connect5 + frame(0x30, "0001 61 03 230000"), protocol_error, pt::publish,
       ea::disconnect_v5},
      {"payload format 2", connect5 + frame(0x30, "0001 61 02 0102"), protocol_error, pt::publish,
       ea::disconnect_v5},
      {"response topic with wildcard", connect5 + frame(0x30, "0001 61 04 0800012b"),
       protocol_error, pt::publish, ea::disconnect_v5},
      {"session expiry in PUBLISH", connect5 + frame(0x30, "0001 61 05 1100000000"), malformed,
       pt::publish, ea::disconnect_v5},
      {"content type twice", connect5 + frame(0x30, "0001 61 08 03000161 03000162"), protocol_error,
       pt::publish, ea::disconnect_v5},
      {"missing property length (5.0)", connect5 + frame(0x30, "0001 61"), malformed, pt::publish,
       ea::disconnect_v5},
  });
}

TEST(mqtt_decoder_errors, acknowledgements_and_others) {
  check({
      {"PUBACK too long (3.1.1)", connect311 + frame(0x40, "0001 00"), malformed, pt::puback,
       ea::close},
      {"PUBACK too short", connect311 + frame(0x40, "01"), malformed, pt::puback, ea::close},
      {"PUBACK id 0", connect311 + frame(0x40, "0000"), protocol_error, pt::puback, ea::close},
      {"PUBACK reason 0x01", connect5 + frame(0x40, "0001 01"), protocol_error, pt::puback,
       ea::disconnect_v5},
      {"PUBREL reason 0x10", connect5 + frame(0x62, "0001 10"), protocol_error, pt::pubrel,
       ea::disconnect_v5},
      {"PUBCOMP topic alias property", connect5 + frame(0x70, "0001 00 03 230001"), malformed,
       pt::pubcomp, ea::disconnect_v5},
      {"PUBREC bytes after properties", connect5 + frame(0x50, "0001 00 00 00"), malformed,
       pt::pubrec, ea::disconnect_v5},
      {"SUBSCRIBE without filters", connect311 + frame(0x82, "0001"), protocol_error, pt::subscribe,
       ea::close},
      {"SUBSCRIBE id 0", connect311 + frame(0x82, "0000 0001 61 00"), protocol_error, pt::subscribe,
       ea::close},
      {"SUBSCRIBE reserved bits (3.1.1)", connect311 + frame(0x82, "0001 0001 61 04"), malformed,
       pt::subscribe, ea::close},
      {"SUBSCRIBE QoS 3", connect311 + frame(0x82, "0001 0001 61 03"), malformed, pt::subscribe,
       ea::close},
      {"SUBSCRIBE empty filter", connect311 + frame(0x82, "0001 0000 00"), protocol_error,
       pt::subscribe, ea::close},
      {"SUBSCRIBE missing options", connect311 + frame(0x82, "0001 0001 61"), malformed,
       pt::subscribe, ea::close},
      {"SUBSCRIBE reserved bits (5.0)", connect5 + frame(0x82, "0001 00 0001 61 40"), malformed,
       pt::subscribe, ea::disconnect_v5},
      {"SUBSCRIBE retain handling 3", connect5 + frame(0x82, "0001 00 0001 61 30"), protocol_error,
       pt::subscribe, ea::disconnect_v5},
      {"SUBSCRIBE two subscription identifiers",
       connect5 + frame(0x82, "0001 04 0b01 0b02 0001 61 00"), protocol_error, pt::subscribe,
       ea::disconnect_v5},
      {"SUBSCRIBE subscription identifier 0", connect5 + frame(0x82, "0001 02 0b00 0001 61 00"),
       protocol_error, pt::subscribe, ea::disconnect_v5},
      {"SUBSCRIBE subscription identifier in 5 bytes",
       connect5 + frame(0x82, "0001 06 0bffffffff01 0001 61 00"), malformed, pt::subscribe,
       ea::disconnect_v5},
      {"UNSUBSCRIBE without filters", connect311 + frame(0xa2, "0001"), protocol_error,
       pt::unsubscribe, ea::close},
      {"UNSUBSCRIBE empty filter", connect5 + frame(0xa2, "0001 00 0000"), protocol_error,
       pt::unsubscribe, ea::disconnect_v5},
      {"UNSUBSCRIBE subscription identifier", connect5 + frame(0xa2, "0001 02 0b01 0001 61"),
       malformed, pt::unsubscribe, ea::disconnect_v5},
      {"PINGREQ with a body", connect311 + frame(0xc0, "00"), malformed, pt::pingreq, ea::close},
      {"DISCONNECT with a body (3.1.1)", connect311 + frame(0xe0, "00"), malformed, pt::disconnect,
       ea::close},
      {"DISCONNECT server-only reason", connect5 + frame(0xe0, "8e"), protocol_error,
       pt::disconnect, ea::disconnect_v5},
      {"DISCONNECT assigned client id", connect5 + frame(0xe0, "00 04 12000161"), malformed,
       pt::disconnect, ea::disconnect_v5},
      {"AUTH bad reason", connect5 + frame(0xf0, "87"), protocol_error, pt::auth,
       ea::disconnect_v5},
  });
}

TEST(mqtt_decoder_errors, packet_too_large_before_the_body) {
  decoder d(100);
  std::string bytes = connect311;
  std::string_view input(bytes);
  packet p;
  decode_error e;
  ASSERT_EQ(d.next(input, p, e), decode_status::packet);
  // The fixed header alone of a 201-byte PUBLISH is refused: no body is held.
  const std::string header = unhex("30c601");
  input = header;
  ASSERT_EQ(d.next(input, p, e), decode_status::error);
  EXPECT_EQ(e.code, reason::packet_too_large);
  EXPECT_EQ(d.buffered(), 0u);
  // Sticky: the connection is done.
  const std::string ping = frame(0xc0, "");
  input = ping;
  EXPECT_EQ(d.next(input, p, e), decode_status::error);
  EXPECT_EQ(e.code, reason::packet_too_large);
  // Exactly the maximum passes.
  decoder ok(100);
  std::string exact = connect311 + frame(0x30, "0001 61" + std::string(2 * 95, '6'));
  ASSERT_EQ(exact.size() - connect311.size(), 100u);
  EXPECT_EQ(decode_all(exact, {}, 100).back().substr(0, 7), "PUBLISH");
  exact = connect311 + frame(0x30, "0001 61" + std::string(2 * 96, '6'));
  EXPECT_EQ(decode_all(exact, {}, 100).back(),
            "error: packet too large: packet larger than the maximum packet size");
}

TEST(mqtt_decoder_errors, large_packet_in_pieces_is_gathered_and_released) {
  const std::string payload(200'000, 'x');
  const std::string body = std::string("\0\1t", 3) + payload;
  std::string bytes = connect311 + std::string(1, '\x30');
  char length[4];
  bytes.append(length, write_varint(length, static_cast<uint32_t>(body.size())));
  bytes += body;
  bytes += frame(0xc0, "");
  const std::vector<std::string> got =
      decode_all(bytes, std::vector<std::size_t>(bytes.size() / 1000 + 1, 1000));
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[1].size(), std::string("PUBLISH q0 topic=t payload=").size() + payload.size());
  EXPECT_EQ(got[2], "PINGREQ");
}

TEST(mqtt_decoder_errors, valid_5_0_forms) {
  // Forms that look unusual but are valid.
  EXPECT_EQ(decode_all(connect5 + frame(0x30, "0000 03 230007 6869")).back(),
            "PUBLISH q0 topic= payload=hi alias=7");
  EXPECT_EQ(decode_all(connect5 + frame(0x40, "0001")).back(), "PUBACK id=1");
  EXPECT_EQ(decode_all(connect5 + frame(0x40, "0001 10")).back(),
            "PUBACK id=1 code=no matching subscribers");
  EXPECT_EQ(decode_all(connect5 + frame(0x62, "0001 92 00")).back(),
            "PUBREL id=1 code=packet identifier not found");
  EXPECT_EQ(decode_all(connect5 + frame(0xe0, "04")).back(),
            "DISCONNECT code=disconnect with will message");
  EXPECT_EQ(decode_all(connect5 + frame(0xe0, "00 09 1f0006 627965627965")).back(),
            "DISCONNECT reason_string=byebye");
  EXPECT_EQ(decode_all(connect5 + frame(0xf0, "")).back(), "AUTH");
  EXPECT_EQ(decode_all(connect5 + frame(0xf0, "18 00")).back(),
            "AUTH code=continue authentication");
  EXPECT_EQ(decode_all(connect5 + frame(0x82, "0001 00 0001 61 2e")).back(),
            "SUBSCRIBE id=1 a:q2:nl:rap:rh2");
  EXPECT_EQ(decode_all(connect5_with("26 0001 61 0001 62 26 0001 61 0001 63")).back(),
            "CONNECT v5 id=c clean ka=60 user:a=b user:a=c");
  // 3.1.1: no password needs no user name; empty password and empty user name are fine.
  EXPECT_EQ(decode_all(frame(0x10, "00044d51545404 c2 003c 0001 63 0000 0000")).back(),
            "CONNECT v311 id=c clean ka=60 user= pass=");
  // 5.0 allows a password without a user name.
  EXPECT_EQ(decode_all(connect5_with("", "42", "0001 63 0002 7077")).back(),
            "CONNECT v5 id=c clean ka=60 pass=pw");
  // An empty client identifier is the session's business, not the decoder's.
  EXPECT_EQ(decode_all(frame(0x10, "00044d51545404 02 003c 0000")).back(),
            "CONNECT v311 id= clean ka=60");
}

}  // namespace
}  // namespace wsa::mqtt::test

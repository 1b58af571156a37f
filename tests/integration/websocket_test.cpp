// RFC 6455 framing against the real server: violations close with the code the RFC and
// docs/protocol.md "Close codes" give (1002 protocol, 1007 UTF-8, 1009 too big), decided without
// waiting for payloads that will never come; fragmentation, ping/pong and the close
// handshake work.
#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "support/metrics_reader.h"
#include "support/server_process.h"
#include "support/ws_client.h"

namespace wsa::test {
namespace {

class WebSocket : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(server_.start()); }

  ws_client connect() { return ws_client::connect(server_.port()); }

  // The server's verdict: a close frame with `code`, then the TCP connection ends.
  void expect_closed_with(ws_client& c, uint16_t code) {
    const ws_message close = c.wait_close();
    EXPECT_EQ(close.close_code, code) << "reason: " << close.close_reason;
    EXPECT_TRUE(c.wait_eof()) << "the server kept the TCP connection open after its close";
  }

  server_process server_{{"--no-auth", "--max-message-bytes", "64KiB"}};
};

TEST_F(WebSocket, ServerFramesAreUnmaskedTextFrames) {
  ws_client c = connect();
  c.send_text(R"({"op":"ping","id":1})");
  const std::optional<ws_frame> frame = c.next_frame();
  ASSERT_TRUE(frame.has_value());
  EXPECT_FALSE(frame->masked);
  EXPECT_EQ(frame->opcode, ws_op::text);
  EXPECT_TRUE(frame->fin);
  EXPECT_EQ(frame->rsv, 0);
}

TEST_F(WebSocket, UnmaskedClientFrameCloses1002) {
  ws_client c = connect();
  c.send_frame({.opcode = ws_op::text, .payload = R"({"op":"ping","id":1})", .masked = false});
  expect_closed_with(c, 1002);
}

TEST_F(WebSocket, InvalidUtf8Closes1007) {
  ws_client c = connect();
  c.send_text("{\"op\":\"ping\",\"id\":\"\xC3\x28\"}");
  expect_closed_with(c, 1007);
}

TEST_F(WebSocket, InvalidUtf8AcrossFragmentsCloses1007) {
  ws_client c = connect();
  // A valid 2-byte sequence split across frames is fine ...
  c.send_fragmented(ws_op::text, "{\"op\":\"ping\",\"id\":\"\xC3\xA9\"}", 20);
  EXPECT_EQ(c.next_json().raw("id"), "\"\xC3\xA9\"");
  // ... an overlong encoding (C0 80) is not.
  c.send_fragmented(ws_op::text, "{\"op\":\"ping\",\"id\":\"\xC0\x80\"}", 3);
  expect_closed_with(c, 1007);
}

TEST_F(WebSocket, OversizeFrameIsRefusedFromItsHeaderAlone) {
  ws_client c = connect();
  // Only the header (and mask key) of a 10 MB frame: the verdict must not wait for payload.
  c.send_frame({.opcode = ws_op::text, .claimed_length = 10u * 1024 * 1024});
  expect_closed_with(c, 1009);
}

TEST_F(WebSocket, OversizeFragmentedMessageCloses1009) {
  ws_client c = connect();
  const std::string piece(40 * 1024, ' ');
  c.send_frame({.opcode = ws_op::text, .payload = "{" + piece, .fin = false});
  // The second header makes the message larger than 64 KiB; its payload is never sent.
  c.send_frame({.opcode = ws_op::continuation, .fin = true, .claimed_length = 40 * 1024});
  expect_closed_with(c, 1009);
}

TEST_F(WebSocket, MessageOfExactlyTheLimitIsAccepted) {
  ws_client c = connect();
  std::string frame = R"({"op":"pub","id":1,"tag":"big","data":")";
  const std::size_t limit = 64 * 1024;
  frame += std::string(limit - frame.size() - 2, 'x') + "\"}";
  ASSERT_EQ(frame.size(), limit);
  const json_message ok = c.call(frame);
  EXPECT_EQ(ok.op(), "ok") << ok.text();
}

TEST_F(WebSocket, OneByteOverTheLimitCloses1009) {
  ws_client c = connect();
  c.send_frame({.opcode = ws_op::text, .claimed_length = 64 * 1024 + 1});
  expect_closed_with(c, 1009);
}

TEST_F(WebSocket, FramesSplitAnywhereOrBatchedAreParsed) {
  ws_client c = connect();
  // One frame, one byte per segment.
  const std::string frame =
      encode_frame({.opcode = ws_op::text, .payload = R"({"op":"ping","id":"bytes"})"});
  for (const char byte : frame) {
    c.send_raw(std::string(1, byte));
  }
  EXPECT_EQ(c.next_json().raw("id"), R"("bytes")");
  // A hundred frames (one with a 16-bit length) in one write, answered in order.
  std::string batch;
  for (int i = 0; i < 100; ++i) {
    const std::string pad = i == 50 ? std::string(300, ' ') : "";
    batch += encode_frame({.opcode = ws_op::text,
                           .payload = R"({"op":"ping","id":)" + std::to_string(i) + pad + "}"});
  }
  c.send_raw(batch);
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(c.next_json().raw("id"), std::to_string(i));
  }
}

TEST_F(WebSocket, ReservedOpcodesClose1002) {
  for (const uint8_t opcode : {uint8_t{0x3}, uint8_t{0x7}, uint8_t{0xB}, uint8_t{0xF}}) {
    SCOPED_TRACE("opcode " + std::to_string(opcode));
    ws_client c = connect();
    c.send_frame({.opcode = opcode, .payload = "x"});
    expect_closed_with(c, 1002);
  }
}

TEST_F(WebSocket, RsvBitsWithoutExtensionClose1002) {
  for (const uint8_t rsv : {uint8_t{4}, uint8_t{2}, uint8_t{1}}) {
    SCOPED_TRACE("rsv " + std::to_string(rsv));
    ws_client c = connect();
    c.send_frame({.opcode = ws_op::text, .payload = R"({"op":"ping","id":1})", .rsv = rsv});
    expect_closed_with(c, 1002);
  }
}

TEST_F(WebSocket, ContinuationWithoutStartCloses1002) {
  ws_client c = connect();
  c.send_frame({.opcode = ws_op::continuation, .payload = R"({"op":"ping","id":1})"});
  expect_closed_with(c, 1002);
}

TEST_F(WebSocket, NewMessageInsideAFragmentedOneCloses1002) {
  ws_client c = connect();
  c.send_frame({.opcode = ws_op::text, .payload = R"({"op":)", .fin = false});
  c.send_frame({.opcode = ws_op::text, .payload = R"({"op":"ping","id":1})"});
  expect_closed_with(c, 1002);
}

TEST_F(WebSocket, BadControlFramesClose1002) {
  {
    SCOPED_TRACE("ping with 126 bytes");
    ws_client c = connect();
    c.send_frame({.opcode = ws_op::ping, .payload = std::string(126, 'p')});
    expect_closed_with(c, 1002);
  }
  {
    SCOPED_TRACE("fragmented ping");
    ws_client c = connect();
    c.send_frame({.opcode = ws_op::ping, .payload = "p", .fin = false});
    expect_closed_with(c, 1002);
  }
}

TEST_F(WebSocket, FragmentedMessagesAreJoined) {
  ws_client c = connect();
  c.send_fragmented(ws_op::text, R"({"op":"ping","id":"fragments"})", 7);
  EXPECT_EQ(c.next_json().raw("id"), R"("fragments")");
  // A ping between fragments is answered at once; the message still arrives whole.
  c.send_frame({.opcode = ws_op::text, .payload = R"({"op":"pi)", .fin = false});
  c.send_ping("between");
  const ws_message pong = c.next_message();
  EXPECT_EQ(pong.opcode, ws_op::pong);
  EXPECT_EQ(pong.payload, "between");
  c.send_frame({.opcode = ws_op::continuation, .payload = R"(ng","id":2})"});
  EXPECT_EQ(c.next_json().raw("id"), "2");
  // Empty fragments are fragments too.
  c.send_frame({.opcode = ws_op::text, .payload = "", .fin = false});
  c.send_frame({.opcode = ws_op::continuation, .payload = R"({"op":"ping","id":3})", .fin = false});
  c.send_frame({.opcode = ws_op::continuation, .payload = ""});
  EXPECT_EQ(c.next_json().raw("id"), "3");
}

TEST_F(WebSocket, PingGetsPongWithTheSamePayload) {
  ws_client c = connect();
  c.send_ping("are you there?");
  const ws_message pong = c.next_message();
  EXPECT_EQ(pong.opcode, ws_op::pong);
  EXPECT_EQ(pong.payload, "are you there?");
  c.send_ping();
  const ws_message empty = c.next_message();
  EXPECT_EQ(empty.opcode, ws_op::pong);
  EXPECT_EQ(empty.payload, "");
}

TEST_F(WebSocket, UnsolicitedPongIsIgnored) {
  ws_client c = connect();
  c.send_frame({.opcode = ws_op::pong, .payload = "unsolicited"});
  EXPECT_EQ(c.call(R"({"op":"ping","id":1})").op(), "ok");
}

TEST_F(WebSocket, CloseHandshakeIsEchoedThenTcpCloses) {
  ws_client c = connect();
  c.send_close(1000, "bye");
  const ws_message close = c.next_message();
  ASSERT_EQ(close.opcode, ws_op::close);
  EXPECT_EQ(close.close_code, 1000);
  EXPECT_TRUE(c.wait_eof());
}

TEST_F(WebSocket, CloseWithoutCodeIsAnswered) {
  ws_client c = connect();
  c.send_frame({.opcode = ws_op::close});
  const ws_message close = c.next_message();
  ASSERT_EQ(close.opcode, ws_op::close);
  // RFC 6455 5.5.1: the endpoint echoes the status code it received; with none it may send
  // an empty close or 1000.
  EXPECT_TRUE(close.close_code == 1005 || close.close_code == 1000) << close.close_code;
  EXPECT_TRUE(c.wait_eof());
}

TEST_F(WebSocket, InvalidCloseFramesClose1002) {
  // RFC 6455 5.5.1 (a close body starts with a 2-byte code) and 7.4.1/7.4.2 (1005, 1006,
  // 1015 and codes below 1000 or in 1016..2999 unassigned must not appear in a close frame).
  struct bad_close {
    std::string what;
    std::string payload;
  };
  const std::vector<bad_close> cases = {
      {"1-byte body", std::string(1, '\x03')},
      {"code 999", close_payload(999)},
      {"code 1005", close_payload(1005)},
      {"code 1006", close_payload(1006)},
      {"code 1015", close_payload(1015)},
      {"code 1016", close_payload(1016)},
      {"code 2999", close_payload(2999)},
      {"code 5000", close_payload(5000)},
  };
  for (const bad_close& k : cases) {
    SCOPED_TRACE(k.what);
    ws_client c = connect();
    c.send_frame({.opcode = ws_op::close, .payload = k.payload});
    expect_closed_with(c, 1002);
  }
}

TEST_F(WebSocket, CloseReasonMustBeUtf8) {
  ws_client c = connect();
  c.send_frame({.opcode = ws_op::close, .payload = close_payload(1000, "\xFF\xFE")});
  expect_closed_with(c, 1007);
}

TEST_F(WebSocket, ValidCloseCodesAreEchoed) {
  for (const uint16_t code : {uint16_t{1001}, uint16_t{1011}, uint16_t{3000}, uint16_t{4999}}) {
    SCOPED_TRACE("code " + std::to_string(code));
    ws_client c = connect();
    c.send_close(code, "fine");
    const ws_message close = c.next_message();
    ASSERT_EQ(close.opcode, ws_op::close);
    EXPECT_EQ(close.close_code, code);
  }
}

TEST_F(WebSocket, LengthWithTheHighBitSetIsRefused) {
  // RFC 6455 5.2: "the most significant bit MUST be 0" in the 64-bit length.
  ws_client c = connect();
  c.send_frame({.opcode = ws_op::text, .claimed_length = uint64_t{1} << 63});
  const ws_message close = c.wait_close();
  EXPECT_TRUE(close.close_code == 1002 || close.close_code == 1009) << close.close_code;
  EXPECT_TRUE(c.wait_eof());
}

TEST_F(WebSocket, FrameSentWithTheHandshakeIsProcessed) {
  // A client may send its first frame right behind the request head, in one segment.
  tcp_socket s = tcp_socket::connect(server_.port());
  s.send_all(
      "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n" +
      encode_frame({.opcode = ws_op::text, .payload = R"({"op":"ping","id":"early"})"}));
  std::string buffer;
  ASSERT_EQ(read_http_response(s, buffer).status, 101);
  std::string stream = buffer;
  std::vector<ws_frame> frames;
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (frames.size() < 2 && std::chrono::steady_clock::now() < deadline) {
    ws_frame f;
    if (const std::size_t used = decode_frame(stream, f); used > 0) {
      stream.erase(0, used);
      frames.push_back(f);
      continue;
    }
    ASSERT_EQ(s.read_some(stream, 1s), tcp_socket::read_status::data);
  }
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_NE(frames[0].payload.find("\"hello\""), std::string::npos) << frames[0].payload;
  EXPECT_EQ(json_message(frames[1].payload).raw("id"), R"("early")");
}

TEST_F(WebSocket, SubscriberClosingIsCleanedUp) {
  // A subscriber that leaves must not break publishing to its tags.
  {
    ws_client gone = connect();
    ASSERT_EQ(gone.call(R"({"op":"sub","id":1,"tags":["t"]})").op(), "ok");
    gone.send_close(1000);
    ASSERT_EQ(gone.next_message().opcode, ws_op::close);
    ASSERT_TRUE(gone.wait_eof());
  }
  ws_client c = connect();
  ASSERT_EQ(c.call(R"({"op":"sub","id":1,"tags":["t"]})").op(), "ok");
  c.send_text(R"({"op":"pub","tag":"t","data":1})");
  EXPECT_EQ(c.wait_for("msg").u64("/seq"), 1u);
}

TEST(WebSocketIdle, SilentPeerIsPingedThenDroppedWhileAnsweringPeerStays) {
  // docs/protocol.md "Idle peers": silent for half of --idle-timeout gets a ping, silent for
  // all of it is dropped. Checked once a second: with 3 s the ping comes after 1.5 to 2.5 s,
  // the drop after 3 to 4 s.
  server_process server({"--no-auth", "--idle-timeout", "3s"});
  ASSERT_TRUE(server.start());
  ws_client silent = ws_client::connect(server.port());
  ws_client answering = ws_client::connect(server.port());

  const std::optional<ws_frame> ping = silent.next_frame(4s);
  ASSERT_TRUE(ping.has_value()) << (silent.eof() ? "dropped without a ping" : "no idle ping");
  EXPECT_EQ(ping->opcode, ws_op::ping);
  const ws_message also_pinged = answering.next_message(4s);
  ASSERT_EQ(also_pinged.opcode, ws_op::ping);
  answering.send_frame({.opcode = ws_op::pong, .payload = also_pinged.payload});

  EXPECT_TRUE(silent.wait_eof(4s)) << "a peer that never answered was not dropped";
  EXPECT_EQ(answering.call(R"({"op":"ping","id":1})").op(), "ok");
  EXPECT_EQ(metric_sum(server.port(), "wsagent_idle_closes_total"), 1u);
}

TEST(WebSocketIdle, ShortTimeoutStillPingsBeforeDropping) {
  // Four silent peers connected a quarter second apart: whatever the sweep's phase, some
  // peer's window [timeout/2, timeout) holds no sweep when the timeout is 1 s.
  server_process server({"--no-auth", "--idle-timeout", "1s"});
  ASSERT_TRUE(server.start());
  std::vector<ws_client> peers;
  for (int i = 0; i < 4; ++i) {
    if (i > 0) {
      std::this_thread::sleep_for(250ms);  // staggering, not synchronisation
    }
    peers.push_back(ws_client::connect(server.port()));
  }
  for (std::size_t i = 0; i < peers.size(); ++i) {
    SCOPED_TRACE("peer " + std::to_string(i));
    const std::optional<ws_frame> first = peers[i].next_frame(3s);
    EXPECT_TRUE(first.has_value() && first->opcode == ws_op::ping)
        << "the server dropped a peer without pinging it first";
    EXPECT_TRUE(peers[i].wait_eof(3s));
  }
}

}  // namespace
}  // namespace wsa::test

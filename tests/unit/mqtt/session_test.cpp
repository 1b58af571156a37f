// Session logic end to end, packets in (decoded from bytes) and decisions out: publishing
// with permissions, aliases, QoS 2 exactly once and the Receive Maximum; subscribing with
// permissions and retain handling; keep-alive; wills and session expiry at the end; how a
// message goes out (QoS, retain, expiry, aliases, maximum packet size); and a session
// stored, decoded and resumed with its in-flight messages sent again with DUP.
#include "mqtt/session.h"

#include <gtest/gtest.h>

#include <algorithm>

#include <deque>
#include <string>
#include <vector>

#include "decode_util.h"
#include "mqtt/outbound.h"

namespace wsa::mqtt::test {
namespace {

constexpr std::string_view mqtt311 = "00044d51545404";
constexpr std::string_view mqtt5 = "00044d51545405";

class mqtt_session : public ::testing::Test {
 protected:
  // Connects with a CONNECT body given as hex (after the protocol name and level).
  session& connect(std::string_view level, std::string_view rest_hex, int64_t now = 1000) {
    decoder_ = decoder(1 << 20);  // a new connection
    connect_bytes_ = frame(0x10, std::string(level) + std::string(rest_hex));
    std::string_view input(connect_bytes_);
    decode_error e;
    EXPECT_EQ(decoder_.next(input, packet_, e), decode_status::packet) << e.what;
    const connect_outcome o = negotiate(packet_.connect, lim_, "auto");
    EXPECT_EQ(o.code, reason::success) << o.what;
    return sessions_.emplace_back(o.params, lim_, now);
  }

  // Decodes one packet (first byte, body hex) on the connection.
  const packet& in(uint8_t first, std::string_view body_hex) {
    bytes_ = frame(first, body_hex);
    std::string_view input(bytes_);
    decode_error e;
    EXPECT_EQ(decoder_.next(input, packet_, e), decode_status::packet) << e.what;
    return packet_;
  }

  limits lim_;
  decoder decoder_{1 << 20};
  std::string connect_bytes_;
  std::string bytes_;
  packet packet_;
  std::deque<session> sessions_;  // earlier ones stay valid
};

auto allow_all = [](std::string_view) { return true; };

TEST_F(mqtt_session, publish_v311) {
  session& s = connect(mqtt311, "02 003c 0001 63");
  auto only_a = [](std::string_view tag) { return tag.starts_with("a."); };
  publish_decision d = s.on_publish(in(0x30, "0003 612f62 6869").publish, only_a);
  EXPECT_EQ(d.what, publish_decision::action::publish);
  EXPECT_EQ(d.tag, "a.b");
  EXPECT_TRUE(d.idem_key.empty());
  // No permission: 3.1.1 cannot say it, so the connection closes (QoS 0 and 1 alike).
  d = s.on_publish(in(0x32, "0003 622f62 0001 6869").publish, only_a);
  EXPECT_EQ(d.what, publish_decision::action::close);
  EXPECT_EQ(d.code, reason::not_authorized);
  d = s.on_publish(in(0x30, "0003 612062 6869").publish, only_a);  // "a b"
  EXPECT_EQ(d.what, publish_decision::action::close);
  EXPECT_EQ(d.code, reason::topic_name_invalid);
}

TEST_F(mqtt_session, publish_v5_refusals_and_aliases) {
  lim_.topic_alias_maximum = 2;
  session& s = connect(mqtt5, "02 003c 00 0001 63");
  auto deny_b = [](std::string_view tag) { return tag != "b"; };
  publish_decision d = s.on_publish(in(0x32, "0001 62 0001 00 6869").publish, deny_b);
  EXPECT_EQ(d.what, publish_decision::action::refuse_ack);  // PUBACK 0x87, stays connected
  EXPECT_EQ(d.code, reason::not_authorized);
  d = s.on_publish(in(0x30, "0001 62 00 6869").publish, deny_b);
  EXPECT_EQ(d.what, publish_decision::action::close);  // QoS 0 has no acknowledgement
  EXPECT_EQ(d.code, reason::not_authorized);
  d = s.on_publish(in(0x32, "0001 61 0002 02 0101 ff").publish, allow_all);
  EXPECT_EQ(d.what, publish_decision::action::refuse_ack);
  EXPECT_EQ(d.code, reason::payload_format_invalid);
  // Aliases: set with a topic, then used alone.
  d = s.on_publish(in(0x30, "0003 782f79 03 230002 31").publish, allow_all);
  EXPECT_EQ(d.what, publish_decision::action::publish);
  EXPECT_EQ(d.tag, "x.y");
  d = s.on_publish(in(0x30, "0000 03 230002 32").publish, allow_all);
  EXPECT_EQ(d.what, publish_decision::action::publish);
  EXPECT_EQ(d.tag, "x.y");
  d = s.on_publish(in(0x30, "0000 03 230001 32").publish, allow_all);
  EXPECT_EQ(d.what, publish_decision::action::close);
  EXPECT_EQ(d.code, reason::protocol_error);
  d = s.on_publish(in(0x30, "0001 61 03 230003 32").publish, allow_all);
  EXPECT_EQ(d.what, publish_decision::action::close);
  EXPECT_EQ(d.code, reason::topic_alias_invalid);
}

TEST_F(mqtt_session, qos2_exactly_once) {
  session& s = connect(mqtt5, "02 003c 00 0004 64657631", 0);
  publish_decision d = s.on_publish(in(0x34, "0001 61 0007 00 6869").publish, allow_all);
  ASSERT_EQ(d.what, publish_decision::action::publish);
  EXPECT_FALSE(d.duplicate);
  EXPECT_EQ(d.idem_key, qos2_idem_key("dev1", 1));
  // The connection hiccups before PUBREC: the client sends the PUBLISH again with DUP.
  const publish_decision again = s.on_publish(in(0x3c, "0001 61 0007 00 6869").publish, allow_all);
  EXPECT_TRUE(again.duplicate);
  EXPECT_EQ(again.idem_key, d.idem_key) << "the broker finds the first publish by this key";
  const ack_fields rec = s.publish_done(2, 7, reason::success);
  EXPECT_EQ(rec.packet_id, 7);
  EXPECT_EQ(rec.code, reason::success);
  const ack_fields comp = s.on_pubrel(in(0x62, "0007").ack.packet_id);
  EXPECT_EQ(comp.code, reason::success);
  EXPECT_EQ(s.on_pubrel(7).code, reason::packet_identifier_not_found);
  // The identifier is reused for a new message: a new key.
  d = s.on_publish(in(0x34, "0001 61 0007 00 6869").publish, allow_all);
  EXPECT_FALSE(d.duplicate);
  EXPECT_EQ(d.idem_key, qos2_idem_key("dev1", 2));
  // A failed PUBREC ends the exchange: the identifier is free without a PUBREL.
  EXPECT_EQ(s.publish_done(2, 7, reason::quota_exceeded).code, reason::quota_exceeded);
  EXPECT_FALSE(s.on_publish(in(0x34, "0001 61 0007 00 6869").publish, allow_all).duplicate);
}

TEST_F(mqtt_session, receive_maximum) {
  lim_.receive_maximum = 2;
  session& s5 = connect(mqtt5, "02 003c 00 0001 63");
  EXPECT_EQ(s5.on_publish(in(0x32, "0001 61 0001 00").publish, allow_all).what,
            publish_decision::action::publish);
  EXPECT_EQ(s5.on_publish(in(0x32, "0001 61 0002 00").publish, allow_all).what,
            publish_decision::action::publish);
  EXPECT_TRUE(s5.reading_paused());
  const publish_decision d = s5.on_publish(in(0x32, "0001 61 0003 00").publish, allow_all);
  EXPECT_EQ(d.what, publish_decision::action::close);
  EXPECT_EQ(d.code, reason::receive_maximum_exceeded);
  s5.publish_done(1, 1, reason::success);
  EXPECT_FALSE(s5.reading_paused());

  session& s3 = connect(mqtt311, "02 003c 0001 63");
  for (uint16_t id = 1; id <= 3; ++id) {  // 3.1.1 is throttled, never refused
    EXPECT_EQ(s3.on_publish(in(0x32, "0001 61 000" + std::to_string(id)).publish, allow_all).what,
              publish_decision::action::publish);
  }
  EXPECT_TRUE(s3.reading_paused());
}

TEST_F(mqtt_session, subscribe_permissions_and_retained) {
  session& s = connect(mqtt5, "02 003c 00 0001 63");
  auto may = [](std::string_view pattern) { return pattern != "secret" && pattern != "x.>"; };
  subscribe_outcome out;
  // a/# (rh 0), secret (refused), x/# (its `x.>` is refused), b (rh 1), c (rh 2), $share.
  s.on_subscribe(in(0x82,
                    "0001 00 0003 612f23 01 0006 736563726574 01 0003 782f23 00"
                    "0001 62 11 0001 63 20 000a 2473686172652f672f61 00")
                     .subscribe,
                 may, out);
  EXPECT_EQ(out.codes,
            (std::vector<reason>{reason::granted_qos1, reason::not_authorized,
                                 reason::not_authorized, reason::granted_qos1, reason::success,
                                 reason::shared_subscriptions_not_supported}));
  EXPECT_EQ(out.new_patterns, (std::vector<std::string>{"a", "a.>", "b", "c"}));
  ASSERT_EQ(out.send_retained.size(), 2u);
  EXPECT_EQ(out.send_retained[0].first, "a");
  EXPECT_EQ(out.send_retained[0].second, "a.>");
  EXPECT_EQ(out.send_retained[1].first, "b");
  // Again: b (rh 1) is not new, so no retained messages; a/# (rh 0) gets them again.
  s.on_subscribe(in(0x82, "0002 00 0003 612f23 01 0001 62 11").subscribe, may, out);
  EXPECT_TRUE(out.new_patterns.empty());
  ASSERT_EQ(out.send_retained.size(), 1u);
  EXPECT_EQ(out.send_retained[0].first, "a");
  std::vector<reason> codes;
  std::vector<std::string> dropped;
  s.on_unsubscribe(in(0xa2, "0003 00 0003 612f23 0001 7a").unsubscribe, codes, dropped);
  EXPECT_EQ(codes, (std::vector<reason>{reason::success, reason::no_subscription_existed}));
  EXPECT_EQ(dropped, (std::vector<std::string>{"a", "a.>"}));
}

TEST_F(mqtt_session, subscribe_v311_always_sends_retained) {
  session& s = connect(mqtt311, "02 003c 0001 63");
  subscribe_outcome out;
  s.on_subscribe(in(0x82, "0001 0001 61 01").subscribe, allow_all, out);
  s.on_subscribe(in(0x82, "0002 0001 61 01").subscribe, allow_all, out);
  EXPECT_EQ(out.codes, (std::vector<reason>{reason::granted_qos1}));
  EXPECT_EQ(out.send_retained.size(), 1u);
}

TEST_F(mqtt_session, keep_alive) {
  session& s = connect(mqtt311, "02 0014 0001 63", 1000);  // 20 s
  EXPECT_EQ(s.keep_alive_deadline_ms(), 1000 + 30'000);
  EXPECT_FALSE(s.keep_alive_expired(30'999));
  EXPECT_TRUE(s.keep_alive_expired(31'000));
  s.packet_received(20'000);
  EXPECT_FALSE(s.keep_alive_expired(31'000));
  EXPECT_TRUE(s.keep_alive_expired(50'000));
  session& off = connect(mqtt311, "02 0000 0001 63");
  EXPECT_EQ(off.keep_alive_deadline_ms(), 0);
  EXPECT_FALSE(off.keep_alive_expired(INT64_MAX));
}

TEST_F(mqtt_session, wills_and_endings) {
  // 5.0, session expiry 60 s, will delay 10 s.
  const std::string will = "06 003c 05 110000003c 0001 63 05 180000000a 0001 74 0001 78";
  session& s = connect(mqtt5, will);
  connection_end e = s.on_connection_end(false);
  EXPECT_TRUE(e.publish_will);
  EXPECT_EQ(e.will_delay_ms, 10'000);
  EXPECT_EQ(e.session_expiry_ms, 60'000);
  EXPECT_EQ(s.on_disconnect(in(0xe0, "").disconnect), reason::success);
  EXPECT_FALSE(s.on_connection_end(true).publish_will) << "normal disconnection drops the will";
  EXPECT_EQ(s.on_disconnect(in(0xe0, "04").disconnect), reason::success);
  EXPECT_TRUE(s.on_connection_end(true).publish_will) << "disconnect with will message";
  // DISCONNECT may shorten or lengthen the expiry (capped), never raise it from 0.
  EXPECT_EQ(s.on_disconnect(in(0xe0, "00 05 1100000005").disconnect), reason::success);
  e = s.on_connection_end(true);
  EXPECT_EQ(e.session_expiry_ms, 5'000);
  session& zero = connect(mqtt5, "06 003c 00 0001 63 05 180000000a 0001 74 0001 78");
  EXPECT_EQ(zero.on_disconnect(in(0xe0, "00 05 1100000005").disconnect), reason::protocol_error);
  e = zero.on_connection_end(false);
  EXPECT_TRUE(e.publish_will);
  EXPECT_EQ(e.will_delay_ms, 0) << "the session ends now, and the will with it";
  EXPECT_EQ(e.session_expiry_ms, 0);
}

TEST_F(mqtt_session, prepare_deliveries) {
  lim_.max_outbound_aliases = 4;
  // 5.0, topic alias maximum 2, maximum packet size 40.
  session& s = connect(mqtt5, "02 003c 08 220002 2700000028 0001 63");
  delivery_plan plan;
  plan.qos = 1;
  plan.subscription_ids = {3};
  const outgoing_message m{"a/b", "hi", {}};
  delivery d;
  // A WebSocket publish (QoS 1) to a QoS 1 subscription, not retained.
  ASSERT_EQ(s.prepare(m, plan, {.qos = 1, .retain = true}, false, 0, d), prepare_result::send);
  EXPECT_EQ(d.qos, 1);
  EXPECT_FALSE(d.retain) << "retain as published is off";
  EXPECT_EQ(d.topic_alias, 1);
  EXPECT_FALSE(d.omit_topic);
  ASSERT_EQ(d.subscription_ids.size(), 1u);
  ASSERT_EQ(s.prepare(m, plan, {.qos = 0}, true, 0, d), prepare_result::send);
  EXPECT_EQ(d.qos, 0) << "published at QoS 0";
  EXPECT_TRUE(d.retain) << "a retained message sent on subscribe";
  EXPECT_TRUE(d.omit_topic) << "the alias is known now";
  plan.retain_as_published = true;
  ASSERT_EQ(s.prepare(m, plan, {.qos = 1, .retain = true}, false, 0, d), prepare_result::send);
  EXPECT_TRUE(d.retain);
  // Message expiry: 60 s from the publish, 15.5 s waited -> 45 s left; 60 s waited -> gone.
  ASSERT_EQ(s.prepare(m, plan, {.qos = 1, .expiry_s = 60, .published_ms = 1'000}, false, 16'500, d),
            prepare_result::send);
  EXPECT_TRUE(d.has_message_expiry);
  EXPECT_EQ(d.message_expiry_interval, 45u);
  EXPECT_EQ(s.prepare(m, plan, {.qos = 1, .expiry_s = 60, .published_ms = 1'000}, false, 61'000, d),
            prepare_result::expired);
  // Over the client's maximum packet size: not sent, and no alias spent on it.
  const std::string big(40, 'x');
  EXPECT_EQ(s.prepare({"q", big, {}}, plan, {.qos = 1}, false, 0, d), prepare_result::too_large);
  ASSERT_EQ(s.prepare({"q", "", {}}, plan, {.qos = 1}, false, 0, d), prepare_result::send);
  EXPECT_EQ(d.topic_alias, 2) << "alias 2 was still free";
}

TEST_F(mqtt_session, prepare_v311) {
  session& s = connect(mqtt311, "02 003c 0001 63");
  delivery_plan plan;
  plan.qos = 1;
  plan.retain_as_published = true;
  plan.subscription_ids = {3};
  delivery d;
  ASSERT_EQ(
      s.prepare({"a", "x", {}}, plan, {.qos = 1, .retain = true, .expiry_s = 60}, false, 1'000, d),
      prepare_result::send);
  EXPECT_FALSE(d.retain) << "3.1.1 live messages never carry the retain flag";
  EXPECT_FALSE(d.has_message_expiry);
  EXPECT_EQ(d.topic_alias, 0);
  EXPECT_TRUE(d.subscription_ids.empty());
  plan.qos = 0;
  ASSERT_EQ(s.prepare({"a", "x", {}}, plan, {.qos = 1}, false, 0, d), prepare_result::send);
  EXPECT_TRUE(uses_shared_frame(d));
}

struct test_message {
  std::string tag;
  uint64_t seq = 0;
  message_position position() const {
    return {tag, "e", seq, 1'000'000 + static_cast<int64_t>(seq) * 10};
  }
};

TEST_F(mqtt_session, positions_are_kept_for_wildcard_tags_too) {
  // Resume replays every tag from its position: an exact tag's, and each tag a wildcard
  // reached (the pattern's `since` lists them).
  session& s = connect(mqtt311, "00 003c 0003 646576");
  subscribe_outcome out;
  s.on_subscribe(in(0x82, "0001 0003 772f23 01 0003 652f78 01").subscribe, allow_all, out);
  s.subscribed(5'000);
  s.delivered({"w.y", "e", 7, 10'000});
  s.delivered({"e.x", "e", 9, 9'000});
  session_record r = s.snapshot({}, 20'000);
  std::sort(r.positions.begin(), r.positions.end(),
            [](const stored_position& a, const stored_position& b) { return a.tag < b.tag; });
  ASSERT_EQ(r.positions.size(), 2u);
  EXPECT_EQ(r.positions[0], (stored_position{"e.x", "e", 9}));
  EXPECT_EQ(r.positions[1], (stored_position{"w.y", "e", 7}));
  EXPECT_EQ(r.resume_ts_ms, 10'000 - resume_margin_ms);
}

TEST_F(mqtt_session, stored_and_resumed) {
  // 3.1.1, persistent session, client id "dev".
  session& s = connect(mqtt311, "00 003c 0003 646576");
  subscribe_outcome out;
  // Exact filters s/1/t and q/x (positions are kept for exact subscriptions only).
  s.on_subscribe(in(0x82, "0001 0005 732f312f74 01 0003 712f78 00").subscribe, allow_all, out);
  outbound_window<test_message> window(s.params().outbound_window, lim_.max_pending);
  uint16_t id = 0;
  for (uint64_t seq = 1; seq <= 3; ++seq) {
    ASSERT_EQ(window.offer(test_message{"s.1.t", seq}, id), decltype(window)::offer_result::send);
  }
  test_message acked;
  ASSERT_TRUE(window.acknowledge(1, acked));
  s.delivered(acked.position());
  s.delivered({"q.x", "e", 40, 1'000'400});                        // a QoS 0 delivery
  s.on_publish(in(0x34, "0001 61 0009 6869").publish, allow_all);  // QoS 2, no PUBREL yet
  // The connection drops: the record goes to the store.
  std::vector<message_position> unacked;
  window.for_each_in_flight(
      [&](uint16_t, const test_message& m) { unacked.push_back(m.position()); });
  const session_record r = s.snapshot(unacked, 5'000'000);
  std::string stored;
  encode_session_record(r, stored);

  // The client comes back, on another node.
  session_record loaded;
  ASSERT_TRUE(decode_session_record(stored, loaded));
  EXPECT_FALSE(session_expired(loaded, 5'000'000 + 1000));
  session& back = connect(mqtt311, "00 003c 0003 646576");
  std::vector<std::string> patterns;
  back.restore(loaded, patterns);
  EXPECT_EQ(patterns, (std::vector<std::string>{"s.1.t", "q.x"}));
  ASSERT_EQ(loaded.positions.size(), 2u);
  EXPECT_EQ(loaded.positions[0], (stored_position{"q.x", "e", 40}));
  EXPECT_EQ(loaded.positions[1], (stored_position{"s.1.t", "e", 1}))
      << "seq 2 and 3 were in flight: the history replays them";
  EXPECT_EQ(loaded.resume_ts_ms, 1'000'400 - resume_margin_ms)
      << "before the newest delivery by the margin (the oldest in flight is later)";
  // The QoS 2 reception survived: its retransmission is recognised.
  const publish_decision d = back.on_publish(in(0x3c, "0001 61 0009 6869").publish, allow_all);
  EXPECT_TRUE(d.duplicate);
  EXPECT_EQ(d.idem_key, qos2_idem_key("dev", 1));
  // On the same node the window itself is resumed: in-flight messages go again, DUP set,
  // same identifiers, first-sent order.
  std::vector<std::string> resent;
  window.for_each_in_flight([&](uint16_t pid, const test_message& m) {
    const outgoing_message om{"s/1/t", "p", {}};
    const delivery dd{.qos = 1, .packet_id = pid, .dup = true};
    std::string head(head_size(protocol::v311, om, dd), '\0');
    write_head(head.data(), protocol::v311, om, dd);
    resent.push_back(hex(head) + "/" + std::to_string(m.seq));
  });
  EXPECT_EQ(resent,
            (std::vector<std::string>{"3a0a0005732f312f740002/2", "3a0a0005732f312f740003/3"}));
}

}  // namespace
}  // namespace wsa::mqtt::test

// The receive path's fast readers and WebSocket message reader: the stamps read in place
// equal what the general parser finds, whatever the digit counts; no reader looks past the
// end of its bytes (each input sits in a buffer of exactly its size, for AddressSanitizer);
// other layouts are left to the general path; and a stream of frames (fragmented messages,
// control frames between fragments, masked frames, every length encoding) gives the same
// messages however it is cut into receive buffers, down to one byte at a time.
#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "mqtt_codec.h"
#include "payload.h"
#include "ws_reader.h"

namespace wsa::loadgen {
namespace {

// The bytes of s in a heap block of exactly their size.
struct exact {
  explicit exact(const std::string& s) : size(s.size()), bytes(new char[s.size() + (s.empty())]) {
    std::memcpy(bytes.get(), s.data(), s.size());
  }
  std::size_t size;
  std::unique_ptr<char[]> bytes;
};

std::string data_of(const stamp& s, std::size_t size) {
  std::string out(data_size(s, size), '\0');
  write_data(out.data(), s, size);
  return out;
}

std::string msg_of(const std::string& tag, uint64_t seq, const std::string& data) {
  return msg_prefix(tag) + std::to_string(seq) + ",\"data\":" + data + "}";
}

uint64_t with_digits(int digits, uint64_t fill) {
  uint64_t v = 1;
  for (int i = 1; i < digits; ++i) {
    v = v * 10 + (fill + static_cast<uint64_t>(i)) % 10;
  }
  return v;
}

TEST(fast_readers, same_stamp_as_the_general_parser_for_every_digit_count) {
  const uint32_t publishers[] = {0, 7, 12345, 4294967295u};
  const uint32_t seqs[] = {0, 9, 10, 99999999, 100000000, 4294967295u};
  for (int t_digits = 1; t_digits <= 19; ++t_digits) {
    for (uint32_t pub : publishers) {
      for (uint32_t seq : seqs) {
        for (std::size_t size : {0u, 64u, 300u}) {
          stamp want{with_digits(t_digits, seq), pub, seq};
          std::string data = data_of(want, size);
          exact d(data);
          stamp got;
          ASSERT_TRUE(read_data_stamp(d.bytes.get(), d.size, got)) << data;
          EXPECT_EQ(got.t, want.t) << data;
          EXPECT_EQ(got.publisher, want.publisher) << data;
          EXPECT_EQ(got.seq, want.seq) << data;

          for (uint64_t env_seq : {uint64_t{1}, uint64_t{123456789012}}) {
            exact m(msg_of("bench.t0", env_seq, data));
            stamp fast;
            stamp general;
            ASSERT_TRUE(read_msg_stamp(m.bytes.get(), m.size, msg_prefix("bench.t0"), fast));
            ASSERT_TRUE(parse_stamp(m.bytes.get(), m.size, general));
            EXPECT_EQ(fast.t, general.t);
            EXPECT_EQ(fast.publisher, general.publisher);
            EXPECT_EQ(fast.seq, general.seq);
            EXPECT_EQ(fast.t, want.t);
          }
        }
      }
    }
  }
}

TEST(fast_readers, never_read_past_the_end_of_a_cut_message) {
  std::string msg = msg_of("bench.t0", 42, data_of(stamp{1234567890123456ull, 3, 77}, 64));
  std::string prefix = msg_prefix("bench.t0");
  for (std::size_t n = 0; n < msg.size(); ++n) {
    exact m(msg.substr(0, n));
    stamp s;
    bool got = read_msg_stamp(m.bytes.get(), m.size, prefix, s);
    // Whole frames only reach the reader; of a cut one it must not read past the end, and
    // once the seq "n" is whole, what follows does not matter to it.
    std::size_t n_start = msg.find("\"n\":") + 4;
    std::size_t n_end = msg.find(",\"p\"");
    if (n <= n_start) {
      EXPECT_FALSE(got) << "cut at " << n;
    }
    if (n >= n_end) {
      ASSERT_TRUE(got) << "cut at " << n;
      EXPECT_EQ(s.t, 1234567890123456ull);
      EXPECT_EQ(s.seq, 77u);
    }
    exact d(msg.substr(msg.find("{\"t\""), n > msg.find("{\"t\"") ? n - msg.find("{\"t\"") : 0));
    read_data_stamp(d.bytes.get(), d.size, s);  // must not crash or overread
  }
}

TEST(fast_readers, other_layouts_go_to_the_general_path) {
  std::string prefix = msg_prefix("bench.t0");
  std::string data = data_of(stamp{987654321, 2, 5}, 64);
  const std::string others[] = {
      msg_of("bench.t1", 3, data),                                     // another tag
      "{\"op\": \"msg\", \"tag\": \"bench.t0\", \"seq\": 3, \"data\": " + data + "}",
      "{\"op\":\"msg\",\"tag\":\"bench.t0\",\"seq\":3,\"data\": " + data + "}",
      "{\"op\":\"msg\",\"tag\":\"bench.t0\",\"seq\":,\"data\":" + data + "}",  // no seq digits
      "{\"op\":\"msg\",\"tag\":\"bench.t0\",\"seq\":3,\"data\":{\"i\":2,\"t\":987654321,"
      "\"n\":5,\"p\":\"xxxxxxxxxxxxxxxxxxxx\"}}",                          // fields reordered
      "{\"op\":\"msg\",\"tag\":\"bench.t0\",\"seq\":3,\"data\":{\"t\":98765\xfa\xff,\"i\":2,"
      "\"n\":5,\"p\":\"xxxxxxxxxxxxxxxxxxxx\"}}",                          // bytes >= 0xfa after t
  };
  for (const std::string& o : others) {
    exact m(o);
    stamp s;
    EXPECT_FALSE(read_msg_stamp(m.bytes.get(), m.size, prefix, s)) << o;
  }
  // The general path still reads the first four (another tag, spaces, missing seq digits).
  for (int i = 0; i < 4; ++i) {
    exact m(others[i]);
    stamp s;
    ASSERT_TRUE(parse_msg_stamp(m.bytes.get(), m.size, prefix, s)) << others[i];
    EXPECT_EQ(s.t, 987654321u);
    EXPECT_EQ(s.seq, 5u);
  }
  exact spaced("{\"t\": 5, \"i\": 1, \"n\": 2, \"p\": \"xxxxxxxxxxxxxxxx\"}");
  stamp s;
  EXPECT_FALSE(read_data_stamp(spaced.bytes.get(), spaced.size, s));
  ASSERT_TRUE(parse_data_stamp(spaced.bytes.get(), spaced.size, s));
  EXPECT_EQ(s.seq, 2u);
}

std::string msg_with_ts_of(const std::string& tag, uint64_t seq, uint64_t ts,
                           const std::string& data) {
  return msg_prefix(tag) + std::to_string(seq) + ",\"ts\":" + std::to_string(ts) +
         ",\"data\":" + data + "}";
}

TEST(tail_reader, same_stamp_as_the_general_parser_for_every_digit_count) {
  const uint32_t publishers[] = {0, 7, 12345, 4294967295u};
  const uint32_t seqs[] = {0, 9, 10, 9999999, 10000000, 99999999, 4294967295u};
  for (int t_digits = 1; t_digits <= 19; ++t_digits) {
    for (uint32_t pub : publishers) {
      for (uint32_t seq : seqs) {
        for (std::size_t size : {data_exact_size, std::size_t{64}, std::size_t{300}}) {
          stamp want{with_digits(t_digits, seq), pub, seq};
          std::string data = data_of(want, size);
          ASSERT_EQ(data.size(), size);
          for (const std::string& frame :
               {msg_of("bench.t0", 1, data), msg_with_ts_of("bench.t17", 123456789012,
                                                            1764950400123, data)}) {
            exact m(frame);
            stamp tail;
            stamp general;
            ASSERT_TRUE(read_msg_tail_stamp(m.bytes.get(), m.size, size, tail)) << frame;
            ASSERT_TRUE(parse_stamp(m.bytes.get(), m.size, general));
            EXPECT_EQ(tail.t, want.t) << frame;
            EXPECT_EQ(tail.publisher, want.publisher) << frame;
            EXPECT_EQ(tail.seq, want.seq) << frame;
            EXPECT_EQ(general.t, want.t);
          }
        }
      }
    }
  }
}

TEST(tail_reader, never_reads_past_the_end_and_refuses_cut_frames) {
  std::string data = data_of(stamp{1234567890123456ull, 3, 77}, 64);
  std::string msg = msg_with_ts_of("bench.t0", 42, 1764950400123, data);
  for (std::size_t n = 0; n < msg.size(); ++n) {
    exact head(msg.substr(0, n));
    exact tail(msg.substr(msg.size() - n));
    stamp s;
    EXPECT_FALSE(read_msg_tail_stamp(head.bytes.get(), head.size, 64, s)) << "cut at " << n;
    EXPECT_FALSE(read_msg_tail_stamp(tail.bytes.get(), tail.size, 64, s)) << "from " << n;
  }
}

TEST(tail_reader, other_layouts_are_left_to_the_other_readers) {
  std::string data = data_of(stamp{987654321, 2, 5}, 64);
  const std::string others[] = {
      msg_of("bench.t0", 3, "\"" + std::string(62, 'x') + "\""),  // data not ours
      "{\"op\":\"msg\",\"tag\":\"bench.t0\",\"seq\":3,\"data\":" + data + ",\"x\":1}",
      "{\"op\":\"msg\",\"tag\":\"bench.t0\",\"seq\":3,\"data\": " + data.substr(1) + "}",
      "{\"op\":\"ok\",\"tag\":\"bench.t0\",\"seq\":3,\"data\":" + data + "}",
      "{\"op\":\"msg\",\"tag\":\"bench.t0\",\"seq\":3,\"data\":{\"i\":2,\"t\":98765432,"
      "\"n\":5,\"p\":\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}}",  // fields reordered
      "{\"op\":\"msg\",\"tag\":\"bench.t0\",\"seq\":3,\"data\":{\"t\":98765\xfa\xff\xff\xff,\"i\":2,"
      "\"n\":5,\"p\":\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}}",  // bytes >= 0xfa after t
  };
  for (const std::string& o : others) {
    exact m(o);
    stamp s;
    EXPECT_FALSE(read_msg_tail_stamp(m.bytes.get(), m.size, 64, s)) << o;
  }
  // The data is not of the announced size: another --size, or a short body.
  exact m(msg_of("bench.t0", 3, data));
  stamp s;
  EXPECT_FALSE(read_msg_tail_stamp(m.bytes.get(), m.size, 65, s));
  EXPECT_FALSE(read_msg_tail_stamp(m.bytes.get(), m.size, 63, s));
  EXPECT_FALSE(read_msg_tail_stamp(m.bytes.get(), m.size, 0, s));
  EXPECT_TRUE(read_msg_tail_stamp(m.bytes.get(), m.size, 64, s));
  EXPECT_EQ(s.seq, 5u);
}

TEST(fast_readers, mqtt_qos0_payload_only_for_plain_qos0_publishes) {
  std::string payload = data_of(stamp{55555555555ull, 1, 2}, 64);
  std::string pkt(mqtt_publish_size(8, 0, payload.size()), '\0');
  char* q = mqtt_write_publish_head(pkt.data(), "bench/t0", 0, 0, payload.size());
  std::memcpy(q, payload.data(), payload.size());
  std::size_t header = 0;
  std::size_t total = 0;
  bool malformed = false;
  ASSERT_TRUE(mqtt_packet_size(pkt.data(), pkt.size(), header, total, malformed));
  exact e(pkt);
  const char* p = nullptr;
  std::size_t n = 0;
  ASSERT_TRUE(mqtt_qos0_payload(e.bytes.get(), header, total, p, n));
  EXPECT_EQ(std::string(p, n), payload);

  std::string qos1(mqtt_publish_size(8, 1, payload.size()), '\0');
  mqtt_write_publish_head(qos1.data(), "bench/t0", 1, 9, payload.size());
  EXPECT_FALSE(mqtt_qos0_payload(qos1.data(), header, qos1.size(), p, n));
  std::string retained = pkt;
  retained[0] = static_cast<char>(pkt[0] | 1);
  EXPECT_FALSE(mqtt_qos0_payload(retained.data(), header, total, p, n));
  std::string suback("\x90\x03\x00\x01\x00", 5);
  EXPECT_FALSE(mqtt_qos0_payload(suback.data(), 2, 5, p, n));
  std::string lying("\x30\x04\x00\x09" "ab", 6);  // topic length past the packet
  EXPECT_FALSE(mqtt_qos0_payload(lying.data(), 2, 6, p, n));
}

// --- WebSocket messages ----------------------------------------------------------------

std::string frame(uint8_t opcode, const std::string& payload, bool fin = true,
                  uint32_t mask = 0) {
  std::string f(14 + payload.size(), '\0');
  std::size_t h = mask != 0 ? ws_write_header(f.data(), opcode, payload.size(), mask)
                            : ws_write_server_header(f.data(), opcode, payload.size());
  f[0] = static_cast<char>(fin ? f[0] : f[0] & 0x7f);
  std::memcpy(f.data() + h, payload.data(), payload.size());
  if (mask != 0) {
    ws_mask(f.data() + h, payload.size(), mask);
  }
  f.resize(h + payload.size());
  return f;
}

struct recorder {
  std::vector<std::string> events;  // "m<opcode>:<payload>" or "c<opcode>:<payload>"
  std::vector<stamp> stamps;        // the messages read by the fast path
  std::string failure;
  std::string prefix = msg_prefix("bench.t0");

  bool message(uint8_t opcode, char* p, std::size_t n) {
    stamp s;
    if (read_msg_stamp(p, n, prefix, s)) {
      stamps.push_back(s);
    }
    events.push_back("m" + std::to_string(opcode) + ":" + std::string(p, n));
    return true;
  }
  bool control(uint8_t opcode, char* p, std::size_t n) {
    events.push_back("c" + std::to_string(opcode) + ":" + std::string(p, n));
    return opcode != ws_close;  // nothing after a close counts
  }
  void error(const char* why) { failure = why; }
};

// Feeds `stream` cut at the given offsets (ascending) and returns what the handler saw.
recorder feed_cut(const std::string& stream, const std::vector<std::size_t>& cuts,
                  bool expect_ok = true) {
  recorder r;
  ws_reader reader;
  byte_buffer carry;
  std::size_t from = 0;
  bool ok = true;
  for (std::size_t i = 0; i <= cuts.size() && ok; ++i) {
    std::size_t to = i < cuts.size() ? cuts[i] : stream.size();
    exact piece(stream.substr(from, to - from));  // a receive buffer of exactly these bytes
    ok = reader.feed(carry, piece.bytes.get(), piece.size, r);
    from = to;
  }
  EXPECT_EQ(ok, expect_ok);
  if (expect_ok) {
    EXPECT_TRUE(carry.empty());
  }
  return r;
}

struct test_stream {
  std::string bytes;
  std::vector<std::string> events;
  std::vector<stamp> stamps;
};

test_stream mixed_stream(bool with_big_frame) {
  test_stream t;
  auto add_msg = [&t](uint32_t n, std::size_t size) {
    stamp s{1700000000000000000ull + n, 0, n};
    std::string m = msg_of("bench.t0", n + 1, data_of(s, size));
    t.bytes += frame(ws_text, m);
    t.events.push_back("m1:" + m);
    t.stamps.push_back(s);
  };
  add_msg(0, 64);
  add_msg(1, 200);    // 16-bit length
  if (with_big_frame) {
    add_msg(2, 70000);  // 64-bit length
  }
  t.bytes += frame(ws_ping, "are you there");
  t.events.push_back("c9:are you there");
  // A fragmented message with a ping and a pong between its fragments.
  std::string whole = msg_of("bench.t0", 4, data_of(stamp{42, 0, 3}, 64));
  t.bytes += frame(ws_text, whole.substr(0, 10), false);
  t.bytes += frame(ws_ping, "");
  t.bytes += frame(ws_continuation, whole.substr(10, 30), false);
  t.bytes += frame(ws_pong, "p");
  t.bytes += frame(ws_continuation, whole.substr(40), true);
  t.events.push_back("c9:");
  t.events.push_back("c10:p");
  t.events.push_back("m1:" + whole);
  t.stamps.push_back(stamp{42, 0, 3});
  t.bytes += frame(ws_binary, std::string("\x00\x01\x02", 3));
  t.events.push_back("m2:" + std::string("\x00\x01\x02", 3));
  // A masked frame (servers must not, tolerated) and a message of another layout.
  t.bytes += frame(ws_text, "{\"op\":\"ok\",\"id\":1}", true, 0x11223344);
  t.events.push_back("m1:{\"op\":\"ok\",\"id\":1}");
  add_msg(4, 64);
  t.bytes += frame(ws_close, std::string("\x03\xe8", 2));
  t.events.push_back("c8:" + std::string("\x03\xe8", 2));
  t.bytes += frame(ws_text, "after the close");  // never reported
  return t;
}

void expect_same(const recorder& r, const test_stream& t, const std::string& where) {
  ASSERT_EQ(r.events, t.events) << where;
  ASSERT_EQ(r.stamps.size(), t.stamps.size()) << where;
  for (std::size_t i = 0; i < t.stamps.size(); ++i) {
    EXPECT_EQ(r.stamps[i].t, t.stamps[i].t) << where;
    EXPECT_EQ(r.stamps[i].seq, t.stamps[i].seq) << where;
  }
  EXPECT_TRUE(r.failure.empty()) << where;
}

TEST(ws_reader, same_messages_however_the_stream_is_cut) {
  test_stream t = mixed_stream(true);
  // Stopped by the close frame: feed answers false, the bytes after it stay unread.
  expect_same(feed_cut(t.bytes, {}, false), t, "uncut");
  std::size_t n = t.bytes.size();
  for (std::size_t a = 1; a < n; a += (a < 600 || a > n - 600) ? 1 : 331) {
    recorder r = feed_cut(t.bytes, {a, a + (n - a) / 2}, false);
    expect_same(r, t, "cut at " + std::to_string(a));
    if (testing::Test::HasFatalFailure()) {
      return;
    }
  }
}

TEST(ws_reader, byte_at_a_time) {
  test_stream t = mixed_stream(false);  // without the 70 KB frame, for a shorter run
  std::vector<std::size_t> cuts;
  for (std::size_t i = 1; i < t.bytes.size(); ++i) {
    cuts.push_back(i);
  }
  recorder r = feed_cut(t.bytes, cuts, false);
  expect_same(r, t, "byte by byte");
}

TEST(ws_reader, protocol_errors) {
  struct {
    std::string stream;
    const char* error;
  } cases[] = {
      {frame(ws_continuation, "x"), "continuation without a message"},
      {frame(ws_text, "a", false) + frame(ws_text, "b"), "new message inside a fragmented one"},
      {frame(0x3, "reserved"), "unknown WebSocket opcode"},
  };
  for (const auto& c : cases) {
    recorder r = feed_cut(c.stream, {}, false);
    EXPECT_EQ(r.failure, c.error);
  }
  // A frame announcing more than the reader takes is refused before any byte is buffered.
  std::string huge("\x81\x7f\x00\x00\x00\x01\x00\x00\x00\x00", 10);
  recorder r = feed_cut(huge, {}, false);
  EXPECT_TRUE(r.events.empty());
}

}  // namespace
}  // namespace wsa::loadgen

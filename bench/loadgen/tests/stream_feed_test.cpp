// Reassembly tests: the same stream of WebSocket frames and MQTT packets cut at every
// possible point (and byte by byte) yields the same units as the uncut stream.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "mqtt_codec.h"
#include "stream_feed.h"
#include "ws_codec.h"

namespace wsa::loadgen {
namespace {

int ws_size(const char* p, std::size_t n, std::size_t& header, std::size_t& total) {
  ws_frame_header h;
  if (!ws_parse_header(p, n, h)) {
    return 0;
  }
  header = h.size;
  total = h.size + h.payload;
  return 1;
}

int mqtt_size(const char* p, std::size_t n, std::size_t& header, std::size_t& total) {
  bool malformed = false;
  if (!mqtt_packet_size(p, n, header, total, malformed)) {
    return malformed ? -1 : 0;
  }
  return 1;
}

// Server-style (unmasked) frame.
std::string frame(uint8_t opcode, const std::string& payload, bool fin = true) {
  std::string f;
  f += static_cast<char>((fin ? 0x80 : 0) | opcode);
  if (payload.size() < 126) {
    f += static_cast<char>(payload.size());
  } else if (payload.size() < 65536) {
    f += static_cast<char>(126);
    f += static_cast<char>(payload.size() >> 8);
    f += static_cast<char>(payload.size() & 0xff);
  } else {
    f += static_cast<char>(127);
    for (int i = 7; i >= 0; --i) {
      f += static_cast<char>((static_cast<uint64_t>(payload.size()) >> (8 * i)) & 0xff);
    }
  }
  return f + payload;
}

std::vector<std::string> feed_in_pieces(const std::string& stream, std::size_t cut_a,
                                        std::size_t cut_b, bool mqtt) {
  std::vector<std::string> units;
  byte_buffer carry;
  std::string copy = stream;
  auto on_unit = [&units](char* p, std::size_t, std::size_t n) {
    units.emplace_back(p, n);
    return true;
  };
  std::size_t cuts[] = {0, cut_a, cut_b, copy.size()};
  for (int i = 0; i < 3; ++i) {
    bool ok = mqtt ? feed_units(carry, copy.data() + cuts[i], cuts[i + 1] - cuts[i], mqtt_size,
                                on_unit)
                   : feed_units(carry, copy.data() + cuts[i], cuts[i + 1] - cuts[i], ws_size,
                                on_unit);
    EXPECT_TRUE(ok);
  }
  EXPECT_TRUE(carry.empty());
  return units;
}

TEST(stream_feed, websocket_frames_cut_anywhere) {
  std::vector<std::string> frames = {frame(ws_text, "{\"op\":\"hello\"}"), frame(ws_ping, ""),
                                     frame(ws_text, std::string(300, 'a')),
                                     frame(ws_binary, std::string(70000, 'b')),
                                     frame(ws_text, "x", false), frame(ws_continuation, "y")};
  std::string stream;
  for (const auto& f : frames) {
    stream += f;
  }
  for (std::size_t a = 0; a <= stream.size(); a += (a < 400 || a > stream.size() - 400) ? 1 : 997) {
    std::size_t b = a + (stream.size() - a) / 2;
    ASSERT_EQ(feed_in_pieces(stream, a, b, false), frames) << "cut at " << a << "," << b;
  }
}

TEST(stream_feed, byte_by_byte) {
  std::vector<std::string> frames = {frame(ws_text, "abc"), frame(ws_text, std::string(200, 'z'))};
  std::string stream = frames[0] + frames[1];
  byte_buffer carry;
  std::vector<std::string> units;
  for (char ch : stream) {
    char c = ch;
    ASSERT_TRUE(feed_units(carry, &c, 1, ws_size, [&units](char* p, std::size_t, std::size_t n) {
      units.emplace_back(p, n);
      return true;
    }));
  }
  EXPECT_EQ(units, frames);
}

TEST(stream_feed, mqtt_packets_cut_anywhere_and_malformed_rejected) {
  std::vector<std::string> pkts;
  for (std::size_t size : {10u, 200u, 20000u}) {
    std::string payload(size, 'p');
    std::string pkt(mqtt_publish_size(3, 0, size), '\0');
    char* q = mqtt_write_publish_head(pkt.data(), "a/b", 0, 0, size);
    std::memcpy(q, payload.data(), size);
    pkts.push_back(pkt);
  }
  pkts.push_back(std::string("\xd0\x00", 2));  // PINGRESP
  std::string stream;
  for (const auto& p : pkts) {
    stream += p;
  }
  for (std::size_t a = 0; a <= stream.size(); a += a < 300 ? 1 : 509) {
    ASSERT_EQ(feed_in_pieces(stream, a, a + (stream.size() - a) / 3, true), pkts) << a;
  }
  byte_buffer carry;
  std::string bad("\x30\xff\xff\xff\xff\x01", 6);
  EXPECT_FALSE(feed_units(carry, bad.data(), bad.size(), mqtt_size,
                          [](char*, std::size_t, std::size_t) { return true; }));
}

TEST(stream_feed, stop_requested_by_handler) {
  std::string stream = frame(ws_text, "a") + frame(ws_close, "") + frame(ws_text, "b");
  byte_buffer carry;
  int seen = 0;
  EXPECT_FALSE(feed_units(carry, stream.data(), stream.size(), ws_size,
                          [&seen](char* p, std::size_t, std::size_t) {
                            ++seen;
                            return (static_cast<uint8_t>(p[0]) & 0x0f) != ws_close;
                          }));
  EXPECT_EQ(seen, 2);
}

}  // namespace
}  // namespace wsa::loadgen

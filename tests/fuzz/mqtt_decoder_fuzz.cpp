// libFuzzer target: the MQTT decoder (src/mqtt/decoder.h) and what a server runs on what it
// decodes. The first input byte chooses the maximum packet size and how the rest, a byte
// stream from a client, is cut into pieces; the rest is that stream. Besides memory errors
// and undefined behaviour it checks the decoder's contract:
// - the pieces do not matter: fed whole, or cut as the first byte says, the stream decodes
//   to the same packets and the same error (compared as text);
// - a PUBLISH encodes back (publish.h) to a packet that decodes to the same PUBLISH;
// - forwarded 5.0 properties are a property block that reads back in a PUBLISH;
// - payloads map to valid JSON `data` (payload.h), and non-JSON payloads come back intact;
// - CONNECT negotiation, SUBSCRIBE/UNSUBSCRIBE handling and topic mapping run on the
//   decoded packets without breaking.
// Run it with scripts/fuzz.sh mqtt_decoder [SECONDS]; every test build replays its seeds
// (ctest -R fuzz.mqtt_decoder), see tests/fuzz/README.md.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_support.h"
#include "json/validate.h"
#include "mqtt/connect.h"
#include "mqtt/payload.h"
#include "mqtt/publish.h"
#include "mqtt/session.h"
#include "../unit/mqtt/decode_util.h"

namespace {

using namespace wsa::mqtt;

// Re-encodes a decoded PUBLISH as a server would send it and decodes that again.
void check_publish_round_trip(protocol level, const publish_packet& p) {
  if (p.topic.empty()) {
    return;  // an alias-only PUBLISH has no topic to send back
  }
  std::string props(forwarded_properties_size(p.props.raw), '\0');
  copy_forwarded_properties(p.props.raw, props.data());
  if (level == protocol::v5) {
    // The forwarded properties are a valid block of their own.
    std::string block(1, '\0');
    char length[4];
    block.assign(length, write_varint(length, static_cast<uint32_t>(props.size())));
    block += props;
    reader r(block);
    properties back;
    property_error err;
    WSA_FUZZ_REQUIRE(read_properties(r, property_context::publish, back, err));
    WSA_FUZZ_REQUIRE(r.done());
    WSA_FUZZ_REQUIRE(back.user_property_count == p.props.user_property_count);
  }
  const outgoing_message m{p.topic, p.payload, props};
  const delivery d{.qos = p.qos, .packet_id = p.packet_id, .dup = p.dup, .retain = p.retain};
  std::string bytes = level == protocol::v5
                          ? wsa::mqtt::test::unhex("100e00044d5154540502003c00000163")
                          : wsa::mqtt::test::unhex("100d00044d5154540402003c000163");
  const std::size_t start = bytes.size();
  bytes.resize(start + head_size(level, m, d));
  write_head(bytes.data() + start, level, m, d);
  bytes += level == protocol::v5 ? props : std::string();
  bytes += p.payload;
  decoder dec(UINT32_MAX);
  std::string_view in(bytes);
  packet again;
  decode_error e;
  WSA_FUZZ_REQUIRE(dec.next(in, again, e) == decode_status::packet);
  WSA_FUZZ_REQUIRE(dec.next(in, again, e) == decode_status::packet);
  WSA_FUZZ_REQUIRE(in.empty());
  WSA_FUZZ_REQUIRE(again.type == packet_type::publish);
  WSA_FUZZ_REQUIRE(again.publish.topic == p.topic);
  WSA_FUZZ_REQUIRE(again.publish.payload == p.payload);
  WSA_FUZZ_REQUIRE(again.publish.qos == p.qos && again.publish.packet_id == p.packet_id);
  WSA_FUZZ_REQUIRE(again.publish.dup == p.dup && again.publish.retain == p.retain);
}

void check_payload(std::string_view payload) {
  std::string scratch;
  const std::string data(payload_to_data(payload, scratch));
  WSA_FUZZ_REQUIRE(wsa::is_valid_json(data));
  std::string back_scratch;
  const std::string_view back = data_to_payload(data, back_scratch);
  if (classify_payload(payload) != payload_kind::json) {
    WSA_FUZZ_REQUIRE(back == payload);
  }
}

// What a server does with a decoded packet, short of I/O.
void exercise(protocol level, const packet& p, std::vector<session>& sessions) {
  auto allow = [](std::string_view) { return true; };
  switch (p.type) {
    case packet_type::connect: {
      const connect_outcome o = negotiate(p.connect, limits{}, "auto-1");
      const connack_fields f = connack_for(o, false);
      std::string out(connack_size(p.connect.level, f), '\0');
      WSA_FUZZ_REQUIRE(write_connack(out.data(), p.connect.level, f) == out.data() + out.size());
      if (o.code == reason::success) {
        sessions.emplace_back(o.params, limits{}, 0);
      }
      break;
    }
    case packet_type::publish:
      check_publish_round_trip(level, p.publish);
      check_payload(p.publish.payload);
      if (!sessions.empty()) {
        sessions.back().on_publish(p.publish, allow);
      }
      break;
    case packet_type::subscribe:
      if (!sessions.empty()) {
        subscribe_outcome out;
        sessions.back().on_subscribe(p.subscribe, allow, out);
        WSA_FUZZ_REQUIRE(out.codes.size() == p.subscribe.entries.size());
        std::string suback(suback_size(level, out.codes), '\0');
        write_suback(suback.data(), level, p.subscribe.packet_id, out.codes);
      }
      break;
    case packet_type::unsubscribe:
      if (!sessions.empty()) {
        std::vector<reason> codes;
        std::vector<std::string> dropped;
        sessions.back().on_unsubscribe(p.unsubscribe, codes, dropped);
        WSA_FUZZ_REQUIRE(codes.size() == p.unsubscribe.filters.size());
      }
      break;
    case packet_type::pubrel:
      if (!sessions.empty()) {
        sessions.back().on_pubrel(p.ack.packet_id);
      }
      break;
    case packet_type::disconnect:
      if (!sessions.empty()) {
        sessions.back().on_disconnect(p.disconnect);
        sessions.back().on_connection_end(true);
      }
      break;
    default:
      break;
  }
}

// Decodes the stream in the given pieces; the packets and the error as text.
std::vector<std::string> run(std::string_view stream, uint32_t max_packet, std::size_t piece,
                             bool exercise_packets) {
  decoder d(max_packet);
  std::vector<std::string> out;
  std::vector<session> sessions;
  std::string buffer;
  for (std::size_t at = 0; at < stream.size();) {
    const std::size_t n = piece == 0 ? stream.size() - at : std::min(piece, stream.size() - at);
    buffer.assign(stream.substr(at, n));  // a receive buffer, overwritten after use
    at += n;
    std::string_view input(buffer);
    for (;;) {
      packet p;
      decode_error e;
      const decode_status s = d.next(input, p, e);
      if (s == decode_status::need_more) {
        WSA_FUZZ_REQUIRE(input.empty());
        break;
      }
      if (s == decode_status::error) {
        WSA_FUZZ_REQUIRE(e.what != nullptr && e.what[0] != '\0');
        out.push_back(std::string("error ") + reason_name(e.code) + " " + e.what);
        return out;
      }
      out.push_back(wsa::mqtt::test::describe(p));
      if (exercise_packets) {
        exercise(d.level(), p, sessions);
      }
      if (input.empty()) {
        break;
      }
    }
    buffer.assign(buffer.size(), '\xee');
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  if (size == 0) {
    return 0;
  }
  const uint8_t control = data[0];
  const std::string_view stream(reinterpret_cast<const char*>(data + 1), size - 1);
  static constexpr uint32_t max_sizes[4] = {64, 300, 4096, 1 << 20};
  const uint32_t max_packet = max_sizes[control & 3];
  const std::size_t piece = (control >> 2) % 8;  // 0: whole; else pieces of 1..7 bytes
  const std::vector<std::string> whole = run(stream, max_packet, 0, true);
  if (piece != 0) {
    WSA_FUZZ_REQUIRE(run(stream, max_packet, piece, false) == whole);
  }
  return 0;
}

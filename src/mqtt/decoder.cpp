// Framing of client packets: the fixed header, the size limit, gathering split packets. The
// packets' bodies are parsed in parse.cpp. See decoder.h.
#include "mqtt/decoder.h"

#include <algorithm>

#include "util/release.h"

namespace wsa::mqtt {
namespace {

// The protocol's largest packet: a 1-byte type, a 4-byte remaining length, and that length.
constexpr uint32_t protocol_max_packet = 1 + 4 + max_varint;

// Past this, a gathering buffer is released once its packet is handled, so that a
// connection's memory returns to its steady state after one large packet.
constexpr std::size_t keep_buffer_bytes = 64 * 1024;

}  // namespace

error_action action_for(const decode_error& err) {
  if (err.packet == packet_type::connect) {
    if (err.level == protocol::v5) {
      return error_action::connack_v5;
    }
    connack_v311 code{};
    return connack_code_v311(err.code, code) ? error_action::connack_v311 : error_action::close;
  }
  return err.level == protocol::v5 ? error_action::disconnect_v5 : error_action::close;
}

decoder::decoder(uint32_t max_packet_size)
    : max_packet_size_(std::clamp<uint32_t>(max_packet_size, 2, protocol_max_packet)) {}

decode_status decoder::fail(decode_error& err) {
  failed_ = true;
  error_ = err;
  buffer_.clear();
  return decode_status::error;
}

// Refuses what the fixed header alone shows to be wrong, before any body is held.
bool decoder::check_header(uint8_t first, uint32_t total, decode_error& err) const {
  const auto type = static_cast<packet_type>(first >> 4);
  const uint8_t flags = first & 0x0f;
  err.packet = type;
  err.level = level_;
  auto refuse = [&](reason code, const char* what) {
    err.code = code;
    err.what = what;
    return false;
  };
  if (type == packet_type::reserved || (type == packet_type::auth && level_ == protocol::v311)) {
    return refuse(reason::malformed_packet, "reserved packet type");
  }
  if (!connected_ && type != packet_type::connect) {
    return refuse(reason::protocol_error, "the first packet must be CONNECT");
  }
  switch (type) {
    case packet_type::connect:
      if (connected_) {
        return refuse(reason::protocol_error, "a second CONNECT");
      }
      break;
    case packet_type::connack:
    case packet_type::suback:
    case packet_type::unsuback:
    case packet_type::pingresp:
      return refuse(reason::protocol_error, "a packet only a server sends");
    default:
      break;
  }
  if (type == packet_type::publish) {
    const uint8_t qos = (flags >> 1) & 0x03;
    if (qos == 3) {
      return refuse(reason::malformed_packet, "PUBLISH with QoS 3");
    }
    if (qos == 0 && (flags & 0x08) != 0) {
      return refuse(reason::malformed_packet, "PUBLISH with QoS 0 and DUP set");
    }
  } else {
    const bool flags_two = type == packet_type::pubrel || type == packet_type::subscribe ||
                           type == packet_type::unsubscribe;
    if (flags != (flags_two ? 0x02 : 0x00)) {
      return refuse(reason::malformed_packet, "reserved fixed header flags");
    }
  }
  if (total > max_packet_size_) {
    return refuse(reason::packet_too_large, "packet larger than the maximum packet size");
  }
  return true;
}

decode_status decoder::finish(uint8_t first, std::string_view body, packet& out,
                              decode_error& err) {
  if (!parse_packet(level_, first, body, out, err)) {
    return fail(err);
  }
  if (out.type == packet_type::connect) {
    level_ = out.connect.level;
    connected_ = true;
  }
  return decode_status::packet;
}

// Reads and checks the fixed header at p[0..n): `packet` when complete (total and header
// size set), `need_more`, or `error`.
decode_status decoder::read_header(const unsigned char* p, std::size_t n, uint32_t& total,
                                   std::size_t& header, decode_error& err) {
  if (n < 2) {
    return decode_status::need_more;
  }
  uint32_t remaining = 0;
  std::size_t used = 0;
  switch (read_varint(p + 1, n - 1, remaining, used)) {
    case varint_status::need_more:
      return decode_status::need_more;
    case varint_status::malformed:
      err = {reason::malformed_packet, "bad remaining length", static_cast<packet_type>(p[0] >> 4),
             level_};
      return fail(err);
    case varint_status::complete:
      break;
  }
  total = static_cast<uint32_t>(1 + used + remaining);  // <= 268,435,460
  header = 1 + used;
  return check_header(p[0], total, err) ? decode_status::packet : fail(err);
}

decode_status decoder::next(std::string_view& input, packet& out, decode_error& err) {
  if (failed_) {
    err = error_;
    return decode_status::error;
  }
  if (held_) {
    held_ = false;
    release_if_grown(buffer_, keep_buffer_bytes);
    buffer_.clear();
    total_ = 0;
  }
  if (buffer_.empty()) {
    // Fast path: the whole packet is in the input; decode it where it lies.
    const auto* p = reinterpret_cast<const unsigned char*>(input.data());
    uint32_t total = 0;
    std::size_t header = 0;
    const decode_status s = read_header(p, input.size(), total, header, err);
    if (s == decode_status::error) {
      return s;
    }
    if (s == decode_status::packet && input.size() >= total) {
      const std::string_view body = input.substr(header, total - header);
      input.remove_prefix(total);
      return finish(p[0], body, out, err);
    }
  }
  // Slow path: gather the packet. Its fixed header first, a byte at a time (at most 5), so
  // that nothing of the next packet is taken.
  while (total_ == 0) {
    if (input.empty()) {
      return decode_status::need_more;
    }
    buffer_.push_back(input.front());
    input.remove_prefix(1);
    const auto* p = reinterpret_cast<const unsigned char*>(buffer_.data());
    if (read_header(p, buffer_.size(), total_, header_, err) == decode_status::error) {
      return decode_status::error;
    }
  }
  const std::size_t take = std::min<std::size_t>(input.size(), total_ - buffer_.size());
  buffer_.append(input.data(), take);
  input.remove_prefix(take);
  if (buffer_.size() < total_) {
    return decode_status::need_more;
  }
  held_ = true;  // `out` points into buffer_ until the next call
  const std::string_view whole(buffer_);
  return finish(static_cast<uint8_t>(whole[0]), whole.substr(header_), out, err);
}

}  // namespace wsa::mqtt

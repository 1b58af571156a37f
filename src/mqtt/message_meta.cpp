#include "mqtt/message_meta.h"

#include "mqtt/properties.h"
#include "mqtt/wire.h"

namespace wsa::mqtt {
namespace {

constexpr uint8_t qos_bits = 0x03;
constexpr uint8_t retain_bit = 0x04;
constexpr uint8_t expiry_bit = 0x08;
constexpr uint8_t publisher_bit = 0x10;

void put_be(std::string& out, uint64_t v, int bytes) {
  for (int shift = (bytes - 1) * 8; shift >= 0; shift -= 8) {
    out.push_back(static_cast<char>((v >> shift) & 0xff));
  }
}

bool get_be(std::string_view& in, int bytes, uint64_t& v) {
  if (in.size() < static_cast<std::size_t>(bytes)) {
    return false;
  }
  v = 0;
  for (int i = 0; i < bytes; ++i) {
    v = v << 8 | static_cast<unsigned char>(in[i]);
  }
  in.remove_prefix(bytes);
  return true;
}

// Only forwarded properties, each whole: what is sent from them frames right.
bool forwarded_shape(std::string_view raw) {
  reader r(raw);
  while (!r.done()) {
    uint8_t id = 0;
    std::string_view skip;
    r.u8(id);
    switch (static_cast<property_id>(id)) {
      case property_id::payload_format_indicator:
        if (!r.bytes(1, skip)) {
          return false;
        }
        break;
      case property_id::content_type:
      case property_id::response_topic:
      case property_id::correlation_data:
        if (!r.binary(skip)) {
          return false;
        }
        break;
      case property_id::user_property:
        if (!r.binary(skip) || !r.binary(skip)) {
          return false;
        }
        break;
      default:
        return false;
    }
  }
  return true;
}

}  // namespace

uint64_t session_hash(std::string_view session_key) {
  uint64_t h = 14695981039346656037ull;
  for (const char c : session_key) {
    h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ull;
  }
  return h == 0 ? 1 : h;
}

void write_message_meta(const message_meta& m, std::string& out) {
  out.clear();
  uint8_t flags = m.qos & qos_bits;
  flags |= m.retain ? retain_bit : 0;
  flags |= m.expiry_s != 0 ? expiry_bit : 0;
  flags |= m.publisher != 0 ? publisher_bit : 0;
  out.push_back(static_cast<char>(flags));
  if (m.publisher != 0) {
    put_be(out, m.publisher, 8);
  }
  if (m.expiry_s != 0) {
    put_be(out, m.expiry_s, 4);
  }
  out.append(m.forwarded);
}

bool read_message_meta(std::string_view meta, message_meta& out) {
  out = message_meta{};
  if (meta.empty()) {
    return true;
  }
  const auto flags = static_cast<uint8_t>(meta[0]);
  meta.remove_prefix(1);
  message_meta m;
  m.qos = flags & qos_bits;
  m.retain = (flags & retain_bit) != 0;
  uint64_t v = 0;
  if ((flags & publisher_bit) != 0) {
    if (!get_be(meta, 8, v)) {
      return false;
    }
    m.publisher = v;
  }
  if ((flags & expiry_bit) != 0) {
    if (!get_be(meta, 4, v)) {
      return false;
    }
    m.expiry_s = static_cast<uint32_t>(v);
  }
  if ((flags & 0xe0) != 0 || m.qos > 2 || !forwarded_shape(meta)) {
    return false;
  }
  m.forwarded = meta;
  out = m;
  return true;
}

}  // namespace wsa::mqtt

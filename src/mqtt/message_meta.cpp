#include "mqtt/message_meta.h"

#include "mqtt/properties.h"
#include "mqtt/wire.h"

namespace wsa::mqtt {
namespace {

constexpr uint8_t qos_bits = 0x03;
constexpr uint8_t retain_bit = 0x04;
constexpr uint8_t expiry_bit = 0x08;
constexpr uint8_t publisher_bit = 0x10;

// Only forwarded properties, each whole: what is sent from them frames right.
bool forwarded_shape(std::string_view raw) {
  bool only_forwarded = true;
  const bool whole = for_each_property(raw, [&](uint8_t id, std::string_view) {
    only_forwarded = only_forwarded && forwarded_property(id);
  });
  return whole && only_forwarded;
}

// The fixed part: flags, then the publisher's hash and the expiry when present.
void write_head(const message_meta& m, std::string& out) {
  uint8_t flags = m.qos & qos_bits;
  flags |= m.retain ? retain_bit : 0;
  flags |= m.expiry_s != 0 ? expiry_bit : 0;
  flags |= m.publisher != 0 ? publisher_bit : 0;
  char head[message_meta_header];
  char* at = write_u8(head, flags);
  if (m.publisher != 0) {
    at = write_u32(write_u32(at, static_cast<uint32_t>(m.publisher >> 32)),
                   static_cast<uint32_t>(m.publisher));
  }
  if (m.expiry_s != 0) {
    at = write_u32(at, m.expiry_s);
  }
  out.assign(head, static_cast<std::size_t>(at - head));
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
  write_head(m, out);
  out.append(m.forwarded);
}

void write_message_meta(const message_meta& m, std::string_view properties, std::string& out) {
  write_head(m, out);
  const std::size_t at = out.size();
  out.resize(at + forwarded_properties_size(properties));
  copy_forwarded_properties(properties, out.data() + at);
}

bool read_message_meta(std::string_view meta, message_meta& out) {
  out = message_meta{};
  if (meta.empty()) {
    return true;
  }
  reader r(meta);
  uint8_t flags = 0;
  r.u8(flags);
  message_meta m;
  m.qos = flags & qos_bits;
  m.retain = (flags & retain_bit) != 0;
  if ((flags & publisher_bit) != 0) {
    uint32_t high = 0;
    uint32_t low = 0;
    if (!r.u32(high) || !r.u32(low)) {
      return false;
    }
    m.publisher = uint64_t{high} << 32 | low;
  }
  if ((flags & expiry_bit) != 0 && !r.u32(m.expiry_s)) {
    return false;
  }
  if ((flags & 0xe0) != 0 || m.qos > 2 || !forwarded_shape(r.rest())) {
    return false;
  }
  m.forwarded = r.rest();
  out = m;
  return true;
}

}  // namespace wsa::mqtt

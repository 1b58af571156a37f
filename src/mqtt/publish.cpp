// PUBLISH heads and the shared frame. See publish.h for the layout.
#include "mqtt/publish.h"

#include "mqtt/properties.h"
#include "mqtt/wire.h"

namespace wsa::mqtt {
namespace {

struct layout {
  std::size_t topic = 0;           // topic bytes in the head (0 when omitted)
  std::size_t own_properties = 0;  // per-delivery properties (5.0)
  std::size_t properties = 0;      // the property length's value (5.0)
  uint32_t remaining = 0;
  std::size_t head = 0;
};

std::size_t own_properties_size(const delivery& d) {
  std::size_t n = 0;
  if (d.topic_alias != 0) {
    n += 3;
  }
  if (d.has_message_expiry) {
    n += 5;
  }
  for (const uint32_t id : d.subscription_ids) {
    n += 1 + varint_size(id);
  }
  return n;
}

layout plan(protocol level, const outgoing_message& m, const delivery& d) {
  layout l;
  l.topic = d.omit_topic ? 0 : m.topic.size();
  std::size_t variable = 2 + l.topic + (d.qos > 0 ? 2 : 0);
  if (level == protocol::v5) {
    l.own_properties = own_properties_size(d);
    l.properties = l.own_properties + m.forwarded_properties.size();
    variable += varint_size(static_cast<uint32_t>(l.properties)) + l.own_properties;
  }
  l.remaining = static_cast<uint32_t>(variable + body_size(level, m));
  l.head = 1 + varint_size(l.remaining) + variable;
  return l;
}

}  // namespace

std::size_t body_size(protocol level, const outgoing_message& m) {
  return (level == protocol::v5 ? m.forwarded_properties.size() : 0) + m.payload.size();
}

std::size_t shared_frame_size(protocol level, const outgoing_message& m) {
  return head_size(level, m, delivery{}) + body_size(level, m);
}

char* write_shared_frame(char* out, protocol level, const outgoing_message& m) {
  out = write_head(out, level, m, delivery{});
  if (level == protocol::v5) {
    out = write_bytes(out, m.forwarded_properties);
  }
  return write_bytes(out, m.payload);
}

bool uses_shared_frame(const delivery& d) {
  return d.qos == 0 && !d.dup && !d.retain && d.topic_alias == 0 && !d.omit_topic &&
         !d.has_message_expiry && d.subscription_ids.empty();
}

std::size_t head_size(protocol level, const outgoing_message& m, const delivery& d) {
  return plan(level, m, d).head;
}

char* write_head(char* out, protocol level, const outgoing_message& m, const delivery& d) {
  const layout l = plan(level, m, d);
  const auto first =
      static_cast<uint8_t>(0x30 | (d.dup ? 0x08 : 0) | (d.qos << 1) | (d.retain ? 0x01 : 0));
  out = write_varint(write_u8(out, first), l.remaining);
  out = write_u16(out, static_cast<uint16_t>(l.topic));
  out = write_bytes(out, m.topic.substr(0, l.topic));
  if (d.qos > 0) {
    out = write_u16(out, d.packet_id);
  }
  if (level == protocol::v5) {
    out = write_varint(out, static_cast<uint32_t>(l.properties));
    if (d.topic_alias != 0) {
      out = write_u16(write_u8(out, static_cast<uint8_t>(property_id::topic_alias)), d.topic_alias);
    }
    if (d.has_message_expiry) {
      out = write_u32(write_u8(out, static_cast<uint8_t>(property_id::message_expiry_interval)),
                      d.message_expiry_interval);
    }
    for (const uint32_t id : d.subscription_ids) {
      out = write_varint(write_u8(out, static_cast<uint8_t>(property_id::subscription_identifier)),
                         id);
    }
  }
  return out;
}

std::size_t packet_id_offset(protocol level, const outgoing_message& m, const delivery& d) {
  const layout l = plan(level, m, d);
  return 1 + varint_size(l.remaining) + 2 + l.topic;
}

void patch_head(char* head, std::size_t packet_id_at, uint16_t packet_id, bool dup) {
  head[0] = static_cast<char>((static_cast<uint8_t>(head[0]) & ~0x08) | (dup ? 0x08 : 0));
  write_u16(head + packet_id_at, packet_id);
}

}  // namespace wsa::mqtt

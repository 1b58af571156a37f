// MQTT 3.1.1 packet writers and framing (see mqtt_codec.h).
#include "mqtt_codec.h"

#include <cstring>

namespace wsa::loadgen {

namespace {

char* put_u16(char* out, uint16_t v) {
  out[0] = static_cast<char>(v >> 8);
  out[1] = static_cast<char>(v & 0xff);
  return out + 2;
}

char* put_str(char* out, std::string_view s) {
  out = put_u16(out, static_cast<uint16_t>(s.size()));
  std::memcpy(out, s.data(), s.size());
  return out + s.size();
}

}  // namespace

std::size_t mqtt_varint_size(uint32_t v) {
  return v < 128 ? 1 : v < 16384 ? 2 : v < 2097152 ? 3 : 4;
}

char* mqtt_write_varint(char* out, uint32_t v) {
  do {
    uint8_t b = v & 0x7f;
    v >>= 7;
    if (v != 0) {
      b |= 0x80;
    }
    *out++ = static_cast<char>(b);
  } while (v != 0);
  return out;
}

bool mqtt_packet_size(const char* p, std::size_t n, std::size_t& header, std::size_t& total,
                      bool& malformed) {
  malformed = false;
  uint32_t len = 0;
  for (std::size_t i = 1; i < 5; ++i) {
    if (i >= n) {
      return false;
    }
    auto b = static_cast<uint8_t>(p[i]);
    len |= static_cast<uint32_t>(b & 0x7f) << (7 * (i - 1));
    if ((b & 0x80) == 0) {
      header = i + 1;
      total = header + len;
      return true;
    }
  }
  malformed = true;
  return false;
}

char* mqtt_write_connect(char* out, std::string_view client_id, uint16_t keepalive_s,
                         bool clean_session) {
  uint32_t remaining = 10 + 2 + static_cast<uint32_t>(client_id.size());
  *out++ = static_cast<char>(mqtt_connect << 4);
  out = mqtt_write_varint(out, remaining);
  out = put_str(out, "MQTT");
  *out++ = 4;  // protocol level 3.1.1
  *out++ = static_cast<char>(clean_session ? 0x02 : 0x00);
  out = put_u16(out, keepalive_s);
  return put_str(out, client_id);
}

char* mqtt_write_subscribe(char* out, uint16_t packet_id, std::string_view topic, uint8_t qos) {
  uint32_t remaining = 2 + 2 + static_cast<uint32_t>(topic.size()) + 1;
  *out++ = static_cast<char>((mqtt_subscribe << 4) | 0x02);  // reserved flags 0010
  out = mqtt_write_varint(out, remaining);
  out = put_u16(out, packet_id);
  out = put_str(out, topic);
  *out++ = static_cast<char>(qos);
  return out;
}

char* mqtt_write_puback(char* out, uint16_t packet_id) {
  *out++ = static_cast<char>(mqtt_puback << 4);
  *out++ = 2;
  return put_u16(out, packet_id);
}

char* mqtt_write_short(char* out, uint8_t type) {
  *out++ = static_cast<char>(type << 4);
  *out++ = 0;
  return out;
}

std::size_t mqtt_publish_size(std::size_t topic, uint8_t qos, std::size_t payload) {
  std::size_t remaining = 2 + topic + (qos > 0 ? 2 : 0) + payload;
  return 1 + mqtt_varint_size(static_cast<uint32_t>(remaining)) + remaining;
}

char* mqtt_write_publish_head(char* out, std::string_view topic, uint8_t qos,
                              uint16_t packet_id, std::size_t payload) {
  uint32_t remaining = static_cast<uint32_t>(2 + topic.size() + (qos > 0 ? 2 : 0) + payload);
  *out++ = static_cast<char>((mqtt_publish << 4) | (qos << 1));
  out = mqtt_write_varint(out, remaining);
  out = put_str(out, topic);
  if (qos > 0) {
    out = put_u16(out, packet_id);
  }
  return out;
}

bool mqtt_parse_publish(uint8_t flags, const char* body, std::size_t n, std::string_view& topic,
                        uint16_t& packet_id, const char*& payload, std::size_t& payload_size) {
  if (n < 2) {
    return false;
  }
  std::size_t tlen = (static_cast<std::size_t>(static_cast<uint8_t>(body[0])) << 8) |
                     static_cast<uint8_t>(body[1]);
  std::size_t pos = 2 + tlen;
  uint8_t qos = (flags >> 1) & 3;
  if (qos > 0) {
    pos += 2;
  }
  if (pos > n || qos == 3) {
    return false;
  }
  topic = std::string_view(body + 2, tlen);
  packet_id = 0;
  if (qos > 0) {
    packet_id = static_cast<uint16_t>((static_cast<uint8_t>(body[2 + tlen]) << 8) |
                                      static_cast<uint8_t>(body[3 + tlen]));
  }
  payload = body + pos;
  payload_size = n - pos;
  return true;
}

void tag_to_topic(char* s, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) {
    if (s[i] == '.') {
      s[i] = '/';
    } else if (s[i] == '*') {
      s[i] = '+';
    } else if (s[i] == '>') {
      s[i] = '#';
    }
  }
}

}  // namespace wsa::loadgen

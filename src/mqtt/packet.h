// Packets a client sends to a server, as the decoder returns them (MQTT 3.1.1 and 5.0).
// Every string_view points into the bytes the packet was decoded from (the caller's input,
// or the decoder's own buffer when the packet arrived in pieces): valid until the next call
// to decoder::next. Lists (SUBSCRIBE's and UNSUBSCRIBE's topic filters) are read lazily from
// the validated payload (lazy_list), so decoding allocates nothing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "mqtt/properties.h"
#include "mqtt/reason.h"
#include "mqtt/wire.h"

namespace wsa::mqtt {

struct connect_packet {
  protocol level = protocol::none;
  bool clean_start = false;  ///< 3.1.1's Clean Session, 5.0's Clean Start
  uint16_t keep_alive = 0;   ///< seconds; 0 turns the keep-alive mechanism off
  properties props;
  std::string_view client_id;
  bool will = false;
  uint8_t will_qos = 0;
  bool will_retain = false;
  properties will_props;
  std::string_view will_topic;
  std::string_view will_payload;
  bool has_username = false;
  std::string_view username;
  bool has_password = false;
  std::string_view password;
};

struct publish_packet {
  bool dup = false;
  uint8_t qos = 0;
  bool retain = false;
  std::string_view topic;  ///< may be empty in 5.0 when props.topic_alias names it
  uint16_t packet_id = 0;  ///< 0 for QoS 0
  properties props;
  std::string_view payload;
};

/// PUBACK, PUBREC, PUBREL or PUBCOMP.
struct ack_packet {
  uint16_t packet_id = 0;
  reason code = reason::success;
  properties props;
};

/// One entry of a SUBSCRIBE (5.0 section 3.8.3.1; 3.1.1 has only the QoS).
struct subscription_request {
  std::string_view filter;
  uint8_t max_qos = 0;
  bool no_local = false;
  bool retain_as_published = false;
  uint8_t retain_handling = 0;  ///< 0 send retained, 1 only if new, 2 never
};

/// Entries of a payload the decoder validated, read one at a time by `Read` while iterating
/// (no allocation, nothing stored per entry).
template <class Entry, void (*Read)(reader&, Entry&)>
class lazy_list {
 public:
  lazy_list() = default;
  lazy_list(std::string_view payload, std::size_t count) : payload_(payload), count_(count) {}

  std::size_t size() const { return count_; }

  class iterator {
   public:
    iterator(std::string_view rest, std::size_t left) : rest_(rest), left_(left) { load(); }
    const Entry& operator*() const { return current_; }
    const Entry* operator->() const { return &current_; }
    iterator& operator++() {
      --left_;
      load();
      return *this;
    }
    bool operator==(const iterator& other) const { return left_ == other.left_; }

   private:
    void load() {
      if (left_ != 0) {
        reader r(rest_);
        Read(r, current_);
        rest_ = r.rest();
      }
    }

    std::string_view rest_;
    std::size_t left_;
    Entry current_{};
  };

  iterator begin() const { return {payload_, count_}; }
  iterator end() const { return {{}, 0}; }

 private:
  std::string_view payload_;
  std::size_t count_ = 0;
};

/// One SUBSCRIBE entry: the topic filter and its options byte.
inline void read_subscription(reader& r, subscription_request& e) {
  uint8_t options = 0;
  r.binary(e.filter);
  r.u8(options);
  e.max_qos = options & 0x03;
  e.no_local = (options & 0x04) != 0;
  e.retain_as_published = (options & 0x08) != 0;
  e.retain_handling = (options >> 4) & 0x03;
}

/// One UNSUBSCRIBE entry: a topic filter.
inline void read_filter(reader& r, std::string_view& filter) { r.binary(filter); }

/// SUBSCRIBE's entries in order.
using subscription_list = lazy_list<subscription_request, read_subscription>;
/// UNSUBSCRIBE's topic filters in order.
using filter_list = lazy_list<std::string_view, read_filter>;

struct subscribe_packet {
  uint16_t packet_id = 0;
  properties props;
  subscription_list entries;
};

struct unsubscribe_packet {
  uint16_t packet_id = 0;
  properties props;
  filter_list filters;
};

/// DISCONNECT (3.1.1: always `success`) and AUTH.
struct disconnect_packet {
  reason code = reason::success;
  properties props;
};

/// One decoded packet: `type` says which member holds it (PINGREQ has none).
struct packet {
  packet_type type = packet_type::reserved;
  connect_packet connect;
  publish_packet publish;
  ack_packet ack;  ///< PUBACK, PUBREC, PUBREL, PUBCOMP
  subscribe_packet subscribe;
  unsubscribe_packet unsubscribe;
  disconnect_packet disconnect;  ///< DISCONNECT and AUTH
};

}  // namespace wsa::mqtt

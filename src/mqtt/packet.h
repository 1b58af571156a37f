// Packets a client sends to a server, as the decoder returns them (MQTT 3.1.1 and 5.0).
// Every string_view points into the bytes the packet was decoded from (the caller's input,
// or the decoder's own buffer when the packet arrived in pieces): valid until the next call
// to decoder::next. Lists (SUBSCRIBE's and UNSUBSCRIBE's topic filters) are read lazily from
// the validated payload, so decoding allocates nothing.
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

/// SUBSCRIBE's entries in order; iterating reads the already validated payload.
class subscription_list {
 public:
  subscription_list() = default;
  subscription_list(std::string_view payload, std::size_t count)
      : payload_(payload), count_(count) {}

  std::size_t size() const { return count_; }

  class iterator {
   public:
    iterator(std::string_view rest, std::size_t left) : rest_(rest), left_(left) { load(); }
    const subscription_request& operator*() const { return current_; }
    const subscription_request* operator->() const { return &current_; }
    iterator& operator++() {
      --left_;
      load();
      return *this;
    }
    bool operator==(const iterator& other) const { return left_ == other.left_; }

   private:
    void load();

    std::string_view rest_;
    std::size_t left_;
    subscription_request current_;
  };

  iterator begin() const { return {payload_, count_}; }
  iterator end() const { return {{}, 0}; }

 private:
  std::string_view payload_;
  std::size_t count_ = 0;
};

struct subscribe_packet {
  uint16_t packet_id = 0;
  properties props;
  subscription_list entries;
};

/// UNSUBSCRIBE's topic filters in order.
class filter_list {
 public:
  filter_list() = default;
  filter_list(std::string_view payload, std::size_t count) : payload_(payload), count_(count) {}

  std::size_t size() const { return count_; }

  class iterator {
   public:
    iterator(std::string_view rest, std::size_t left) : rest_(rest), left_(left) { load(); }
    std::string_view operator*() const { return current_; }
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
        r.binary(current_);
        rest_ = r.rest();
      }
    }

    std::string_view rest_;
    std::size_t left_;
    std::string_view current_;
  };

  iterator begin() const { return {payload_, count_}; }
  iterator end() const { return {{}, 0}; }

 private:
  std::string_view payload_;
  std::size_t count_ = 0;
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

inline void subscription_list::iterator::load() {
  if (left_ == 0) {
    return;
  }
  reader r(rest_);
  uint8_t options = 0;
  r.binary(current_.filter);
  r.u8(options);
  rest_ = r.rest();
  current_.max_qos = options & 0x03;
  current_.no_local = (options & 0x04) != 0;
  current_.retain_as_published = (options & 0x08) != 0;
  current_.retain_handling = (options >> 4) & 0x03;
}

}  // namespace wsa::mqtt

// QoS 1 deliveries of one session (MQTT 5.0 section 4.9, 3.1.1 section 4.4): a bounded
// in-flight window of PUBLISHes waiting for PUBACK, and a bounded queue behind it.
//
// Packet identifiers are window slot numbers (1..window): an identifier is free exactly when
// its slot is, so allocation, lookup and release are O(1) with no per-identifier table, and
// an identifier is reused only after its PUBACK, as the specification allows. Messages are
// whatever the wiring queues (a reference to a shared frame); the window only moves them.
// When a session resumes on a new connection, the in-flight messages are sent again first,
// in their original order, with their original identifiers and DUP set ([MQTT-4.4.0-1]); a
// new connection with a smaller window (a 5.0 client's Receive Maximum) moves the newest
// in-flight messages back to the head of the queue.
//
// One per session; not thread-safe.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <utility>
#include <vector>

#include "mqtt/position.h"

namespace wsa::mqtt {

template <class Message>
class outbound_window {
 public:
  outbound_window(uint16_t window, uint32_t max_pending) : max_pending_(max_pending) {
    resize(window);
  }

  enum class offer_result : uint8_t { send, queued, full };

  /// A QoS 1 delivery. `send`: it is in flight under `packet_id`, write it out. `queued`:
  /// behind a full window. `full`: the queue is at its bound too; the message is not taken
  /// (the caller counts it and ends the session as a slow consumer).
  offer_result offer(Message&& m, uint16_t& packet_id) {
    if (in_flight_ < window_ && pending_.empty()) {
      packet_id = place(std::move(m));
      return offer_result::send;
    }
    if (pending_.size() >= max_pending_) {
      return offer_result::full;
    }
    pending_.push_back(std::move(m));
    return offer_result::queued;
  }

  /// PUBACK for `packet_id`: frees its slot, moving the message to `acked`. False when the
  /// identifier is not in flight (a late or stray PUBACK, which MQTT says to ignore).
  bool acknowledge(uint16_t packet_id, Message& acked) {
    if (packet_id == 0 || packet_id > slots_.size() || !slots_[packet_id - 1].used) {
      return false;
    }
    slot& s = slots_[packet_id - 1];
    acked = std::move(s.message);
    s.used = false;
    s.message = Message{};
    --in_flight_;
    if (packet_id <= window_) {
      free_.push_back(packet_id);
    }
    return true;
  }

  /// Moves the next queued message into the window if it has room; returns it (and its
  /// packet id), or nullptr. Call after acknowledge() until it returns nullptr.
  const Message* promote(uint16_t& packet_id) {
    if (pending_.empty() || in_flight_ >= window_) {
      return nullptr;
    }
    packet_id = place(std::move(pending_.front()));
    pending_.pop_front();
    return &slots_[packet_id - 1].message;
  }

  /// The message in flight under `packet_id` (which must be in flight).
  const Message* in_flight(uint16_t packet_id) const { return &slots_[packet_id - 1].message; }

  /// Calls f(packet_id, message) for each in-flight message in the order first sent.
  template <class F>
  void for_each_in_flight(F&& f) const {
    std::vector<std::pair<uint64_t, uint16_t>> order;
    order.reserve(in_flight_);
    for (std::size_t i = 0; i < slots_.size(); ++i) {
      if (slots_[i].used) {
        order.emplace_back(slots_[i].order, static_cast<uint16_t>(i + 1));
      }
    }
    std::sort(order.begin(), order.end());
    for (const auto& [_, id] : order) {
      f(id, slots_[id - 1].message);
    }
  }

  template <class F>
  void for_each_pending(F&& f) const {
    for (const Message& m : pending_) {
      f(m);
    }
  }

  /// A new connection's window. Shrinking sends the newest in-flight messages back to the
  /// head of the queue (they will go out again under new identifiers).
  void resize(uint16_t window) {
    window = window == 0 ? 1 : window;
    while (in_flight_ > window) {
      std::size_t newest = 0;
      for (std::size_t i = 0; i < slots_.size(); ++i) {
        if (slots_[i].used && (!slots_[newest].used || slots_[i].order > slots_[newest].order)) {
          newest = i;
        }
      }
      Message m;
      acknowledge(static_cast<uint16_t>(newest + 1), m);
      pending_.push_front(std::move(m));
    }
    window_ = window;
    free_.clear();
    for (std::size_t i = window_; i-- > 0;) {
      if (i >= slots_.size() || !slots_[i].used) {
        free_.push_back(static_cast<uint16_t>(i + 1));
      }
    }
  }

  std::size_t in_flight() const { return in_flight_; }
  std::size_t pending() const { return pending_.size(); }
  uint16_t window() const { return window_; }

 private:
  struct slot {
    bool used = false;
    uint64_t order = 0;
    Message message{};
  };

  uint16_t place(Message&& m) {
    const uint16_t id = free_.back();
    free_.pop_back();
    if (id > slots_.size()) {
      slots_.resize(id);
    }
    slot& s = slots_[id - 1];
    s.used = true;
    s.order = next_order_++;
    s.message = std::move(m);
    ++in_flight_;
    return id;
  }

  uint16_t window_ = 0;
  uint32_t max_pending_;
  std::vector<slot> slots_;     // index = packet id - 1; grows to the highest id used
  std::vector<uint16_t> free_;  // free identifiers <= window_, lowest on top
  std::deque<Message> pending_;
  std::size_t in_flight_ = 0;
  uint64_t next_order_ = 0;
};

}  // namespace wsa::mqtt

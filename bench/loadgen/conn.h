// One client connection of a worker: transport state, output double buffer, reassembly
// buffers and the per-role fields. Owned by its worker's slot table, touched only by the
// worker's loop thread. A slot is reused (churn) only after its last operation completed,
// with a new generation so that a stale completion can be recognised.
#pragma once

#include <cstdint>
#include <memory>

#include "byte_buffer.h"
#include "ws_codec.h"
#include "ws_reader.h"

namespace wsa::loadgen {

enum class conn_role : uint8_t { sub, pub, churn };

enum class conn_state : uint8_t {
  free,         // slot unused
  connecting,   // TCP connect in flight
  http,         // upgrade request sent, reading the response head
  mqtt_wait,    // CONNECT sent, waiting for CONNACK
  subscribing,  // sub / SUBSCRIBE sent, waiting for ok / SUBACK
  ready,        // subscribed (subscribers) or able to publish (publishers)
  closing,      // our close frame / DISCONNECT queued, waiting for the peer to close
  dead,         // shut down; freed when `inflight` reaches 0
};

struct conn {
  int fd = -1;
  uint32_t gen = 0;
  conn_role role = conn_role::sub;
  conn_state state = conn_state::free;
  uint8_t inflight = 0;  // operations in the kernel: recv, send, connect, cancel
  bool recv_armed = false;
  bool send_busy = false;
  bool dirty = false;
  bool settled = false;  // its setup or churn-cycle outcome has been counted
  bool close_sent = false;
  bool live = false;     // a subscriber counted in its worker's live_subs_
  uint32_t global = 0;      // index among its role over every process
  uint32_t tag = 0;
  uint32_t mask_state = 0x9e3779b9;  // xorshift32 source of masking keys
  uint32_t acks_inflight = 0;
  uint16_t mqtt_packet_id = 0;
  uint64_t next_id = 2;  // wsagent publish ids (1 is the subscription)
  uint64_t replay_expected = 0;
  uint64_t replay_got = 0;
  uint64_t t_start = 0;  // connect started
  uint64_t deadline = 0;
  uint64_t t_last_send = 0;
  std::size_t sending_off = 0;
  byte_buffer sending;  // handed to the kernel, immutable while send_busy
  byte_buffer pending;  // appended to while a send is in flight
  byte_buffer carry;    // transport bytes of an incomplete frame / packet / HTTP head
  ws_reader ws;         // WebSocket messages: the fragmented one being collected
  byte_buffer inner;    // MQTT over WebSocket: incomplete MQTT packet across messages
  std::unique_ptr<uint32_t[]> next_seq;  // subscribers: next expected seq per publisher
  char accept[ws_accept_size] = {};

  uint32_t next_mask() {
    mask_state ^= mask_state << 13;
    mask_state ^= mask_state >> 17;
    mask_state ^= mask_state << 5;
    return mask_state;
  }
  std::size_t queued() const { return pending.size() + sending.size() - sending_off; }
  bool alive() const { return state != conn_state::dead && state != conn_state::free; }
};

}  // namespace wsa::loadgen

// A server's WebSocket byte stream cut into messages, for the load generator's receive path.
// Frames are taken where they lie in each receive buffer, their header read once; only a
// frame cut by a buffer boundary is copied (into the caller's carry buffer, see
// stream_feed.h). An unfragmented message goes to the handler in place; a fragmented one is
// put together in `frag` (a copy: servers fragment rarely). Control frames go to the handler
// as they come, also between the fragments of a message. Owned by one connection and used
// by its worker's thread; a template so that the handler's calls inline.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <utility>

#include "byte_buffer.h"
#include "stream_feed.h"
#include "ws_codec.h"

namespace wsa::loadgen {

struct ws_reader {
  byte_buffer frag;         // the fragmented message being collected
  uint8_t frag_opcode = 0;  // its opcode, 0 if none

  void reset() {
    frag.release();
    frag_opcode = 0;
  }

  // Handler H:
  //   bool message(uint8_t opcode, char* p, std::size_t n)  a whole text or binary message
  //   bool control(uint8_t opcode, char* p, std::size_t n)  close, ping or pong
  //   void error(const char* why)                           a protocol error; feed stops
  // message and control return false to stop (the connection is closing or closed).
  // Returns false when stopped, on a protocol error, or on a malformed or oversized frame
  // (then without a call to error()). Masked frames are unmasked in place (servers must not
  // mask; tolerated anyway).
  template <class H>
  bool feed(byte_buffer& carry, char* data, std::size_t len, H& h) {
    auto size_of = [](const char* p, std::size_t n, std::size_t& header, std::size_t& total) {
      uint64_t payload = 0;
      if (!ws_frame_size(p, n, header, payload)) {
        return 0;
      }
      if (payload > max_unit_bytes) {
        return -1;
      }
      total = header + static_cast<std::size_t>(payload);
      return 1;
    };
    auto on_frame = [this, &h](char* p, std::size_t header, std::size_t total) {
      // The common case here, inline: a whole, unmasked text or binary message.
      auto b0 = static_cast<uint8_t>(p[0]);
      if ((b0 == (0x80 | ws_text) || b0 == (0x80 | ws_binary)) &&
          (static_cast<uint8_t>(p[1]) & 0x80) == 0 && frag_opcode == 0) {
        return h.message(b0 & 0x0f, p + header, total - header);
      }
      return frame(p, header, total, h);
    };
    return feed_units(carry, data, len, size_of, on_frame);
  }

 private:
  template <class H>
  bool frame(char* p, std::size_t header, std::size_t total, H& h) {
    auto b0 = static_cast<uint8_t>(p[0]);
    bool fin = (b0 & 0x80) != 0;
    uint8_t opcode = b0 & 0x0f;
    char* payload = p + header;
    std::size_t n = total - header;
    if ((static_cast<uint8_t>(p[1]) & 0x80) != 0) {
      uint32_t mask;
      std::memcpy(&mask, payload - 4, 4);
      ws_mask(payload, n, mask);
    }
    if (opcode == ws_text || opcode == ws_binary) {
      if (frag_opcode != 0) {
        h.error("new message inside a fragmented one");
        return false;
      }
      if (fin) {
        return h.message(opcode, payload, n);
      }
      frag_opcode = opcode;
      frag.clear();
      frag.append(payload, n);
      return true;
    }
    if (opcode == ws_continuation) {
      if (frag_opcode == 0) {
        h.error("continuation without a message");
        return false;
      }
      if (frag.size() + n > max_unit_bytes) {
        h.error("fragmented message too large");
        return false;
      }
      frag.append(payload, n);
      if (!fin) {
        return true;
      }
      uint8_t op = frag_opcode;
      frag_opcode = 0;
      // Moved out for the call: a handler that closes the connection may release `frag`.
      byte_buffer msg = std::move(frag);
      frag = byte_buffer();
      bool go = h.message(op, msg.data(), msg.size());
      if (go && msg.capacity() <= 65536) {
        msg.clear();
        frag = std::move(msg);  // keep a small buffer for the next fragmented message
      }
      return go;
    }
    if (opcode == ws_close || opcode == ws_ping || opcode == ws_pong) {
      return h.control(opcode, payload, n);
    }
    h.error("unknown WebSocket opcode");
    return false;
  }
};

}  // namespace wsa::loadgen

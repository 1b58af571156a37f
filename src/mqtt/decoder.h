// Incremental decoder of the packets a client sends (MQTT 3.1.1 and 5.0), fed bytes as they
// arrive, split anywhere. A packet that lies whole in the input is decoded in place (zero
// copy: views into the caller's bytes); one that arrives in pieces is gathered in the
// decoder's own buffer, which grows with what arrives and never past the maximum packet
// size, so the caller may recycle its receive buffer as soon as next() returns.
//
// The decoder enforces the rules of the packet format: the fixed header (type, flags, the
// remaining length in at most 4 bytes and in its shortest form), the maximum packet size
// (checked on the fixed header, before any body is held), every field of every packet, the
// properties of 5.0 (types, where each may appear, repeats, values), and the first-packet
// rules (CONNECT first, and only once). It does not judge content it has no knowledge of
// (client identifiers, topic mapping, permissions, topic alias bounds): the session does.
//
// After an error the decoder stays failed: the connection must close (see error_action).
// One decoder per connection; not thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "mqtt/packet.h"
#include "mqtt/reason.h"

namespace wsa::mqtt {

/// Why decoding stopped. `code` is the MQTT 5 reason code that describes it (malformed
/// packet, protocol error, packet too large, unsupported protocol version); `what` a static
/// string for logs and reason strings.
struct decode_error {
  reason code = reason::malformed_packet;
  const char* what = "";
  packet_type packet = packet_type::reserved;  ///< the packet being decoded
  protocol level = protocol::none;  ///< the connection's protocol, or the CONNECT's once known
};

/// What the server says before closing after a decode error.
enum class error_action : uint8_t {
  close,          ///< nothing (3.1.1 has no way to say it, or nothing was connected yet)
  connack_v311,   ///< a 3.1.1 CONNACK with the return code of connack_code_v311(code)
  connack_v5,     ///< a 5.0 CONNACK with `code`
  disconnect_v5,  ///< a 5.0 DISCONNECT with `code`
};
error_action action_for(const decode_error& err);

enum class decode_status : uint8_t { need_more, packet, error };

class decoder {
 public:
  /// `max_packet_size`: the largest whole packet (fixed header included) accepted, at most
  /// the protocol's 268,435,460; advertised to 5.0 clients in CONNACK.
  explicit decoder(uint32_t max_packet_size);

  /// Consumes bytes of `input` (advancing it) up to the end of the next packet. Returns
  /// `packet` with `out` filled (views valid until the next call), `need_more` once all of
  /// `input` is consumed without completing a packet, or `error` with `err` filled.
  decode_status next(std::string_view& input, packet& out, decode_error& err);

  /// The protocol of the CONNECT decoded on this connection, or none yet.
  protocol level() const { return level_; }
  uint32_t max_packet_size() const { return max_packet_size_; }
  /// Bytes held for a packet not yet complete.
  std::size_t buffered() const { return held_ ? 0 : buffer_.size(); }

 private:
  decode_status read_header(const unsigned char* p, std::size_t n, uint32_t& total,
                            std::size_t& header, decode_error& err);
  bool check_header(uint8_t first, uint32_t total, decode_error& err) const;
  decode_status finish(uint8_t first, std::string_view body, packet& out, decode_error& err);
  decode_status fail(decode_error& err);

  uint32_t max_packet_size_;
  protocol level_ = protocol::none;
  bool connected_ = false;  // a CONNECT was decoded
  bool failed_ = false;
  decode_error error_;
  std::string buffer_;      // a packet arriving in pieces
  uint32_t total_ = 0;      // its whole size, once its fixed header is known (else 0)
  std::size_t header_ = 0;  // its fixed header's size
  bool held_ = false;       // buffer_ holds the packet last returned: clear it on the next call
};

/// Parses one whole packet's body (what follows the fixed header) for a connection speaking
/// `level` (none: only CONNECT is expected). Used by the decoder; exposed for tests.
bool parse_packet(protocol level, uint8_t first_byte, std::string_view body, packet& out,
                  decode_error& err);

}  // namespace wsa::mqtt

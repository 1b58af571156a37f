// The only user of wslay (docs/style.md guideline 11): parses a connection's inbound frames,
// validates them (masking, opcodes, RSV bits, control-frame rules, UTF-8 of text, message
// size decided from frame headers) and answers pings and closes.
//
// Sessions are pooled per shard and attached to a connection only while it is in the
// middle of a message (wslay keeps two 4 KiB buffers per context: an idle connection that
// kept one would cost ~8.6 KiB). After each feed the shard asks idle(): at a message
// boundary, with nothing pending, the session goes back to the pool. Shard thread only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "ws/frame.h"

#include <sys/types.h>

struct wslay_event_context;
struct wslay_event_on_frame_recv_start_arg;
struct wslay_event_on_frame_recv_chunk_arg;
struct wslay_event_on_msg_recv_arg;

namespace wsa {

/// What a session reports to its shard. One sink per shard, shared by its sessions.
class ws_sink {
 public:
  /// A complete text or binary message, unmasked. `capacity` bytes are readable at `data`
  /// (at least size + the padding the session was created with). Return false to stop
  /// reading this connection's input (the shard is closing it).
  virtual bool on_ws_message(void* owner, ws_opcode opcode, char* data, std::size_t size,
                             std::size_t capacity) = 0;
  /// A control frame wslay wants on the wire (a pong, the close reply): one whole frame, in
  /// order.
  virtual void on_ws_output(void* owner, const char* data, std::size_t size) = 0;
  /// A pong came (ours answered, or unasked): nothing to do but count it. Return false to
  /// stop reading, as for on_ws_message.
  virtual bool on_ws_pong(void* owner) {
    (void)owner;
    return true;
  }

 protected:
  ~ws_sink() = default;
};

class ws_session {
 public:
  enum class result : uint8_t {
    ok,              ///< all input consumed; the connection goes on
    closing,         ///< a close frame was queued (client's close echoed, or 1002/1007/1009
                     ///< decided by wslay): flush, then end the connection
    protocol_error,  ///< malformed framing wslay cannot answer with a code: send 1002
    too_big,         ///< a fragmented message grew past the limit: send 1009
    stopped,         ///< the sink asked to stop reading
  };

  ws_session(ws_sink* sink, std::size_t max_message_bytes, std::size_t padding);
  ~ws_session();
  ws_session(const ws_session&) = delete;
  ws_session& operator=(const ws_session&) = delete;

  void attach(void* owner) { owner_ = owner; }

  /// Feeds bytes received on the connection; they are copied, the caller may reuse them.
  result feed(const char* data, std::size_t size);

  /// At a message boundary with no partial frame and nothing queued: may be detached.
  bool idle() const;

  /// The close code sent (valid after `closing`).
  uint16_t close_code_sent() const;

 private:
  // wslay's callbacks, with its exact signatures.
  static ssize_t recv_cb(wslay_event_context* ctx, uint8_t* buf, std::size_t len, int flags,
                         void* user);
  static ssize_t send_cb(wslay_event_context* ctx, const uint8_t* data, std::size_t len,
                         int flags, void* user);
  static int genmask_cb(wslay_event_context* ctx, uint8_t* buf, std::size_t len, void* user);
  static void frame_start_cb(wslay_event_context* ctx,
                             const wslay_event_on_frame_recv_start_arg* arg, void* user);
  static void frame_chunk_cb(wslay_event_context* ctx,
                             const wslay_event_on_frame_recv_chunk_arg* arg, void* user);
  static void msg_cb(wslay_event_context* ctx, const wslay_event_on_msg_recv_arg* arg,
                     void* user);
  void append(const uint8_t* data, std::size_t size);
  /// Follows frame headers in the raw input (wslay reports a frame only once payload
  /// arrives): returns how many bytes come before a header announcing a message over the
  /// limit, or `size` if there is none.
  std::size_t scan(const unsigned char* data, std::size_t size);
  void note_ping_end(std::size_t at);
  /// The header or close frame being scanned ends at `at`.
  void end_unit(std::size_t at);
  /// Gives wslay the bytes [from, to) of `data`, cut where this input's pings end and where
  /// a close frame begins when `at_marks`, its pongs sent between; false with `failure` set
  /// when it refuses them.
  bool give(const char* data, std::size_t from, std::size_t to, bool at_marks,
            result& failure);
  /// Hands what wslay wrote to the sink, one whole frame at a time.
  void flush_output();

  wslay_event_context* ctx_ = nullptr;
  ws_sink* sink_;
  void* owner_ = nullptr;
  const std::size_t max_message_;
  const std::size_t padding_;

  // Input being fed.
  const char* input_ = nullptr;
  std::size_t input_left_ = 0;

  // Our own view of the frame stream, ahead of wslay: where headers and payloads are, so
  // the size limit is decided from a header alone and idle() knows the frame boundaries.
  unsigned char header_[14] = {};
  uint8_t header_have_ = 0;
  uint64_t payload_left_ = 0;
  uint64_t scanned_message_ = 0;  // bytes announced so far for the current data message
  bool scanned_in_message_ = false;  // a fragmented data message is in progress
  bool in_ping_ = false;             // the frame whose payload is being skipped is a ping
  // Where pings end in the input of this feed(): wslay is fed up to each, and its pong sent,
  // before what follows, so that the pong precedes replies to later messages.
  static constexpr unsigned max_ping_cuts = 8;
  std::size_t ping_ends_[max_ping_cuts] = {};
  unsigned ping_end_count_ = 0;

  // wslay sees a frame header only once scan() has judged it, and a close frame whole, in
  // one read: it checks a close reason's UTF-8 per chunk of payload and skips the first two
  // bytes of every chunk (meant for the status code), so a close frame cut in pieces was
  // judged differently (an invalid reason echoed back, a valid one refused), and a header
  // cut in pieces could be refused by wslay before scan() saw it whole. Such a unit, cut by
  // the end of an input, waits in held_ (at most 14 + 125 bytes); wslay's input is also
  // cut where a close frame begins.
  static constexpr std::size_t none = SIZE_MAX;
  bool unit_open_ = false;          // a header (or a close frame) is being scanned
  std::size_t unit_from_ = none;     // where it began in this feed's input (none: earlier)
  std::size_t unit_done_at_ = none;  // where the unit held from an earlier input ends
  std::size_t close_from_ = none;    // where a close frame begins in this feed's input
  std::string held_;

  bool data_frame_ = false;     // the current frame belongs to a text/binary message
  bool too_big_ = false;
  bool bad_close_ = false;  // a close frame with a one-byte payload
  bool stopped_ = false;
  ws_opcode message_opcode_ = ws_opcode::text;

  // Control frames wslay is writing: it writes a header and its payload in separate calls.
  std::string output_;

  // The message being assembled (data frames only; wslay buffers control frames itself).
  char* message_ = nullptr;
  std::size_t message_size_ = 0;
  std::size_t message_capacity_ = 0;
};

}  // namespace wsa

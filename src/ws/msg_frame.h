// The `msg` frame of protocol v1 over WebSocket (docs/protocol.md "Server to client"): a
// text frame {"op":"msg","tag":...,"seq":...,"data":...} with the publisher's data bytes as
// sent. Encoded once per message and shard, on first use, and cached on the message, so
// every WebSocket subscriber (live or replayed) gets the same frame by reference.
// Shard thread only (the message's).
#pragma once

#include "broker/message.h"
#include "net/frame.h"

namespace wsa {

/// The message's encoding slot for WebSocket protocol v1.
inline constexpr encoding_slot ws_v1_encoding = 0;

/// The `msg` frame of `m` (no reference is handed over: the message keeps it).
frame* ws_msg_frame(message& m);

}  // namespace wsa

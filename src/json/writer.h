// Server frames of protocol v1 (docs/protocol.md, "Server to client") as JSON text, without the
// WebSocket header. Written by concatenation: strings are escaped, while `id` (taken raw from
// the request) and `data` (the publisher's exact bytes) are inserted as they are. The caller
// owns the output; appending allocates only when the string lacks capacity, and the `msg`
// writer, the fan-out hot path, writes into a buffer the caller sized with msg_json_size.
// Plain functions: any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace wsa {

/// Appends `s` as a JSON string with its quotes: `"` and `\` are escaped, control characters
/// (below 0x20) become \u00XX; every other byte is copied (the input is expected to be UTF-8).
void append_json_string(std::string& out, std::string_view s);

/// Length of `s` once escaped by append_json_string, quotes included.
std::size_t json_string_size(std::string_view s);

/// {"op":"hello","node":...,"conn":...,"version":...,"features":<features>}; `features` is
/// a raw JSON array (the protocol 1.1 features this server implements).
void append_hello(std::string& out, std::string_view node, std::string_view conn,
                  std::string_view version, std::string_view features);

/// {"op":"ok","id":<id>} for auth, unsub and ping. `id` is raw JSON; empty omits it (the
/// server answers ok only to requests with an id, so that is for completeness).
void append_ok(std::string& out, std::string_view id);

/// {"op":"ok","id":<id>,"seq":<seq>,"ts":<ts>} for pub, with ,"dup":true for an idem repeat.
void append_ok_pub(std::string& out, std::string_view id, uint64_t seq, int64_t ts_ms,
                   bool dup = false);

/// {"seq":<seq>,"ts":<ts>} (with ,"dup":true for an idem repeat): the answer body of an HTTP
/// publish (POST /api/publish), the same members as append_ok_pub's.
void append_publish_result(std::string& out, uint64_t seq, int64_t ts_ms, bool dup = false);

/// One exact tag of a sub's answer (patterns have none).
struct sub_ack_entry {
  std::string_view tag;
  uint64_t seq = 0;        ///< the tag's current top seq
  std::string_view epoch;
  bool gap = false;        ///< recovery could not reach back to `since`
  bool only_gap = false;   ///< a pattern past --max-recovery-tags: in "gaps" only
};

/// {"op":"ok","id":<id>,"seq":{tag:seq,...},"epoch":{tag:epoch,...}} for sub, plus
/// "gaps":[tag,...] when some entry has a gap. With no entry, seq and epoch are {}.
void append_ok_sub(std::string& out, std::string_view id, std::span<const sub_ack_entry> tags);

/// {"op":"err","id":<id>,"code":<code>,"reason":<reason>}; no "id" when `id` is empty.
void append_err(std::string& out, std::string_view id, std::string_view code,
                std::string_view reason);

/// {"op":"gap","tags":[<key>]}: a subscription's live stream may have lost messages.
void append_gap(std::string& out, std::string_view key);

/// {"op":"reconnect","within_ms":<within_ms>}: the node drains (PROTOCOL "Draining").
void append_reconnect(std::string& out, uint32_t within_ms);

/// {"op":"join"|"leave","tag":<tag>,"who":<who>} (protocol 1.1 presence); `who` is raw JSON.
void append_presence_event(std::string& out, bool joined, std::string_view tag,
                           std::string_view who);

/// {"op":"ok","id":<id>,"count":<count>,"who":<who_array>} for presence; `who_array` is raw.
void append_ok_presence(std::string& out, std::string_view id, uint64_t count,
                        std::string_view who_array);

/// Exact size of the msg frame write_msg_json writes for these arguments.
std::size_t msg_json_size(std::string_view tag, uint64_t seq, int64_t ts_ms,
                          std::string_view data);

/// Writes {"op":"msg","tag":<tag>,"seq":<seq>,"ts":<ts>,"data":<data>} at `out`, which has
/// room for msg_json_size(tag, seq, ts_ms, data) bytes; returns the end of what was written.
/// `data` is raw JSON; a negative ts (a clock before 1970) is written as 0. No allocation.
char* write_msg_json(char* out, std::string_view tag, uint64_t seq, int64_t ts_ms,
                     std::string_view data);

}  // namespace wsa

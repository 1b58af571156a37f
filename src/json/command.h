// A client frame of protocol v1 (docs/protocol.md, "Client to server"), parsed with simdjson.
// Every string_view points into the frame buffer that was parsed, or into the parser's
// own string buffer: both live until the next call to parse() on the same parser.
// Only this module's .cpp includes simdjson.h (1.3 MB header).
//
// The parser is strict about JSON and lenient about the protocol's future: the whole frame
// must be valid JSON (every value is checked, also in fields it ignores), but unknown fields
// are ignored, whatever the op. A known field is checked for its type whenever it appears,
// even for an op that does not use it; fields the op does not use are then left empty.
// A known field given twice is refused ("duplicate field"): first-wins and last-wins both
// let two parsers of one frame disagree. `tags` and `since` are passed on as listed,
// repeats included: the server decides what a repeat means.
//
// One command_parser per shard, used only by that shard's thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

namespace wsa {

enum class op_kind : uint8_t { auth, sub, unsub, pub, ping, presence };

/// Deepest nesting accepted inside one field's value (`data`, unknown fields): `1` is depth 0,
/// `[1]` depth 1. Deeper values are refused with bad_request, before simdjson or our own
/// recursion could run out of room.
inline constexpr int max_value_depth = 64;

/// Longest `idem` key of a `pub` (protocol 1.1): 1 to 64 printable ASCII characters.
inline constexpr std::size_t max_idem_bytes = 64;
/// The interval of `"mode":"latest"` (protocol 1.1), in milliseconds.
inline constexpr uint32_t min_latest_interval_ms = 10;
inline constexpr uint32_t max_latest_interval_ms = 60000;

/// One entry of `since`: a number, or {"seq":N,"epoch":"..."}; or, for a pattern (protocol
/// 1.1 "Recovery on patterns"), {"ts":T,"tags":{tag: N or {"seq":N,"epoch":"..."},...}}
/// with both members optional (at least one present).
struct since_entry {
  std::string_view tag;
  uint64_t seq = 0;
  std::string_view epoch;  ///< empty when the client gave a bare number (or no epoch)
  bool pattern_form = false;  ///< the {"ts":..,"tags":{..}} form
  bool has_ts = false;
  uint64_t ts_ms = 0;
  /// The pattern form's known positions: command::since_known[known_begin, +known_count).
  uint32_t known_begin = 0;
  uint32_t known_count = 0;
};

struct command {
  op_kind op = op_kind::ping;
  /// `id` as given, in its raw JSON form (an integer, or a string with its quotes and escapes),
  /// so the reply can echo it byte for byte. Empty: no id (no `ok` is sent).
  std::string_view id;
  std::string_view token;             ///< auth, unescaped
  std::string_view tag;               ///< pub, presence (1.1), unescaped
  std::string_view data;              ///< pub: the raw JSON value, byte for byte
  std::string_view idem;              ///< pub: the idempotency key (1.1), empty: none
  std::vector<std::string_view> tags; ///< sub, unsub, unescaped (capacity reused)
  std::vector<since_entry> since;     ///< sub, in the client's order (capacity reused)
  std::vector<since_entry> since_known;  ///< sub: the pattern forms' `tags`, in order
  /// sub (1.1): `"mode":"latest","interval_ms":N` gives N (10..60000); 0: mode "all".
  uint32_t interval_ms = 0;
  std::string_view mode;              ///< sub: as given ("all", "latest"), empty: none
  bool presence = false;              ///< sub (1.1): join/leave events for its exact tags
};

/// Why a frame was refused; `code` and `reason` are static strings.
struct parse_error {
  /// Protocol error code: bad_request, too_large (frame over the parser's limit), or internal
  /// (the caller broke the padding contract).
  const char* code = "bad_request";
  const char* reason = "";
  std::string_view id;  ///< the request's id if it could be read, for the `err`
};

/// Bytes the parser needs readable after the end of a frame (simdjson's padding). Buffers
/// handed to command_parser::parse must have this much spare capacity after `size`. The
/// content of those bytes does not matter.
std::size_t json_padding();

/// One per shard; reused for every frame (no allocation once warmed up).
class command_parser {
 public:
  /// Allocates everything a frame of up to `max_frame_bytes` needs, once (about 6 bytes of
  /// parser state per frame byte). Aborts if that memory cannot be had.
  explicit command_parser(std::size_t max_frame_bytes);
  ~command_parser();
  command_parser(const command_parser&) = delete;
  command_parser& operator=(const command_parser&) = delete;

  /// Parses one text frame. `capacity` >= size + json_padding() bytes are readable at
  /// `frame`. Returns true and fills `out`, or false and fills `err`; `out` is reset either
  /// way (its vectors keep their capacity).
  bool parse(const char* frame, std::size_t size, std::size_t capacity, command& out,
             parse_error& err);

  std::size_t max_frame_bytes() const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace wsa

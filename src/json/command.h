// A client frame of protocol v1 (PROTOCOL.md, "Client to server"), parsed with simdjson.
// Every string_view points into the frame buffer that was parsed, or into the parser's
// own string buffer: both live until the next call to parse() on the same parser.
// Only this module's .cpp includes simdjson.h (1.3 MB header).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

namespace wsa {

enum class op_kind : uint8_t { auth, sub, unsub, pub, ping };

/// One entry of `since`: a number, or {"seq":N,"epoch":"..."}.
struct since_entry {
  std::string_view tag;
  uint64_t seq = 0;
  std::string_view epoch;  ///< empty when the client gave a bare number
};

struct command {
  op_kind op = op_kind::ping;
  /// `id` as given, in its raw JSON form (a number, or a string with its quotes), so the
  /// reply can echo it byte for byte. Empty: no id (no `ok` is sent).
  std::string_view id;
  std::string_view token;             ///< auth
  std::string_view tag;               ///< pub
  std::string_view data;              ///< pub: the raw JSON value, byte for byte
  std::vector<std::string_view> tags; ///< sub, unsub (capacity reused between parses)
  std::vector<since_entry> since;     ///< sub
};

/// Why a frame was refused; `reason` is a static human-readable string.
struct parse_error {
  const char* code = "bad_request";  ///< protocol error code: bad_request or too_large
  const char* reason = "";
  std::string_view id;               ///< the request's id if it could be read, for the `err`
};

/// Bytes the parser needs readable after the end of a frame (simdjson's padding). Buffers
/// handed to command_parser::parse must have this much spare capacity after `size`.
std::size_t json_padding();

/// One per shard; reused for every frame (no allocation once warmed up).
class command_parser {
 public:
  explicit command_parser(std::size_t max_frame_bytes);
  ~command_parser();
  command_parser(const command_parser&) = delete;
  command_parser& operator=(const command_parser&) = delete;

  /// Parses one text frame. `capacity` >= size + json_padding() bytes are readable at
  /// `frame`. Returns true and fills `out`, or false and fills `err`.
  bool parse(const char* frame, std::size_t size, std::size_t capacity, command& out,
             parse_error& err);

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace wsa

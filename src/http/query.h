// Query-string parameter lookup (application/x-www-form-urlencoded, as browsers write it):
// finds one parameter in the raw query of a request target and percent-decodes its value into
// the caller's buffer. Used for `?token=` (docs/protocol.md: browsers cannot set headers on a
// WebSocket). No allocation; any thread.
//
// Strict on hostile input: a '%' not followed by two hex digits, or an escape that decodes to
// NUL, is `malformed` (in the wanted value and in every parameter name looked at), and a
// parameter given twice is `duplicate` rather than silently picking one of them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace wsa {

enum class query_status : uint8_t { found, absent, malformed, too_long, duplicate };

struct query_value {
  query_status status = query_status::absent;
  std::size_t length = 0;  ///< decoded bytes written to the buffer (when found)

  bool found() const { return status == query_status::found; }
};

/// Looks up `name` (compared with the decoded parameter names, case-sensitively) in `query`,
/// the part of the target after '?', without it. Parameters are separated by '&'; a parameter
/// without '=' has an empty value; '+' decodes to a space. The decoded value goes to `out`;
/// too_long when it does not fit (out then holds a truncated prefix: do not use it).
query_value find_query_param(std::string_view query, std::string_view name, std::span<char> out);

}  // namespace wsa

// Tags and tag patterns (PROTOCOL.md, "Tags").
// A tag is 1..255 bytes of printable ASCII (0x21..0x7e), segments separated by '.', no
// empty segment. A pattern may also use wildcard segments: `*` matches exactly one
// segment; `>` as the last segment matches one or more segments. The characters '*' and
// '>' are only allowed as a whole segment (so "a*b" is not a valid tag or pattern).
// Pure functions: any thread.
#pragma once

#include <string_view>

namespace wsa {

inline constexpr std::size_t max_tag_bytes = 255;

/// An exact tag, valid for `pub`: no wildcard segment.
bool is_valid_tag(std::string_view tag);

/// A tag or a pattern, valid for `sub` and permission lists.
bool is_valid_pattern(std::string_view pattern);

/// True when the pattern has a wildcard segment.
bool is_wildcard(std::string_view pattern);

/// Does `pattern` (valid pattern) match the exact tag `tag`?
bool pattern_matches(std::string_view pattern, std::string_view tag);

/// Does `outer` match every tag that `inner` could match? Both are valid patterns (exact
/// tags included). Used for permissions: `sub chat.>` needs a `perm.sub` pattern covering
/// it, so `chat.>` covers `chat.*` and `chat.a.b` but `chat.*` does not cover `chat.>`.
bool pattern_covers(std::string_view outer, std::string_view inner);

}  // namespace wsa

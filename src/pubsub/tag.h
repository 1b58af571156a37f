// Tags and tag patterns (docs/protocol.md, "Tags").
// A tag is 1..255 bytes of printable ASCII (0x21..0x7e), segments separated by '.', no
// empty segment. A pattern may also use wildcard segments: `*` matches exactly one
// segment; `>` as the last segment matches one or more segments. The characters '*' and
// '>' are only allowed as a whole segment (so "a*b" is not a valid tag or pattern).
// Pure functions: any thread.
#pragma once

#include <cstddef>
#include <string>
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

// MQTT mapping (docs/protocol.md, "MQTT mapping"): '/' <-> '.', '+' <-> '*', '#' <-> '>'.
// Only topics that map one-to-one are accepted: no empty level, no '$' topic (broker
// internal in MQTT), no byte outside 0x21..0x7e (MQTT allows spaces and UTF-8, tags do not),
// no '.', '*' or '>' inside a level, '+'/'#' only as whole levels and '#' only last.
// Semantic difference: MQTT's `a/#` also matches `a` itself, while `a.>` needs at least one
// more segment; a bridge wanting MQTT semantics subscribes to both `a` and `a.>`.

/// Maps an MQTT topic (or, with `allow_wildcards`, a topic filter) to a tag (or pattern).
/// On success `out` holds a valid tag/pattern; on failure `out` is left unchanged.
bool mqtt_topic_to_tag(std::string_view topic, bool allow_wildcards, std::string& out);

/// Maps a valid tag or pattern to an MQTT topic (filter). Refuses tags that contain '/',
/// '+' or '#' or start with '$' (they would not map back). On failure `out` is unchanged.
bool tag_to_mqtt_topic(std::string_view tag, std::string& out);

}  // namespace wsa

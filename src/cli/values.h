// Option value syntax shared by every subcommand: booleans, counts, byte sizes, durations,
// and the "did you mean" suggestion for misspelt names. Pure functions: any thread, but
// only startup code calls them.
//
// Errors come back as a sentence fragment naming the offending text, e.g.
// "bad size '64q' (expected a number with an optional suffix k, m or g)", which the caller
// prefixes with where the value came from (a flag, a WSAGENT_* variable, a file line).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace wsa {

/// true/false, 1/0, yes/no, on/off, in any case.
bool parse_bool(std::string_view text, bool& out, std::string& why);

/// A plain decimal integer within [min, max].
bool parse_count(std::string_view text, uint64_t min, uint64_t max, uint64_t& out,
                 std::string& why);

/// Bytes: a decimal integer with an optional binary suffix, case-insensitive:
/// b; k, kb, kib (x1024); m, mb, mib (x1024^2); g, gb, gib (x1024^3). Within [min, max].
bool parse_size(std::string_view text, uint64_t min, uint64_t max, uint64_t& out, std::string& why);

/// The unit a bare number stands for, and the unit the result is returned in.
enum class time_unit { milliseconds, seconds };

/// A duration: one or more whole-number components each with a unit ms, s, m, h or d
/// ("250ms", "5s", "1m30s", "1h"), or a bare number meaning `unit`. The result is in `unit`;
/// in seconds it must be a whole number of them. Within [min, max] (in `unit`).
bool parse_duration(std::string_view text, time_unit unit, uint64_t min, uint64_t max,
                    uint64_t& out, std::string& why);

/// Sizes as the parser reads them: "64KiB", "1MiB", "100" (bytes); the largest exact unit.
std::string format_size(uint64_t bytes);

/// Durations as the parser reads them: "250ms", "5s", "1m", "1h30m", "0s".
std::string format_duration(uint64_t value, time_unit unit);

/// The candidate closest to `name` by edit distance (transpositions count one), or "" when
/// none is close enough to be a plausible typo.
std::string_view closest_name(std::string_view name, std::span<const std::string_view> candidates);

}  // namespace wsa

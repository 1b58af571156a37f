// Strict JSON validation (RFC 8259) without parsing into anything: for bytes that arrive as
// something else (an MQTT payload) and must be known to be JSON before they become `data`.
// Accepts exactly what the command parser accepts as a value: well-formed UTF-8, a single
// value with optional surrounding whitespace, strings whose \u escapes pair their
// surrogates, containers nested at most `max_depth` deep. No allocation, no recursion.
// Pure function: any thread.
#pragma once

#include <string_view>

namespace wsa {

/// True when `text` is one valid JSON value (with optional whitespace around it) nested at
/// most `max_depth` containers deep.
bool is_valid_json(std::string_view text, int max_depth = 64);

}  // namespace wsa

// Strict JSON validation (RFC 8259) without parsing into anything: for bytes that arrive as
// something else (an MQTT payload) and must be known to be JSON before they become `data`;
// and the unescaping of a JSON string's content (to give such bytes back).
// Accepts exactly what the command parser accepts as a value: well-formed UTF-8, a single
// value with optional surrounding whitespace, strings whose \u escapes pair their
// surrogates, containers nested at most `max_depth` deep. No allocation, no recursion.
// Pure function: any thread.
#pragma once

#include <string>
#include <string_view>

namespace wsa {

/// The value of the four hex digits `s` starts with (a \u escape's), or -1.
int json_hex4(std::string_view s);

/// The content of a JSON string literal (`body`: what lies between its quotes, valid JSON)
/// unescaped into `out`. False for a lone surrogate escape, which has no UTF-8 form.
bool unescape_json_string(std::string_view body, std::string& out);

/// True when `text` is one valid JSON value (with optional whitespace around it) nested at
/// most `max_depth` containers deep.
bool is_valid_json(std::string_view text, int max_depth = 64);

}  // namespace wsa

// The benchmark message body and the few JSON fields the load generator reads.
//
// Every published message's application payload (wsagent `data`, MQTT payload) is
//   {"t":<send time, CLOCK_MONOTONIC ns>,"i":<publisher>,"n":<seq of that publisher on that
//   tag>,"p":"xxxx"}
// padded with 'x' to exactly the requested size (when the size allows). Receivers find these
// fields by hand: a full JSON parse per message would cost more than everything else on the
// receive path. Readers tolerate whitespace (servers that re-encode JSON add some) but do not
// validate JSON. Pure functions, any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace wsa::loadgen {

struct stamp {
  uint64_t t = 0;  // send time (intended send time at a fixed rate), ns
  uint32_t publisher = 0;
  uint32_t seq = 0;
};

// Bytes that write_data() will produce for these values and requested size.
std::size_t data_size(const stamp& s, std::size_t requested);
// Smallest body ever produced (for option checks): 23 bytes of syntax plus digits.
constexpr std::size_t data_min_size = 23 + 3;

// Writes the body; returns the end. `out` must have data_size() bytes.
char* write_data(char* out, const stamp& s, std::size_t requested);

char* write_u64(char* out, uint64_t v);
std::size_t digits_u64(uint64_t v);

// Finds the stamp inside a message (the whole server frame text, or the bare payload).
bool parse_stamp(const char* p, std::size_t n, stamp& out);

// Same for a wsagent `msg` frame of a known tag, without searching when the envelope is
// byte for byte {"op":"msg","tag":"<tag>","seq":N,"data":{"t":... (falls back otherwise).
bool parse_msg_stamp(const char* p, std::size_t n, std::string_view tag, stamp& out);

// Value of "op" in a server frame, or empty.
std::string_view json_op(const char* p, std::size_t n);
// Integer value of key (given with quotes, e.g. "\"id\""); false if absent or not a number.
// A value that is an object ({"tag":57}) yields its first number, which is what `seq` of a
// one-tag `ok` holds.
bool json_u64(const char* p, std::size_t n, std::string_view quoted_key, uint64_t& out);

}  // namespace wsa::loadgen

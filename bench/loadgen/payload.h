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
#include <string>
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

// Finds the stamp inside a message (the whole server frame text, or the bare payload) by
// searching for the keys: any layout, any whitespace. The general path.
bool parse_stamp(const char* p, std::size_t n, stamp& out);

// The fixed start of a wsagent `msg` frame of one tag, up to the digits of its seq:
// {"op":"msg","tag":"<tag>","seq":
std::string msg_prefix(std::string_view tag);

// The receive path's readers: they find the frame's fields at the places where our own
// layout puts them, compare words and read digits eight at a time, with no search and no
// per-byte loop, and answer false when the bytes are laid out any other way (then the
// caller takes the general path). read_msg_stamp takes a frame that starts with `prefix`
// (msg_prefix of the subscriber's tag) and goes on ...<seq>[,"ts":TS],"data":{"t":T,"i":I,"n":N;
// read_data_stamp a bare payload that starts {"t":T,"i":I,"n":N (MQTT).
bool read_msg_stamp(const char* p, std::size_t n, std::string_view prefix, stamp& out);
bool read_data_stamp(const char* p, std::size_t n, stamp& out);
// The cheapest of them, for a wsagent `msg` frame whose `data` is our body of exactly
// `data_len` bytes (the load generator's --size when that is at least data_exact_size) and
// its last field: {"op":"m...,"data":{"t":T,"i":I,"n":N,...}}. The body is found from the
// frame's end, so the envelope (tag, seq, ts) is not read at all; the subscriber has one tag.
// False for any other layout (then read_msg_stamp).
bool read_msg_tail_stamp(const char* p, std::size_t n, std::size_t data_len, stamp& out);
// From this --size on, every body is exactly --size bytes (23 bytes of syntax + the digits of
// t, i and n at their widest).
constexpr std::size_t data_exact_size = 23 + 20 + 10 + 10;

// read_msg_stamp, else parse_stamp; read_data_stamp, else parse_stamp.
bool parse_msg_stamp(const char* p, std::size_t n, std::string_view prefix, stamp& out);
bool parse_data_stamp(const char* p, std::size_t n, stamp& out);

// Value of "op" in a server frame, or empty.
std::string_view json_op(const char* p, std::size_t n);
// Integer value of key (given with quotes, e.g. "\"id\""); false if absent or not a number.
// A value that is an object ({"tag":57}) yields its first number, which is what `seq` of a
// one-tag `ok` holds.
bool json_u64(const char* p, std::size_t n, std::string_view quoted_key, uint64_t& out);

}  // namespace wsa::loadgen

// The positions a client knows of a recovering pattern's tags (protocol 1.1 "Recovery on
// patterns"), flattened into one string for a record between shards and read back as views
// into it: "<tag> <seq> <epoch>\n" per tag. Tags are printable ASCII without spaces; an
// epoch is the client's string, so bytes that would break the format (space, newline,
// anything unprintable) become '?': our epochs never hold them, so such an epoch still
// never matches, as it would not have whole. Pure functions: any thread.
#pragma once

#include <charconv>
#include <string>
#include <string_view>
#include <vector>

#include "broker/broker.h"

namespace wsa {

/// Longest epoch kept (ours are 8 characters; a longer one never matches).
inline constexpr std::size_t max_known_epoch_bytes = 64;

inline void append_known(std::string& out, const known_position& k) {
  out.append(k.tag);
  out.push_back(' ');
  char digits[24];
  const auto r = std::to_chars(digits, digits + sizeof digits, k.seq);
  out.append(digits, r.ptr);
  out.push_back(' ');
  for (const char c : k.epoch.substr(0, max_known_epoch_bytes)) {
    out.push_back(c > ' ' && c < 127 ? c : '?');
  }
  out.push_back('\n');
}

/// Reads what append_known wrote; false (and `out` partial) when malformed.
inline bool read_known(std::string_view in, std::vector<known_position>& out) {
  out.clear();
  while (!in.empty()) {
    const std::size_t end = in.find('\n');
    const std::size_t sp1 = in.find(' ');
    const std::size_t sp2 = sp1 == std::string_view::npos ? sp1 : in.find(' ', sp1 + 1);
    if (end == std::string_view::npos || sp2 == std::string_view::npos || sp2 > end) {
      return false;
    }
    known_position k;
    k.tag = in.substr(0, sp1);
    const char* digits = in.data() + sp1 + 1;
    if (std::from_chars(digits, in.data() + sp2, k.seq).ptr != in.data() + sp2) {
      return false;
    }
    k.epoch = in.substr(sp2 + 1, end - sp2 - 1);
    out.push_back(k);
    in.remove_prefix(end + 1);
  }
  return true;
}

}  // namespace wsa

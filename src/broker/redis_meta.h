// How the Redis broker keeps a message's metadata (message::meta) in Redis without a change
// to its scripts: the `data` they store in the history and send on the channel is
// "~<meta bytes, decimal> <meta><data>" when there is metadata, and the data alone when not
// (raw JSON never starts with `~`, so both read back unambiguously). Every node splits it
// again (redis_split_stored) before it makes a message; nothing else reads it.
// Pure functions: any thread.
#pragma once

#include <charconv>
#include <cstddef>
#include <string_view>

#include "broker/message.h"

namespace wsa {

inline constexpr char redis_meta_mark = '~';

/// The prefix written before the metadata ("~<size> "); `buffer` holds at least 8 bytes.
inline std::string_view redis_meta_prefix(std::string_view meta, char (&buffer)[8]) {
  buffer[0] = redis_meta_mark;
  char* end = std::to_chars(buffer + 1, buffer + 7, meta.size()).ptr;
  *end++ = ' ';
  return {buffer, static_cast<std::size_t>(end - buffer)};
}

/// Splits what a script stored into data and metadata. False when it is marked but
/// malformed, or its metadata is larger than a message may carry (bytes from the network).
inline bool redis_split_stored(std::string_view stored, std::string_view& data,
                               std::string_view& meta) {
  if (stored.empty() || stored[0] != redis_meta_mark) [[likely]] {
    data = stored;
    meta = {};
    return true;
  }
  std::size_t size = 0;
  const char* first = stored.data() + 1;
  const char* last = stored.data() + stored.size();
  const auto [end, ec] = std::from_chars(first, last, size);
  if (ec != std::errc() || end == first || end == last || *end != ' ' ||
      size > message::max_meta_bytes ||
      size > static_cast<std::size_t>(last - end - 1)) {
    return false;
  }
  meta = {end + 1, size};
  data = {end + 1 + size, static_cast<std::size_t>(last - (end + 1 + size))};
  return true;
}

}  // namespace wsa

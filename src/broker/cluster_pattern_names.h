// Names of patterns on Redis Cluster (docs/redis-cluster.md "Patterns"): a tag's first
// segment S, S's registry of tags (wsa:{S}:t:S, the form the candidates script reads under
// the prefix wsa:{S}:) and S's announce channel wsa:{S}:new, all in S's slot.
// Pure functions: any thread.
#pragma once

#include <string>
#include <string_view>

#include "broker/redis_scripts.h"

namespace wsa::cluster_patterns {

inline std::string_view first_segment(std::string_view tag) {
  return tag.substr(0, tag.find('.'));
}

inline bool wildcard_first(std::string_view pattern) {
  const std::string_view s = first_segment(pattern);
  return s == "*" || s == ">";
}

inline constexpr std::string_view announce_suffix = "}:new";

/// The candidates script's prefix for S's registry (it reads <prefix>t:<S>).
inline std::string registry_prefix(std::string_view seg) {
  std::string out(redis_key_prefix);
  out.append(seg).append("}:");
  return out;
}

inline std::string announce_channel(std::string_view seg) {
  std::string out(redis_key_prefix);
  out.append(seg).append(announce_suffix);
  return out;
}

/// The segment of an announce channel; false for any other channel (a tag's channel ends
/// with "}", never with "}:new").
inline bool announce_segment(std::string_view channel, std::string_view& seg) {
  if (channel.size() <= redis_key_prefix.size() + announce_suffix.size() ||
      !channel.starts_with(redis_key_prefix) || !channel.ends_with(announce_suffix)) {
    return false;
  }
  seg = channel.substr(redis_key_prefix.size(),
                       channel.size() - redis_key_prefix.size() - announce_suffix.size());
  return true;
}

/// KEYS[1] the segment's registry; ARGV: channel, tag, score (the publish's ts), cap, key
/// TTL in ms, payload. A tag new to the registry trims it to the cap (the least recently
/// announced go first); a known one only takes the newer score.
inline constexpr std::string_view announce_script = R"lua(
if redis.call('ZADD', KEYS[1], 'GT', ARGV[3], ARGV[2]) == 1 then
  local cap = tonumber(ARGV[4])
  if redis.call('ZCARD', KEYS[1]) > cap then
    redis.call('ZREMRANGEBYRANK', KEYS[1], 0, -cap - 1)
  end
end
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return redis.call('SPUBLISH', ARGV[1], ARGV[6])
)lua";

}  // namespace wsa::cluster_patterns

// The node's own figures as one JSON object, published to a tag once a second with
// `wsagent serve --stats-tag TAG` (as Mosquitto's $SYS topics do), so that a dashboard
// subscribes to the server like to any other data:
//
//   {"node":"n1","ts":1764950400123,"shards":2,
//    "total":{"connections":3,"websockets":3,"messages_in":120,...},
//    "per_shard":[{"connections":2,...},{"connections":1,...}]}
//
// Counters only grow (a dashboard derives rates from two reports); gauges are current.
// Plain function: any thread may render from the shards' metric blocks (relaxed reads).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "obs/metrics.h"

namespace wsa {

/// Replaces `out` with the report. `node` must need no JSON escaping (node ids are checked
/// to be letters, digits and `.`, `_`, `-`, `:`).
void render_stats_json(std::string& out, std::string_view node, int64_t unix_ms,
                       std::span<const shard_metrics* const> shards);

}  // namespace wsa

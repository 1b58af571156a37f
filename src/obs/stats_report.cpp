// The --stats-tag report. See stats_report.h.
#include "obs/stats_report.h"

#include <charconv>

namespace wsa {
namespace {

struct field {
  const char* name;
  counter shard_metrics::*value;
};

// What a live dashboard shows: load (connections, subscriptions), traffic (messages and
// bytes both ways, publishes, deliveries) and trouble (slow consumers, protocol and auth
// failures, broker errors).
constexpr field fields[] = {
    {"connections", &shard_metrics::connections},
    {"websockets", &shard_metrics::websockets},
    {"subscriptions", &shard_metrics::subscriptions},
    {"messages_in", &shard_metrics::messages_in},
    {"messages_out", &shard_metrics::messages_out},
    {"publishes", &shard_metrics::publishes},
    {"deliveries", &shard_metrics::deliveries},
    {"bytes_in", &shard_metrics::bytes_in},
    {"bytes_out", &shard_metrics::bytes_out},
    {"slow_consumer_closes", &shard_metrics::slow_consumer_closes},
    {"protocol_errors", &shard_metrics::protocol_errors},
    {"auth_failures", &shard_metrics::auth_failures},
    {"broker_errors", &shard_metrics::broker_errors},
};

void append_number(std::string& out, uint64_t n) {
  char digits[24];
  const auto end = std::to_chars(digits, digits + sizeof digits, n).ptr;
  out.append(digits, end);
}

void append_object(std::string& out, const uint64_t (&values)[std::size(fields)]) {
  out.push_back('{');
  for (std::size_t i = 0; i < std::size(fields); ++i) {
    if (i > 0) {
      out.push_back(',');
    }
    out.push_back('"');
    out.append(fields[i].name);
    out.append("\":");
    append_number(out, values[i]);
  }
  out.push_back('}');
}

}  // namespace

void render_stats_json(std::string& out, std::string_view node, int64_t unix_ms,
                       std::span<const shard_metrics* const> shards) {
  out.clear();
  out.append("{\"node\":\"");
  out.append(node);
  out.append("\",\"ts\":");
  append_number(out, static_cast<uint64_t>(unix_ms < 0 ? 0 : unix_ms));
  out.append(",\"shards\":");
  append_number(out, shards.size());
  uint64_t total[std::size(fields)] = {};
  std::string per_shard;
  for (const shard_metrics* m : shards) {
    uint64_t values[std::size(fields)];
    for (std::size_t i = 0; i < std::size(fields); ++i) {
      values[i] = (m->*fields[i].value).get();
      total[i] += values[i];
    }
    per_shard.push_back(per_shard.empty() ? '[' : ',');
    append_object(per_shard, values);
  }
  per_shard.append(per_shard.empty() ? "[]" : "]");
  out.append(",\"total\":");
  append_object(out, total);
  out.append(",\"per_shard\":");
  out.append(per_shard);
  out.push_back('}');
}

}  // namespace wsa

// Patterns on Redis Cluster, the publishing side (docs/redis-cluster.md "Patterns"): a tag
// this shard publishes is announced to its first segment's pattern subscribers once its
// publish is stored (when announce_cache says it is due): the announce script adds it to
// the segment's registry and SPUBLISHes "<seq> <ts> <tag>" on the segment's channel. The
// subscribing side is redis_cluster_patterns.cpp.
#include <algorithm>

#include "broker/cluster_pattern_names.h"
#include "broker/redis_broker.h"
#include "redis/resp_writer.h"
#include "util/clock.h"

namespace wsa {

using namespace cluster_patterns;

bool redis_broker::note_cluster_publish(std::string_view tag, uint64_t ticket) {
  if (!announced_.due(tag, monotonic_ms())) {
    return false;
  }
  announcing_.emplace_back(ticket, tag);
  metrics_.redis_cluster_announced_cached.set(announced_.size());
  return true;
}

void redis_broker::send_announce(std::string_view tag, uint64_t seq, int64_t ts_ms) {
  const std::string_view seg = first_segment(tag);
  std::string* out = begin_command(seg);
  if (out == nullptr) {
    announced_.failed(tag);  // the next publish tries again
    return;
  }
  const std::string prefix = registry_prefix(seg);
  resp_array(*out, 10);
  resp_bulk(*out, "EVALSHA");
  resp_bulk(*out, announce_sha_);
  resp_bulk(*out, "1");
  resp_bulk_concat(*out, {prefix, "t:", seg});
  resp_bulk(*out, announce_channel(seg));
  resp_bulk(*out, tag);
  resp_bulk(*out, static_cast<uint64_t>(ts_ms < 0 ? 0 : ts_ms));
  resp_bulk(*out, registry_cap());
  resp_bulk(*out, key_ttl_ms());
  std::string payload = std::to_string(seq);
  payload.append(" ").append(std::to_string(ts_ms)).append(" ").append(tag);
  resp_bulk(*out, payload);
  const uint64_t token = ++next_token_;
  commit_command({announce_cmd, 0, token});
  announces_sent_.emplace_back(token, tag);
  metrics_.redis_cluster_announces.add();
}

bool redis_broker::on_cluster_pattern_reply(const link_request& request, const resp_view* reply) {
  if (request.kind == registry_cmd) {
    on_registry_reply(request, reply);
    return true;
  }
  const bool announce = request.kind == announce_cmd;
  // (a batch's reply starts with its first message's seq and ts, which the announce takes)
  if (!announce && ((request.kind != publish_cmd && request.kind != publish_batch_cmd) ||
                    (request.aux & announce_bit) == 0)) {
    return false;  // (a publish whose tag was not due: nothing to look up)
  }
  auto& list = announce ? announces_sent_ : announcing_;
  auto it = std::find_if(list.begin(), list.end(),
                         [&](const auto& e) { return e.first == request.token; });
  if (it == list.end()) {
    return announce;
  }
  const std::string tag = std::move(it->second);
  list.erase(it);
  const bool ok = reply != nullptr && reply->is_array() && reply->size() >= 2 &&
                  (*reply)[0].type() == resp_type::integer && (*reply)[0].integer() > 0;
  if (announce) {
    if (reply != nullptr && reply->type() == resp_type::integer) {
      announced_.done(tag, monotonic_ms());
    } else {
      note_error("pattern announce failed", reply == nullptr ? "no answer" : reply->str());
      announced_.failed(tag);
    }
  } else if (ok) {
    send_announce(tag, static_cast<uint64_t>((*reply)[0].integer()), (*reply)[1].integer());
  } else {
    announced_.failed(tag);
  }
  metrics_.redis_cluster_announced_cached.set(announced_.size());
  return announce;
}

}  // namespace wsa

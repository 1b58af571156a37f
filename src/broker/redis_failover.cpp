// The Redis broker behind Sentinel: the master followed (sentinel_watch), which master's
// history a connection sees (its replication id, for the epochs), and WAIT before `ok`.
// See redis_broker.h and docs/redis-cluster.md "What Sentinel promises".
#include "broker/redis_broker.h"
#include "obs/log.h"
#include "redis/resp_writer.h"
#include "util/clock.h"

namespace wsa {

void redis_broker::on_master(const redis_address& master) {
  WSA_LOG(info, "redis master").kv("address", master.text).kv(
      "failovers", sentinel_->switches());
}

void redis_broker::on_sentinel_note(std::string_view what) {
  note_limited("redis sentinel", what);
}

void redis_broker::ask_replication_id() {
  if (!sentinel_) {
    return;
  }
  // A promoted replica starts a new replication id; whatever the old master acknowledged
  // and had not replicated is gone. The scripts give a tag last written under another id a
  // new epoch, so that its subscribers are told of a gap instead of seeing its numbers
  // used again for other messages.
  replid_pending_ = true;
  commands_.send({replid_cmd, 0, 0}, {"INFO", "replication"});
}

void redis_broker::on_replication_id(resp_view reply) {
  constexpr std::string_view field = "master_replid:";
  const std::string_view info = reply.type() == resp_type::string ? reply.str() : "";
  const std::size_t at = info.find(field);
  const std::size_t start = at == std::string_view::npos ? at : at + field.size();
  const std::size_t end = at == std::string_view::npos ? at : info.find_first_of("\r\n", start);
  if (at == std::string_view::npos || end == std::string_view::npos || end == start ||
      end - start > 64) {
    commands_.fail("INFO replication without master_replid");
    return;
  }
  const std::string_view id = info.substr(start, end - start);
  if (!replid_.empty() && replid_ != id) {
    WSA_LOG(warn, "redis master has a new history: tags take new epochs")
        .kv("replid", id)
        .kv("was", replid_);
  }
  replid_.assign(id);
  replid_pending_ = false;
}

void redis_broker::await_replicas(const link_request& publish, uint64_t seq, int64_t ts,
                                  bool dup) {
  awaiting_.push_back({publish.token, seq, ts, dup, publish.sent_ns});
}

void redis_broker::send_wait() {
  publishes_since_wait_ = 0;
  if (!commands_.up()) {
    return;  // on_link_down failed the publishes already
  }
  std::string& out = commands_.begin();
  resp_array(out, 3);
  resp_bulk(out, "WAIT");
  resp_bulk(out, uint64_t{options_.wait_replicas});
  resp_bulk(out, uint64_t{options_.wait_timeout_ms});
  // Redis answers WAIT only after its timeout when replicas lag: the link must not take
  // that silence for a dead server.
  link_request wait{wait_cmd, 0, 0};
  wait.patience_ms = options_.wait_timeout_ms;
  commands_.commit(wait);
}

void redis_broker::on_wait_reply(resp_view reply) {
  // Replies come in order: every publish answered so far was sent before this WAIT.
  if (reply.type() != resp_type::integer ||
      reply.integer() < static_cast<int64_t>(options_.wait_replicas)) {
    note_error("WAIT: too few replicas have the publishes", reply.str());
    fail_awaiting();
    return;
  }
  const int64_t now_ns = monotonic_ns();
  for (const awaiting_publish& p : awaiting_) {
    metrics_.broker_pending.sub();
    metrics_.broker_publish_latency.observe_ns(p.sent_ns, now_ns);
    results_.published(p.ticket, p.seq, p.ts, p.dup);
  }
  awaiting_.clear();
}

void redis_broker::fail_awaiting() {
  // Applied in Redis but not known to be on a replica: the client hears `unavailable`
  // (the message may still reach subscribers, as after any reply lost with its link).
  for (const awaiting_publish& p : awaiting_) {
    metrics_.broker_pending.sub();
    metrics_.broker_errors.add();
    results_.publish_failed(p.ticket, "unavailable");
  }
  awaiting_.clear();
}

}  // namespace wsa

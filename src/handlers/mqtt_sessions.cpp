// Persistent sessions (docs/mqtt.md "Sessions"): with clean session 0 (3.1.1) or a session
// expiry (5.0), a session's subscriptions and, per tag delivered, the seq its client last
// acknowledged outlive the connection. The key's owner shard (the takeover's) keeps them:
// a CONNECT's claim is answered with the stored session (resume), and the CONNACK waits for
// that answer (session present). Resuming subscribes again, each exact tag `since` its
// position and each wildcard by the pattern form of `since` (the tags it reached with
// their positions, others from the session's resume time), so that what history still
// holds is sent again (QoS 1 as subscribed) and what it no longer holds is counted
// (wsagent_mqtt_resume_gaps_total), never assumed delivered.
// Bounded: --mqtt-max-sessions per node (a CONNECT for one more is refused), expiry capped
// (limits::max_session_expiry). With a session store (the Redis broker's), sessions live
// there instead, shared by every node: the owner shard claims the key in the store (which
// takes it over from a connection on another node) and the store's answer is the resume.
#include <algorithm>

#include "handlers/mqtt.h"
#include "mqtt/session_record.h"
#include "obs/log.h"
#include "pubsub/tag.h"
#include "util/clock.h"

namespace wsa {

// ---- the key's owner shard ----

void mqtt_handler::answer_claim(std::string_view key, session_place who, uint8_t flags) {
  if (store_ != nullptr) {
    claim_from_store(key, who, flags);
    return;
  }
  const int64_t now = unix_ms();
  auto it = sessions_.find(key);
  if (it != sessions_.end() && !it->second.connected && it->second.expires_at_ms <= now) {
    erase_session(it);  // expired meanwhile
    metrics_.mqtt_sessions_expired.add();
    it = sessions_.end();
  }
  if (it != sessions_.end() && it->second.connected && !(it->second.holder == who)) {
    // Still held by an older connection, being taken over: its state comes with its
    // release, and this claim is answered then.
    it->second.has_waiting = true;
    it->second.waiting = who;
    it->second.waiting_flags = flags;
    return;
  }
  mqtt_records::resume r{{who.slot, who.generation}, mqtt_records::resume::fresh, {}};
  std::string record;
  const bool clean = (flags & mqtt_records::claim::clean_start) != 0;
  const bool keep = (flags & mqtt_records::claim::keep) != 0;
  if (it != sessions_.end() && !clean && !it->second.record.empty()) {
    // Kept: a copy, so that if the connection ends before its CONNACK the session stays as
    // it was. Not kept: the session is erased below, so its record moves.
    if (keep) {
      record = it->second.record;
    } else {
      session_bytes_ -= it->second.record.size();
      record = std::move(it->second.record);
    }
    r.status = mqtt_records::resume::present;
  }
  if (!keep) {
    if (it != sessions_.end()) {
      erase_session(it);  // used by this connection only, then gone (or discarded)
    }
  } else if (it == sessions_.end()) {
    const stored_session held{.holder = who, .connected = true};
    const uint64_t cost = session_cost(key, held);
    const auto fits = [&] { return session_bytes_ + cost <= max_session_bytes_; };
    if (sessions_.size() >= max_sessions_ || !fits()) {
      drop_expired(now);  // expired ones first make room; otherwise the CONNECT is refused
    }
    if (sessions_.size() >= max_sessions_) {
      r.status = mqtt_records::resume::refused;
    } else if (!fits()) {
      r.status = mqtt_records::resume::refused;
      metrics_.mqtt_session_bytes_refusals.add();
    } else {
      it = sessions_.try_emplace(std::string(key), held).first;
      session_bytes_ += cost;
    }
  } else {
    stored_session& s = it->second;
    if (!s.connected) {
      expiring_.erase(s.expiry);
      s.connected = true;
    }
    s.holder = who;
    if (clean) {
      session_bytes_ -= s.record.size();
      s.record.clear();
    }
  }
  metrics_.mqtt_sessions_stored.set(sessions_.size());
  metrics_.mqtt_session_bytes.set(session_bytes_);
  r.session = record;
  run_or_post(who.shard, r);
}

void mqtt_handler::erase_session(string_map<stored_session>::iterator it) {
  session_bytes_ -= session_cost(it->first, it->second);
  if (!it->second.connected) {
    expiring_.erase(it->second.expiry);
  }
  sessions_.erase(it);
  metrics_.mqtt_sessions_stored.set(sessions_.size());
  metrics_.mqtt_session_bytes.set(session_bytes_);
}

void mqtt_handler::drop_expired(int64_t now_ms) {
  while (!expiring_.empty() && expiring_.begin()->first <= now_ms) {
    erase_session(sessions_.find(expiring_.begin()->second));
    metrics_.mqtt_sessions_expired.add();
  }
}

void mqtt_handler::end_session(string_map<stored_session>::iterator it, std::string_view key) {
  const bool waiting = it->second.has_waiting;
  const session_place next = it->second.waiting;
  const uint8_t flags = it->second.waiting_flags;
  const std::string owned(key);  // (a view of the key erased below may be all there is)
  erase_session(it);
  if (waiting) {
    answer_claim(owned, next, flags);
  }
}

void mqtt_handler::claim_from_store(std::string_view key, session_place who, uint8_t flags) {
  store_claim& claim = store_claims_.emplace_back();
  claim.ticket = ++next_ticket_;
  claim.key.assign(key);
  claim.who = who;
  claim.token = store_->claim(key, (flags & mqtt_records::claim::clean_start) != 0,
                              (flags & mqtt_records::claim::keep) != 0, claim.ticket);
  const auto it = holders_.find(key);
  if (it != holders_.end() && it->second.place == who) {
    it->second.token = claim.token;
  }
}

void mqtt_handler::on_session_event(session_event& e) {
  if (e.what == session_event::kind::take_over) {
    // Another connection (on any node) claimed the key: close ours if it is the holder
    // the store named (not a newer one of this node).
    const auto it = holders_.find(e.key);
    if (it != holders_.end() && it->second.token == e.token) {
      const session_place old = it->second.place;
      run_or_post(old.shard, mqtt_records::take_over{{old.slot, old.generation}});
    }
    return;
  }
  const auto claim = std::find_if(store_claims_.begin(), store_claims_.end(),
                                  [&](const store_claim& s) { return s.ticket == e.ticket; });
  if (claim == store_claims_.end()) {
    return;  // its connection ended meanwhile
  }
  const session_place who = claim->who;
  const std::string token = std::move(claim->token);
  store_claims_.erase(claim);
  mqtt_records::resume r{{who.slot, who.generation}, mqtt_records::resume::fresh, {}, token};
  if (!e.ok) {
    r.status = mqtt_records::resume::unavailable;
  } else if (e.present) {
    r.status = mqtt_records::resume::present;
    r.session = e.record;
  }
  if (e.handed) {
    metrics_.mqtt_handoffs.add();
  }
  if (e.timed_out) {
    metrics_.mqtt_handoff_timeouts.add();
  }
  run_or_post(who.shard, r);
}

void mqtt_handler::keep_session(std::string_view key, session_place who, uint32_t expiry_s,
                                std::string_view session) {
  const auto it = sessions_.find(key);
  if (it == sessions_.end() || !it->second.connected || !(it->second.holder == who)) {
    return;  // not this connection's to keep (a later claim took the session over)
  }
  if (expiry_s == 0) {
    end_session(it, key);  // 5.0 DISCONNECT set expiry 0: the session ends with it
    return;
  }
  stored_session& s = it->second;
  if (session.size() > s.record.size() &&
      session_bytes_ + (session.size() - s.record.size()) > max_session_bytes_) {
    drop_expired(unix_ms());
    if (session_bytes_ + (session.size() - s.record.size()) > max_session_bytes_) {
      // Grown past the bound (subscriptions, positions): not kept. The next CONNECT is
      // told so (session present 0) and subscribes again, as MQTT has it.
      metrics_.mqtt_session_bytes_dropped.add();
      end_session(it, key);
      return;
    }
  }
  s.connected = false;
  if (!session.empty()) {  // (empty: it ended before its CONNACK; the session is as it was)
    session_bytes_ += session.size();
    session_bytes_ -= s.record.size();
    s.record.assign(session);
    metrics_.mqtt_session_bytes.set(session_bytes_);
  }
  s.expires_at_ms = unix_ms() + int64_t{expiry_s} * 1000;
  s.expiry = expiring_.emplace(s.expires_at_ms, it->first);
  if (s.has_waiting) {
    s.has_waiting = false;
    answer_claim(key, s.waiting, s.waiting_flags);
  }
}

// ---- the connection's shard ----

void mqtt_handler::on_resume(const mqtt_records::resume& r) {
  conn* found = host_.find(r.conn.slot, r.conn.generation);
  if (found == nullptr || !found->open_as(conn_protocol::mqtt) || !found->mqtt->session ||
      !found->mqtt->awaiting_resume) {
    return;  // ended meanwhile (its release tells the owner)
  }
  conn& c = *found;
  mqtt_conn& mc = *c.mqtt;
  const mqtt::connect_outcome o = std::move(*mc.awaiting_resume);
  mc.awaiting_resume.reset();
  host_.clear_deadline(c);
  mc.session_token.assign(r.token);
  if (r.status == mqtt_records::resume::refused ||
      r.status == mqtt_records::resume::unavailable) {
    metrics_.mqtt_connect_refusals.add();
    mqtt::connack_fields f;
    // 3.1.1: both "server unavailable" (3)
    f.code = r.status == mqtt_records::resume::refused ? mqtt::reason::quota_exceeded
                                                       : mqtt::reason::server_unavailable;
    send_connack(c, o.params.level, f);
    mc.clean_end = true;  // refused: no session, no will
    close(c, mqtt::reason::success);
    return;
  }
  mc.keeps_session = o.params.session_expiry > 0;
  const bool present = r.status == mqtt_records::resume::present;
  send_connack(c, o.params.level, mqtt::connack_for(o, present));
  if (present) {
    resume_session(c, r.session);
  }
  // The packets that followed the CONNECT, now that the CONNACK is out.
  if (c.open_as(conn_protocol::mqtt) && !mc.held_input.empty()) {
    const std::string held = std::move(mc.held_input);
    mc.held_input.clear();
    feed(c, held);
  }
}

void mqtt_handler::resume_session(conn& c, std::string_view encoded) {
  mqtt_conn& mc = *c.mqtt;
  mqtt::session_record record;
  if (!mqtt::decode_session_record(encoded, record)) {
    WSA_LOG(error, "stored MQTT session does not decode; started afresh");
    return;
  }
  metrics_.mqtt_sessions_resumed.add();
  patterns_.clear();
  mc.session->restore(record, patterns_);
  // Each pattern again, from where the session stood: an exact tag since its position; a
  // wildcard by protocol 1.1's pattern `since` (its tags with a position listed, the others
  // from the record's resume time). Their replay, then live messages.
  known_.clear();
  std::vector<std::size_t> known_ends;  // per pattern, where its known positions end
  for (const std::string& pattern : patterns_) {
    uint32_t listed = 0;
    for (const mqtt::stored_position& p : record.positions) {
      if (is_wildcard(pattern) && listed < cfg_.max_recovery_tags &&
          pattern_matches(pattern, p.tag)) {
        ++listed;  // (past the bound a tag goes by time: maybe again, never lost)
        known_.push_back({p.tag, p.seq, p.epoch});
      }
    }
    known_ends.push_back(known_.size());
  }
  sub_items_.clear();
  for (std::size_t i = 0; i < patterns_.size(); ++i) {
    const std::string& pattern = patterns_[i];
    sub_item item{pattern};
    if (is_wildcard(pattern)) {
      item.pattern_since = true;
      item.since_has_ts = record.resume_ts_ms > 0;  // (0: never delivered to, from the start)
      item.since_ts = static_cast<uint64_t>(record.resume_ts_ms);
      item.max_tags = cfg_.max_recovery_tags;
      const std::size_t begin = i == 0 ? 0 : known_ends[i - 1];
      item.known = std::span(known_).subspan(begin, known_ends[i] - begin);
    } else {
      const auto at = std::find_if(
          record.positions.begin(), record.positions.end(),
          [&](const mqtt::stored_position& p) { return p.tag == pattern; });
      if (at != record.positions.end()) {
        item.has_since = true;
        item.since_seq = at->seq;
        item.since_epoch = at->epoch;
      }
    }
    sub_items_.push_back(item);
  }
  if (sub_items_.empty()) {
    return;
  }
  // Answered through on_subscribed (resume_request): its replay, then live messages.
  router_.subscribe(subscriber_of(c), resume_request, sub_items_, cfg_.max_outbound_bytes);
}

void mqtt_handler::snapshot_session(conn& c, uint32_t& expiry_s, std::string& out) {
  mqtt_conn& mc = *c.mqtt;
  expiry_s = mc.session->params().session_expiry;
  if (!mc.keeps_session || expiry_s == 0) {
    return;
  }
  // Messages in flight or queued were not acknowledged: their tags resume before them.
  std::vector<mqtt::message_position> unacked;
  auto add = [&](const mqtt_outgoing& o) {
    if (!o.retained) {
      unacked.push_back({o.m->tag(), {}, o.m->seq(), o.m->ts_ms()});
    }
  };
  mc.window->for_each_in_flight([&](uint16_t, const mqtt_outgoing& o) { add(o); });
  mc.window->for_each_pending(add);
  mqtt::encode_session_record(mc.session->snapshot(unacked, unix_ms()), out);
}

void mqtt_handler::note_delivered(conn& c, const message& m) {
  if (c.mqtt->keeps_session) {
    metrics_.mqtt_positions_forgotten.add(
        c.mqtt->session->delivered({m.tag(), {}, m.seq(), m.ts_ms()}));
  }
}

}  // namespace wsa

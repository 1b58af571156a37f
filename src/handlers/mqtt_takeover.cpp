// Session takeover (MQTT 3.1.1 section 3.1.4 step 2, 5.0 [MQTT-3.1.4-3]): when a client
// connects with the session key (token subject and client identifier) of a connection that
// is still open, the older connection is closed (5.0: DISCONNECT 0x8E "session taken over"),
// on whichever shard of the node it is. Each key has an owner shard (the router's hash): the
// connection's shard tells it of each new connection (claim) and of its end (release), and
// the owner closes the connection it had for the key, by a take_over record when that one
// is on another shard. Across nodes: not yet (docs/mqtt.md). Also the dispatch of MQTT's
// records (mqtt_records.h).
#include "handlers/mqtt.h"

#include <type_traits>

#include "obs/log.h"
#include "router/owner.h"

namespace wsa {

void mqtt_handler::on_record(unsigned from, uint32_t type, std::string_view bytes) {
  bool ok = false;
  switch (type) {
    case mqtt_records::retain::type: {
      mqtt_records::retain r;
      if ((ok = read_record(bytes, r))) {
        apply_retained(r, /*origin=*/false);
      }
      break;
    }
    case mqtt_records::retain_reset::type: {
      mqtt_records::retain_reset r;
      if ((ok = read_record(bytes, r))) {
        reset_retained();
      }
      break;
    }
    case mqtt_records::claim::type: {
      mqtt_records::claim r;
      if ((ok = read_record(bytes, r))) {
        on_claim(from, r);
      }
      break;
    }
    case mqtt_records::release::type: {
      mqtt_records::release r;
      if ((ok = read_record(bytes, r))) {
        on_release(from, r);
      }
      break;
    }
    case mqtt_records::take_over::type: {
      mqtt_records::take_over r;
      if ((ok = read_record(bytes, r))) {
        on_take_over(r);
      }
      break;
    }
    case mqtt_records::resume::type: {
      mqtt_records::resume r;
      if ((ok = read_record(bytes, r))) {
        on_resume(r);
      }
      break;
    }
    default:
      break;
  }
  if (!ok) {
    // Every record comes from this process's own shards: one that does not parse is a bug.
    WSA_LOG(error, "malformed MQTT record between shards dropped")
        .kv("type", type)
        .kv("from", from);
  }
}

template <class Record>
void mqtt_handler::run_or_post(unsigned shard, const Record& r) {
  if (shard != shard_) {
    post_record(mail_, shard, r);
  } else if constexpr (std::is_same_v<Record, mqtt_records::claim>) {
    on_claim(shard_, r);
  } else if constexpr (std::is_same_v<Record, mqtt_records::release>) {
    on_release(shard_, r);
  } else if constexpr (std::is_same_v<Record, mqtt_records::take_over>) {
    on_take_over(r);
  } else {
    static_assert(std::is_same_v<Record, mqtt_records::resume>);
    on_resume(r);
  }
}
template void mqtt_handler::run_or_post(unsigned, const mqtt_records::take_over&);
template void mqtt_handler::run_or_post(unsigned, const mqtt_records::resume&);

template <class Record>
void mqtt_handler::to_session_owner(conn& c, Record r) {
  r.conn = {c.slot, c.generation};
  r.key = c.mqtt->session->session_key();
  run_or_post(owner_of(r.key, shards_), r);
}

void mqtt_handler::claim_session(conn& c) {
  const mqtt::session_params& p = c.mqtt->session->params();
  mqtt_records::claim r;
  r.flags = static_cast<uint8_t>((p.clean_start ? mqtt_records::claim::clean_start : 0) |
                                 (p.session_expiry > 0 ? mqtt_records::claim::keep : 0));
  to_session_owner(c, r);
}

void mqtt_handler::release_session(conn& c) {
  std::string session;
  mqtt_records::release r;
  snapshot_session(c, r.expiry_s, session);
  r.session = session;
  r.token = c.mqtt->session_token;
  to_session_owner(c, r);
}

void mqtt_handler::on_claim(unsigned from, const mqtt_records::claim& r) {
  const auto [it, added] = holders_.try_emplace(std::string(r.key));
  const session_place old = it->second.place;
  // The new holder first: closing the old one here releases it (on_release), which must
  // then find the new one and keep it (and `it` must not be used after the close).
  it->second = {{from, r.conn.slot, r.conn.generation}, {}};
  if (!added) {
    run_or_post(old.shard, mqtt_records::take_over{{old.slot, old.generation}});
  }
  answer_claim(r.key, {from, r.conn.slot, r.conn.generation}, r.flags);
}

void mqtt_handler::on_release(unsigned from, const mqtt_records::release& r) {
  const auto it = holders_.find(r.key);
  const session_place who{from, r.conn.slot, r.conn.generation};
  std::string token(r.token);
  // Only the connection held: a taken-over one ends after its successor claimed the key.
  if (it != holders_.end() && it->second.place == who) {
    if (token.empty()) {
      token = std::move(it->second.token);  // (ended before its resume came)
    }
    holders_.erase(it);
  }
  if (store_ == nullptr) {
    keep_session(r.key, who, r.expiry_s, r.session);
    return;
  }
  // A claim still waiting for the store: its answer is not wanted any more.
  for (auto claim = store_claims_.begin(); claim != store_claims_.end(); ++claim) {
    if (claim->who == who) {
      store_->forget(claim->ticket);
      if (token.empty()) {
        token = claim->token;
      }
      store_claims_.erase(claim);
      break;
    }
  }
  if (!token.empty()) {
    store_->detach(r.key, token, r.session, r.expiry_s);
  }
}

void mqtt_handler::on_take_over(const mqtt_records::take_over& t) {
  conn* c = host_.find(t.conn.slot, t.conn.generation);
  if (c == nullptr || !c->open_as(conn_protocol::mqtt)) {
    return;  // ended meanwhile
  }
  metrics_.mqtt_takeovers.add();
  close(*c, mqtt::reason::session_taken_over);
}

}  // namespace wsa

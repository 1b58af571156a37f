// The Redis broker's MQTT session store: see redis_sessions.h.
#include "broker/redis_sessions.h"

#include <algorithm>
#include <utility>

#include "broker/redis_broker.h"
#include "redis/resp_reader.h"
#include "redis/resp_writer.h"
#include "util/check.h"
#include "util/clock.h"
#include "util/hex.h"

namespace wsa {

const std::string_view redis_session_script = R"lua(
local k = KEYS[1]
local op = ARGV[1]
if op == 'claim' then
  local old = redis.call('HGET', k, 'h')
  local rec = false
  if ARGV[3] == '1' then
    redis.call('HDEL', k, 'r')
  else
    rec = redis.call('HGET', k, 'r')
  end
  redis.call('HDEL', k, 'w', 'f')
  redis.call('HSET', k, 'h', ARGV[2])
  local wait = 0
  if old and old ~= ARGV[2] and ARGV[3] == '0' then
    redis.call('HSET', k, 'w', ARGV[2], 'f', old)
    wait = 1
  end
  redis.call('PEXPIRE', k, ARGV[5])
  return {old or '', rec or '', wait}
elseif op == 'take' then
  if redis.call('HGET', k, 'w') == ARGV[2] then
    redis.call('HDEL', k, 'w', 'f')
  end
  return {redis.call('HGET', k, 'r') or ''}
elseif op == 'detach' then
  if redis.call('HGET', k, 'h') == ARGV[2] then
    if ARGV[5] == '0' then
      redis.call('DEL', k)
      return {0, '', k}
    end
    if ARGV[4] == '1' then
      redis.call('HSET', k, 'r', ARGV[3])
    end
    redis.call('HDEL', k, 'h')
    redis.call('PEXPIRE', k, ARGV[5])
    return {1, '', k}
  end
  if redis.call('HGET', k, 'f') == ARGV[2] then
    if ARGV[5] == '0' then
      redis.call('HDEL', k, 'r')
    elseif ARGV[4] == '1' then
      redis.call('HSET', k, 'r', ARGV[3])
    end
    redis.call('HDEL', k, 'f')
    if redis.call('PTTL', k) < 0 then
      redis.call('PEXPIRE', k, ARGV[6])
    end
    return {2, redis.call('HGET', k, 'w') or '', k}
  end
  return {0, '', k}
elseif op == 'refresh' then
  if redis.call('HGET', k, 'h') == ARGV[2] then
    redis.call('PEXPIRE', k, ARGV[3])
    return {1, ARGV[2]}
  end
  return {0, ARGV[2]}
end
return redis.error_reply('unknown op')
)lua";

namespace {

// While held: the longest expiry a session may have (limits::max_session_expiry, 7 days).
constexpr uint64_t default_held_ttl_ms = uint64_t{7} * 24 * 3600 * 1000;
// Renewals sent per poll at most (the rest wait for the next turns): a node whose sessions
// all came at once does not stall a turn renewing them.
constexpr std::size_t refreshes_per_poll = 256;
// A renewal that could not be sent (no link) is tried again this soon.
constexpr int64_t refresh_retry_ms = 1000;
// Renewals per TTL: a renewal sent but lost (an error answer, a link dropped with it in
// flight: a failover) is not retried, so one more must still come before the record expires.
constexpr uint64_t renewals_per_ttl = 3;

std::string_view control_instance(std::string_view token) {
  return token.substr(0, token.find('/'));
}

}  // namespace

redis_session_store::redis_session_store(redis_broker& broker, uint64_t seed,
                                         uint64_t held_ttl_ms)
    : broker_(broker),
      held_ttl_ms_(held_ttl_ms == 0 ? default_held_ttl_ms : held_ttl_ms),
      held_ttl_text_(std::to_string(held_ttl_ms_)) {
  append_hex(instance_, seed);
  channel_.assign(redis_control_prefix).append(instance_).append("}");
}

redis_session_store::pending_claim* redis_session_store::find(uint64_t ticket) {
  const auto it = std::find_if(claims_.begin(), claims_.end(),
                               [&](const pending_claim& c) { return c.ticket == ticket; });
  return it == claims_.end() ? nullptr : &*it;
}

void redis_session_store::erase(uint64_t ticket) {
  std::erase_if(claims_, [&](const pending_claim& c) { return c.ticket == ticket; });
}

bool redis_session_store::run(op o, uint64_t ticket, std::string_view key,
                              std::initializer_list<std::string_view> args) {
  key_scratch_.assign(redis_session_prefix).append(key).append("}");
  std::string* out = broker_.begin_session_command(key_scratch_);
  if (out == nullptr) {
    return false;
  }
  resp_array(*out, 4 + args.size());
  resp_bulk(*out, "EVALSHA");
  resp_bulk(*out, broker_.session_sha_);
  resp_bulk(*out, "1");
  resp_bulk(*out, key_scratch_);
  for (std::string_view a : args) {
    resp_bulk(*out, a);
  }
  broker_.commit_command({redis_broker::session_cmd, o, ticket});
  return true;
}

std::string redis_session_store::claim(std::string_view key, bool clean, bool keep,
                                       uint64_t ticket) {
  if (!channel_wanted_) {
    // From the first holder on, takeover requests may come for it.
    channel_wanted_ = true;
    broker_.subscribe_control(channel_);
  }
  std::string token = instance_ + "/";
  append_hex(token, ++next_token_);
  pending_claim& c = claims_.emplace_back();
  c.ticket = ticket;
  c.key.assign(key);
  c.token = token;
  c.clean = clean;
  c.keep = keep;
  // Until the control channel is confirmed, a takeover request for this holder would be
  // missed (its claimant would wait out the handoff bound and the connection stay open):
  // Redis learns of the holder only once it can be told. (Sent at once when the confirmation
  // cannot come soon: Redis Cluster, whose SSUBSCRIBE's is not followed, or a link down.)
  c.held = !channel_confirmed_ && !broker_.cluster_ && broker_.subscriber_.up() &&
           broker_.commands_ready();
  // Its record's TTL is renewed until its detach (a live connection outlives any TTL).
  hold(token, key, monotonic_ms() + static_cast<int64_t>(held_ttl_ms_ / renewals_per_ttl));
  if (!c.held) {
    send_claim(c);  // (may erase c)
  }
  return token;
}

void redis_session_store::hold(const std::string& token, std::string_view key, int64_t due_ms) {
  [[maybe_unused]] const bool added =
      held_.try_emplace(token, held_session{std::string(key), due_ms}).second;
  WSA_ASSERT(added);  // a new token each claim: held_due_ gets its one entry
  held_due_.emplace(due_ms, token);
}

void redis_session_store::release(std::string_view token) {
  const auto it = held_.find(token);
  if (it != held_.end()) {
    held_due_.erase({it->second.due_ms, it->first});
    held_.erase(it);
  }
}

void redis_session_store::refresh_due(int64_t now_ms) {
  for (std::size_t sent = 0; sent < refreshes_per_poll && !held_due_.empty() &&
                             held_due_.begin()->first <= now_ms;
       ++sent) {
    // Taken out and put back with its next due time: the token is not copied.
    auto due = held_due_.extract(held_due_.begin());
    const std::string& token = due.value().second;
    held_session& h = held_.find(token)->second;
    const bool ok = run(op_refresh, 0, h.key, {"refresh", token, held_ttl_text_});
    if (!ok) {
      broker_.metrics_.mqtt_session_store_errors.add();
    }
    h.due_ms =
        now_ms + (ok ? static_cast<int64_t>(held_ttl_ms_ / renewals_per_ttl) : refresh_retry_ms);
    due.value().first = h.due_ms;
    held_due_.insert(std::move(due));
  }
}

void redis_session_store::send_claim(pending_claim& c) {
  if (!run(op_claim, c.ticket, c.key,
           {"claim", c.token, c.clean ? "1" : "0", c.keep ? "1" : "0", held_ttl_text_})) {
    failed(c.ticket);  // (erases c)
  }
}

void redis_session_store::on_control_subscribed() {
  if (!std::exchange(channel_confirmed_, true)) {
    send_held();
  }
}

void redis_session_store::send_held() {
  std::vector<uint64_t> held;
  for (pending_claim& c : claims_) {
    if (c.held) {
      held.push_back(c.ticket);
    }
  }
  for (const uint64_t ticket : held) {
    pending_claim* c = find(ticket);
    if (c == nullptr) {
      continue;
    }
    c->held = false;
    send_claim(*c);
  }
}

void redis_session_store::forget(uint64_t ticket) {
  if (pending_claim* c = find(ticket)) {
    if (c->held) {
      erase(ticket);  // never sent: no reply to wait for
    } else {
      c->live = false;  // its replies still come; they are dropped then
    }
  }
}

void redis_session_store::detach(std::string_view key, std::string_view token,
                                 std::string_view record, uint32_t expiry_s) {
  release(token);
  const std::string ttl = std::to_string(uint64_t{expiry_s} * 1000);
  if (!run(op_detach, 0, key,
           {"detach", token, record, record.empty() ? "0" : "1", ttl, held_ttl_text_})) {
    broker_.metrics_.mqtt_session_store_errors.add();
  }
}

void redis_session_store::tell(char kind, std::string_view token, std::string_view key) {
  payload_scratch_.assign(1, kind).append(" ").append(token).append(" ").append(key);
  key_scratch_.assign(redis_control_prefix).append(control_instance(token)).append("}");
  if (!broker_.publish_control(key_scratch_, payload_scratch_)) {
    broker_.metrics_.mqtt_session_store_errors.add();
  }
}

void redis_session_store::answer(pending_claim& c, bool ok, std::string_view record,
                                 bool handed) {
  if (c.live) {
    session_event& e = events_.emplace_back();
    e.ticket = c.ticket;
    e.ok = ok;
    e.present = ok && !record.empty();
    e.record.assign(record);
    e.handed = handed;
    e.timed_out = c.timed_out;
  }
  erase(c.ticket);
}

void redis_session_store::failed(uint64_t ticket) {
  broker_.metrics_.mqtt_session_store_errors.add();
  if (pending_claim* c = find(ticket)) {
    answer(*c, false, {}, false);
  }
}

void redis_session_store::take(pending_claim& c) {
  c.waiting = false;
  if (!run(op_take, c.ticket, c.key, {"take", c.token})) {
    failed(c.ticket);
  }
}

void redis_session_store::on_reply(const link_request& request, resp_view reply) {
  switch (request.aux) {
    case op_claim: {
      pending_claim* c = find(request.token);
      if (!reply.is_array() || reply.size() != 3 || reply[2].type() != resp_type::integer) {
        failed(request.token);
        return;
      }
      const std::string_view old = reply[0].str();
      if (c == nullptr) {
        return;
      }
      if (!old.empty() && old != c->token) {
        tell('t', old, c->key);  // the older holder closes, wherever it is
      }
      if (reply[2].integer() == 1) {
        c->waiting = true;
        c->deadline_ms = monotonic_ms() + handoff_timeout_ms;
        return;
      }
      answer(*c, true, reply[1].str(), false);
      return;
    }
    case op_take: {
      pending_claim* c = find(request.token);
      if (c == nullptr) {
        return;
      }
      if (!reply.is_array() || reply.size() != 1) {
        failed(request.token);
        return;
      }
      answer(*c, true, reply[0].str(), !c->timed_out);
      return;
    }
    case op_detach: {
      if (!reply.is_array() || reply.size() != 3 || reply[0].type() != resp_type::integer) {
        broker_.metrics_.mqtt_session_store_errors.add();
        return;
      }
      const std::string_view waiter = reply[1].str();
      std::string_view key = reply[2].str();
      if (reply[0].integer() == 2 && !waiter.empty() && key.starts_with(redis_session_prefix) &&
          key.ends_with('}')) {
        key = key.substr(redis_session_prefix.size(),
                         key.size() - redis_session_prefix.size() - 1);
        tell('r', waiter, key);  // the waiting claim reads what was just written
      }
      return;
    }
    case op_refresh:
      if (!reply.is_array() || reply.size() != 2 || reply[0].type() != resp_type::integer) {
        broker_.metrics_.mqtt_session_store_errors.add();
      } else if (reply[0].integer() == 1) {
        broker_.metrics_.mqtt_session_refreshes.add();
      } else {
        release(reply[1].str());  // not the holder any more (taken over, or never was)
      }
      return;
    default:
      return;  // op_publish: PUBLISH's count of receivers
  }
}

void redis_session_store::on_failed(const link_request& request) {
  if (request.aux == op_claim || request.aux == op_take) {
    failed(request.token);
  } else {
    broker_.metrics_.mqtt_session_store_errors.add();
  }
}

void redis_session_store::on_control(std::string_view payload) {
  // "<t|r> <token> <key>"; anything else is not ours (ignored).
  if (payload.size() < 4 || payload[1] != ' ') {
    return;
  }
  const std::size_t space = payload.find(' ', 2);
  if (space == std::string_view::npos) {
    return;
  }
  const std::string_view token = payload.substr(2, space - 2);
  const std::string_view key = payload.substr(space + 1);
  if (payload[0] == 't') {
    session_event& e = events_.emplace_back();
    e.what = session_event::kind::take_over;
    e.key.assign(key);
    e.token.assign(token);
    return;
  }
  if (payload[0] == 'r') {
    for (pending_claim& c : claims_) {
      if (c.waiting && c.token == token && c.key == key) {
        take(c);
        return;
      }
    }
  }
}

void redis_session_store::poll(int64_t now_ms) {
  refresh_due(now_ms);
  for (std::size_t i = 0; i < claims_.size(); ++i) {
    pending_claim& c = claims_[i];
    if (c.waiting && now_ms >= c.deadline_ms) {
      c.timed_out = true;
      take(c);  // (may erase: the loop goes by index)
    }
  }
}

}  // namespace wsa

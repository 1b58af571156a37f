// Sharded pub/sub of the cluster client; see cluster_client.h.
//
// A channel is subscribed (SSUBSCRIBE, one channel per command) on the subscriber link of
// the master that the map gives its slot. Redis tells a subscriber when the slot leaves
// that master with an unsolicited "sunsubscribe"; a dropped link loses every channel on it.
// Either way the owner hears on_channel_down, and the channel is subscribed again wherever
// the slot lives then (a MOVED answer to SSUBSCRIBE updates the map on the way).
#include "redis/cluster_client.h"
#include "redis/cluster_map.h"
#include "redis/slot.h"
#include "util/clock.h"

namespace wsa {

void cluster_client::subscribe(std::string_view name) {
  const auto it = channels_.find(name);
  if (it != channels_.end()) {
    it->second.wanted = true;
    try_subscribe(it->first, it->second, monotonic_ms());
    return;
  }
  channel_state c;
  c.slot = key_slot(name);
  const auto [pos, inserted] = channels_.emplace(std::string(name), c);
  (void)inserted;
  try_subscribe(pos->first, pos->second, monotonic_ms());
}

// Never erases (an owner may call this from on_channel_down, while a loop here walks the
// channels): subscribe_pending() removes what is no longer wanted.
void cluster_client::unsubscribe(std::string_view name) {
  const auto it = channels_.find(name);
  if (it == channels_.end()) {
    return;
  }
  channel_state& c = it->second;
  c.wanted = false;
  if (c.token == 0) {  // else the SSUBSCRIBE's answer unsubscribes
    if (c.confirmed) {
      send_sunsubscribe(c.node, name);
    }
    c.confirmed = false;
    c.node = no_node;
  }
  channels_dirty_ = true;
}

bool cluster_client::subscribed(std::string_view name) const {
  const auto it = channels_.find(name);
  return it != channels_.end() && it->second.confirmed && it->second.wanted;
}

bool cluster_client::ping_channel(std::string_view name, const link_request& request) {
  const auto it = channels_.find(name);
  if (it == channels_.end() || !it->second.confirmed) {
    return false;
  }
  link* s = nodes_[it->second.node].subscriber.get();
  if (s == nullptr || !s->up()) {
    return false;
  }
  link_request r = request;
  r.route = route_on_subscriber;
  return s->send(r, {"PING"});
}

void cluster_client::try_subscribe(std::string_view name, channel_state& c, int64_t now_ms) {
  if (c.token != 0 || c.confirmed || !c.wanted) {
    return;
  }
  if (now_ms < c.retry_at_ms) {
    channels_dirty_ = true;  // look again next turn
    return;
  }
  const uint16_t n = slot_node_[c.slot];
  if (n == no_node) {
    return;  // tried again once a topology arrives
  }
  link& s = subscriber_link(n);
  if (!s.up()) {
    return;  // tried again when it is up
  }
  link_request r;
  r.kind = ssubscribe_request;
  r.token = next_token_++;
  s.send(r, {"SSUBSCRIBE", name});
  c.token = r.token;
  c.node = n;
  subscribing_[r.token] = std::string(name);
}

void cluster_client::subscribe_pending(int64_t now_ms) {
  channels_dirty_ = false;
  for (auto it = channels_.begin(); it != channels_.end();) {
    channel_state& c = it->second;
    if (!c.wanted && c.token == 0) {
      it = channels_.erase(it);
      continue;
    }
    try_subscribe(it->first, c, now_ms);
    ++it;
  }
}

void cluster_client::on_ssubscribe_reply(uint16_t n, const link_request& request, resp_view reply) {
  const auto t = subscribing_.find(request.token);
  if (t == subscribing_.end()) {
    return;
  }
  const std::string name = std::move(t->second);
  subscribing_.erase(t);
  const bool ok = reply.is_array() && reply.size() == 3 && reply[0].str() == "ssubscribe";
  const auto it = channels_.find(name);
  if (it == channels_.end() || it->second.token != request.token) {
    // Stale: the channel moved or went meanwhile. Leave this node unless the channel is
    // (being) subscribed here again: one SUNSUBSCRIBE would end both.
    if (ok && (it == channels_.end() || !it->second.wanted || it->second.node != n)) {
      send_sunsubscribe(n, name);
    }
    return;
  }
  channel_state& c = it->second;
  c.token = 0;
  if (!ok) {
    const cluster_redirect r = reply.is_error() ? parse_redirect(reply.str()) : cluster_redirect{};
    if (r.type == cluster_redirect::kind::moved) {
      const uint16_t to = node_at(r.host, r.port, n);
      if (to != no_node) {
        assign_slot(r.slot, to);
      }
    } else {
      note("SSUBSCRIBE " + name + " refused by " + nodes_[n].address.text + ": " +
           std::string(reply.is_error() ? reply.str() : "unexpected reply"));
    }
    refresh();
    c.node = no_node;
    ++c.refusals;
    if (r.type != cluster_redirect::kind::moved || c.refusals > 2) {
      c.retry_at_ms = now_ms_ + options_.resubscribe_delay_ms;
    }
    channels_dirty_ = true;
    if (!c.wanted) {
      channels_.erase(it);
    }
    return;
  }
  if (!c.wanted) {
    send_sunsubscribe(n, name);
    channels_.erase(it);
    return;
  }
  c.confirmed = true;
  c.refusals = 0;
  owner_.on_channel_up(name);
}

// The owner hears it in notify_downs(), once the caller's walk over the channels is over.
void cluster_client::channel_down(std::string_view name, channel_state& c) {
  const bool was_up = c.confirmed && c.wanted;
  c.confirmed = false;
  c.node = no_node;
  c.token = 0;  // an SSUBSCRIBE in flight is stale now
  channels_dirty_ = true;
  if (was_up) {
    downs_.emplace_back(name);
  }
}

void cluster_client::notify_downs() {
  std::vector<std::string> names;
  names.swap(downs_);
  for (const std::string& name : names) {
    owner_.on_channel_down(name);
  }
}

void cluster_client::channels_of_node_down(uint16_t n) {
  for (auto& [name, c] : channels_) {
    if (c.node == n) {
      channel_down(name, c);
    }
  }
  notify_downs();
}

void cluster_client::send_sunsubscribe(uint16_t n, std::string_view name) {
  link* s = nodes_[n].subscriber.get();
  if (s == nullptr || !s->up()) {
    return;  // nothing to leave: the connection is gone
  }
  link_request r;
  r.kind = sunsubscribe_request;
  r.push_shaped = true;
  s->send(r, {"SUNSUBSCRIBE", name});
}

void cluster_client::on_push(link& l, resp_view push) {
  bool subscriber = false;
  const uint16_t n = node_index(l, subscriber);
  const std::string_view kind = push[0].str();
  const std::string_view name = push[1].str();
  const auto it = channels_.find(name);
  if (it == channels_.end() || it->second.node != n || !it->second.confirmed) {
    return;  // not ours, or from where the channel no longer is subscribed
  }
  if (kind == "smessage") {
    owner_.on_shard_message(name, push[2].str());
  } else if (kind == "sunsubscribe") {
    // The slot left this node (or the node lost it to a failover).
    ++stats_.channel_moves;
    channel_down(it->first, it->second);
    notify_downs();
    refresh();
  }
}

}  // namespace wsa

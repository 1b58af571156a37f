// The cluster client's nodes, their links and the slot map; see cluster_client.h.
#include <algorithm>

#include "redis/cluster_client.h"
#include "redis/cluster_map.h"
#include "redis/slot.h"

namespace wsa {

uint16_t cluster_client::node_index(const link& l, bool& subscriber) const {
  for (uint16_t n = 0; n < nodes_.size(); ++n) {
    if (nodes_[n].commands.get() == &l) {
      subscriber = false;
      return n;
    }
    if (nodes_[n].subscriber.get() == &l) {
      subscriber = true;
      return n;
    }
  }
  return no_node;  // cannot happen: only our links call us
}

uint16_t cluster_client::find_or_add_node(const redis_address& address) {
  for (uint16_t n = 0; n < nodes_.size(); ++n) {
    if (same_endpoint(nodes_[n].address, address)) {
      return n;
    }
  }
  if (nodes_.size() >= options_.max_nodes || nodes_.size() >= no_node) {
    note("ignoring node " + address.text + ": already " + std::to_string(nodes_.size()) +
         " nodes known");
    return no_node;
  }
  nodes_.emplace_back();
  nodes_.back().address = address;
  return static_cast<uint16_t>(nodes_.size() - 1);
}

// The node a reply names. An empty host (Redis does not know the endpoint) means the host of
// the node that answered.
uint16_t cluster_client::node_at(std::string_view host, uint16_t port, uint16_t answering) {
  redis_address address;
  if (host.empty() && answering != no_node) {
    const std::string& text = nodes_[answering].address.text;
    std::string_view known_host;
    uint16_t known_port = 0;
    split_host_port(text, known_host, known_port);
    if (known_host.size() >= 2 && known_host.front() == '[') {
      known_host = known_host.substr(1, known_host.size() - 2);
    }
    host = known_host;
  }
  if (!numeric_redis_address(host, port, address)) {
    note("cannot follow node '" + std::string(host) + ":" + std::to_string(port) +
         "': wsagent follows numeric addresses only (announce IPs, or set "
         "cluster-preferred-endpoint-type ip)");
    return no_node;
  }
  return find_or_add_node(address);
}

link& cluster_client::node_link(uint16_t n, bool subscriber) {
  std::unique_ptr<link>& l = subscriber ? nodes_[n].subscriber : nodes_[n].commands;
  if (!l) {
    link_options o = options_.link;
    o.address = nodes_[n].address;
    l = std::make_unique<link>(ring_, static_cast<link_owner&>(*this), std::move(o), subscriber);
    l->start();
  }
  return *l;
}

// Asks a reachable node, in turn, for the slot map; with none reachable, makes sure every
// seed is being tried (links reconnect by themselves, with backoff).
void cluster_client::send_refresh(int64_t now_ms) {
  next_refresh_ms_ = now_ms + options_.refresh_gap_ms;
  const std::size_t count = nodes_.size();
  for (std::size_t i = 0; i < count; ++i) {
    const uint16_t n = static_cast<uint16_t>((refresh_cursor_ + i) % count);
    if (nodes_[n].commands && nodes_[n].commands->up()) {
      link_request r;
      r.kind = slots_request;
      nodes_[n].commands->send(r, {"CLUSTER", "SLOTS"});
      refresh_cursor_ = static_cast<uint16_t>((n + 1) % count);
      refresh_in_flight_ = true;
      refresh_wanted_ = false;
      periodic_refresh_ms_ = now_ms + options_.refresh_interval_ms;
      return;
    }
  }
  for (uint16_t n = 0; n < count; ++n) {
    if (nodes_[n].seed) {
      command_link(n);
    }
  }
}

void cluster_client::apply_topology(uint16_t asked, resp_view reply) {
  std::vector<cluster_slot_range> ranges;
  std::string why;
  if (!parse_cluster_slots(reply, ranges, why)) {
    ++stats_.refresh_errors;
    note("cluster topology from " + nodes_[asked].address.text + " refused: " + why);
    refresh();
    return;
  }
  std::fill(new_slot_node_.begin(), new_slot_node_.end(), no_node);
  for (const cluster_slot_range& r : ranges) {
    const uint16_t n = node_at(r.host, r.port, asked);
    if (n == no_node) {
      continue;
    }
    nodes_[n].id = r.id;
    std::fill(new_slot_node_.begin() + r.first, new_slot_node_.begin() + r.last + 1, n);
  }
  for (uint16_t slot = 0; slot < cluster_slot_count; ++slot) {
    if (new_slot_node_[slot] != slot_node_[slot]) {
      assign_slot(slot, new_slot_node_[slot]);
    }
  }
  ++stats_.refreshes;
  have_map_ = true;
  if (unserved_slots_ != 0) {
    note(std::to_string(unserved_slots_) + " slots have no reachable master");
  }
  // Channels subscribed where their slot no longer lives: leave, and subscribe anew.
  for (auto& [name, c] : channels_) {
    if (c.node != no_node && slot_node_[c.slot] != c.node) {
      if (c.confirmed) {
        send_sunsubscribe(c.node, name);
        ++stats_.channel_moves;
      }
      channel_down(name, c);
    }
  }
  channels_dirty_ = true;
  retire_due_ = true;
  notify_downs();
}

void cluster_client::assign_slot(uint16_t slot, uint16_t n) {
  const uint16_t old = slot_node_[slot];
  if (old == n) {
    return;
  }
  if (old == no_node) {
    --unserved_slots_;
  } else {
    --nodes_[old].slots;
  }
  if (n == no_node) {
    ++unserved_slots_;
  } else {
    ++nodes_[n].slots;
    command_link(n);
  }
  slot_node_[slot] = n;
}

// Links of nodes that serve no slot any more (a failed master, a node removed by
// resharding) close once nothing waits on them; seeds stay, to find the cluster again.
void cluster_client::retire_idle_nodes() {
  retire_due_ = false;
  std::vector<uint32_t> channel_count(nodes_.size(), 0);
  for (const auto& [name, c] : channels_) {
    if (c.node != no_node) {
      ++channel_count[c.node];
    }
  }
  bool flushed = false;
  for (uint16_t n = 0; n < nodes_.size(); ++n) {
    node& x = nodes_[n];
    if (x.slots != 0 || x.seed) {
      continue;
    }
    const bool close_commands = x.commands && x.commands->pending() == 0;
    const bool close_subscriber =
        x.subscriber && channel_count[n] == 0 && x.subscriber->pending() == 0;
    if ((close_commands || close_subscriber) && !flushed) {
      // A link cancels what the kernel holds as it is destroyed; operations prepared this
      // turn but not yet submitted must reach the kernel first.
      ring_.submit_no_wait();
      flushed = true;
    }
    if (close_commands) {
      x.commands.reset();
    }
    if (close_subscriber) {
      x.subscriber.reset();
    }
    if ((x.commands && !close_commands) || (x.subscriber && !close_subscriber)) {
      retire_due_ = true;  // still busy: look again later
    }
  }
}

std::string cluster_client::node_of(uint16_t slot) const {
  const uint16_t n = slot_node_[slot & route_slot_mask];
  return n == no_node ? std::string() : nodes_[n].address.text;
}

std::size_t cluster_client::links_up() const {
  std::size_t up = 0;
  for (const node& n : nodes_) {
    up += (n.commands && n.commands->up() ? 1 : 0) + (n.subscriber && n.subscriber->up() ? 1 : 0);
  }
  return up;
}

void cluster_client::note(std::string_view what) { owner_.on_cluster_note(what); }

// ---- link events ----

void cluster_client::on_link_up(link& l) {
  bool subscriber = false;
  node_index(l, subscriber);
  if (subscriber) {
    channels_dirty_ = true;
    return;
  }
  load_scripts(l);
  if (!have_map_) {
    refresh();
    next_refresh_ms_ = 0;
  }
}

void cluster_client::on_link_down(link& l, std::string_view why) {
  bool subscriber = false;
  const uint16_t n = node_index(l, subscriber);
  note((subscriber ? "subscriber link to " : "link to ") + l.address().text +
       " down: " + std::string(why));
  if (subscriber) {
    channels_of_node_down(n);
  }
  refresh();  // a failover may have moved its slots
}

void cluster_client::on_link_failed(link& l, std::string_view why) {
  note("cannot reach " + l.address().text + ": " + std::string(why));
  refresh();
}

}  // namespace wsa

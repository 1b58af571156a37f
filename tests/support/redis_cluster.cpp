#include "support/redis_cluster.h"

#include <algorithm>
#include <thread>

namespace wsa::test {
namespace {

using clock_type = std::chrono::steady_clock;

// The elements of a "[a,b,...]" reply at the top level (nested arrays kept whole).
std::vector<std::string> top_elements(const std::string& reply) {
  std::vector<std::string> out;
  if (reply.size() < 2 || reply.front() != '[') {
    return out;
  }
  int depth = 0;
  std::string current;
  for (std::size_t i = 1; i + 1 < reply.size(); ++i) {
    const char c = reply[i];
    if (c == '[') {
      ++depth;
    } else if (c == ']') {
      --depth;
    } else if (c == ',' && depth == 0) {
      out.push_back(current);
      current.clear();
      continue;
    }
    current.push_back(c);
  }
  if (!current.empty() || reply != "[]") {
    out.push_back(current);
  }
  return out;
}

}  // namespace

std::string reply_text(const std::string& reply) {
  if (!reply.empty() && (reply[0] == '$' || reply[0] == ':' || reply[0] == '+')) {
    return reply.substr(1);
  }
  return reply;
}

redis_cluster::redis_cluster(std::size_t masters, std::string password)
    : password_(std::move(password)), nodes_(masters), ids_(masters), bus_ports_(masters) {
  const std::size_t per = 16384 / masters;
  for (std::size_t i = 0; i < masters; ++i) {
    const std::size_t first = i * per;
    const std::size_t last = i + 1 == masters ? 16383 : first + per - 1;
    ranges_.emplace_back(static_cast<uint16_t>(first), static_cast<uint16_t>(last));
  }
}

redis_cluster::~redis_cluster() { stop(); }

void redis_cluster::stop() {
  for (auto& n : nodes_) {
    if (n) {
      n->kill();
    }
  }
}

std::string redis_cluster::seeds() const {
  return loopback_list(nodes_);
}

// A node on a free port with its bus on another one (the default, port + 10000, may be
// taken or past 65535). A bus port lost to a race is retried with a fresh one.
testing::AssertionResult redis_cluster::start_node(std::size_t i, clock_type::time_point deadline) {
  std::string why;
  while (clock_type::now() < deadline) {
    redis_process_options o;
    o.password = password_;
    if (!password_.empty()) {
      o.extra_args = {"--masterauth", password_};
    }
    bus_ports_[i] = free_loopback_port();
    o.extra_args.insert(
        o.extra_args.end(),
        {"--cluster-enabled", "yes", "--cluster-port", std::to_string(bus_ports_[i]),
         "--cluster-node-timeout", "2000", "--cluster-require-full-coverage", "yes"});
    nodes_[i] = std::make_unique<redis_process>(std::move(o));
    const auto attempt =
        std::min(deadline - clock_type::now(), clock_type::duration(std::chrono::seconds(5)));
    const testing::AssertionResult started =
        nodes_[i]->start(std::chrono::duration_cast<std::chrono::milliseconds>(attempt));
    if (started) {
      // nodes.conf goes to the node's own directory (the server's --dir).
      ids_[i] = reply_text(nodes_[i]->command({"CLUSTER", "MYID"}));
      return testing::AssertionSuccess();
    }
    why = started.message();
  }
  return testing::AssertionFailure() << "cluster node " << i << " did not start: " << why;
}

testing::AssertionResult redis_cluster::start(std::chrono::milliseconds timeout) {
  const auto deadline = clock_type::now() + timeout;
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    if (auto r = start_node(i, deadline); !r) {
      return r;
    }
  }
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    // A config epoch of its own for each master, as redis-cli --cluster create gives them.
    // Left at 0, they are told apart by collisions over the first seconds: a master that
    // bumps its epoch then while still claiming a slot just given to another outranks that
    // one, which drops the slot and (Redis 7.0) deletes the keys migrated into it.
    std::string r = nodes_[i]->command({"CLUSTER", "SET-CONFIG-EPOCH", std::to_string(i + 1)});
    if (r != "+OK") {
      return testing::AssertionFailure() << "SET-CONFIG-EPOCH on node " << i << ": " << r;
    }
    r = nodes_[i]->command({"CLUSTER", "ADDSLOTSRANGE", std::to_string(ranges_[i].first),
                            std::to_string(ranges_[i].second)});
    if (r != "+OK") {
      return testing::AssertionFailure() << "ADDSLOTSRANGE on node " << i << ": " << r;
    }
  }
  for (std::size_t i = 1; i < nodes_.size(); ++i) {
    const std::string r =
        nodes_[0]->command({"CLUSTER", "MEET", "127.0.0.1", std::to_string(nodes_[i]->port()),
                            std::to_string(bus_ports_[i])});
    if (r != "+OK") {
      return testing::AssertionFailure() << "MEET node " << i << ": " << r;
    }
  }
  return wait_converged(deadline);
}

// Every node says cluster_state:ok and gives every initial range's... current owner the
// same answer as node 0.
testing::AssertionResult redis_cluster::wait_converged(clock_type::time_point deadline) {
  std::string last;
  while (clock_type::now() < deadline) {
    bool ok = true;
    const std::string reference = nodes_[0]->command({"CLUSTER", "SLOTS"});
    for (std::size_t i = 0; i < nodes_.size() && ok; ++i) {
      const std::string info = nodes_[i]->command({"CLUSTER", "INFO"});
      if (info.find("cluster_state:ok") == std::string::npos) {
        ok = false;
        last = "node " + std::to_string(i) + ": " + info;
        break;
      }
      // Same ranges everywhere (the order of entries may differ: compare as sets).
      std::vector<std::string> a = top_elements(reference);
      std::vector<std::string> b = top_elements(nodes_[i]->command({"CLUSTER", "SLOTS"}));
      std::sort(a.begin(), a.end());
      std::sort(b.begin(), b.end());
      if (a != b || a.empty()) {
        ok = false;
        last = "node " + std::to_string(i) + " disagrees on CLUSTER SLOTS";
      }
    }
    if (ok) {
      return testing::AssertionSuccess();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return testing::AssertionFailure() << "cluster did not converge: " << last;
}

int redis_cluster::owner_of(uint16_t slot, std::size_t asked) const {
  // Entries look like [first,last,[$host,port,$id,[...]],...]; the id names the node.
  for (const std::string& entry : top_elements(nodes_[asked]->command({"CLUSTER", "SLOTS"}))) {
    const std::vector<std::string> parts = top_elements(entry);
    if (parts.size() < 3) {
      continue;
    }
    const long first = std::stol(reply_text(parts[0]));
    const long last = std::stol(reply_text(parts[1]));
    if (slot < first || slot > last) {
      continue;
    }
    for (std::size_t i = 0; i < ids_.size(); ++i) {
      if (parts[2].find(ids_[i]) != std::string::npos) {
        return static_cast<int>(i);
      }
    }
  }
  return -1;
}

testing::AssertionResult redis_cluster::begin_migration(uint16_t slot, std::size_t to) {
  const int from = owner_of(slot);
  if (from < 0 || static_cast<std::size_t>(from) == to) {
    return testing::AssertionFailure() << "slot " << slot << " is on node " << from;
  }
  const std::string s = std::to_string(slot);
  std::string r = nodes_[to]->command({"CLUSTER", "SETSLOT", s, "IMPORTING", ids_[from]});
  if (r != "+OK") {
    return testing::AssertionFailure() << "SETSLOT IMPORTING: " << r;
  }
  r = nodes_[from]->command({"CLUSTER", "SETSLOT", s, "MIGRATING", ids_[to]});
  if (r != "+OK") {
    return testing::AssertionFailure() << "SETSLOT MIGRATING: " << r;
  }
  migrating_slot_ = slot;
  migration_from_ = static_cast<std::size_t>(from);
  migration_to_ = to;
  migrated_keys_ = 0;
  return testing::AssertionSuccess();
}

testing::AssertionResult redis_cluster::migrate_keys(uint16_t slot, std::size_t max_keys) {
  if (migrating_slot_ != slot) {
    return testing::AssertionFailure() << "slot " << slot << " is not being migrated";
  }
  const std::string keys = nodes_[migration_from_]->command(
      {"CLUSTER", "GETKEYSINSLOT", std::to_string(slot), std::to_string(max_keys)});
  std::vector<std::string> names = top_elements(keys);
  if (names.empty()) {
    return testing::AssertionSuccess();
  }
  std::vector<std::string> args = {
      "MIGRATE", "127.0.0.1", std::to_string(nodes_[migration_to_]->port()), "", "0", "5000"};
  if (!password_.empty()) {
    args.insert(args.end(), {"AUTH", password_});
  }
  args.emplace_back("KEYS");
  for (const std::string& n : names) {
    args.push_back(reply_text(n));
  }
  std::vector<std::string_view> views(args.begin(), args.end());
  const std::string r = nodes_[migration_from_]->command(views);
  if (r != "+OK" && r != "+NOKEY") {
    return testing::AssertionFailure() << "MIGRATE: " << r;
  }
  if (r == "+OK") {
    migrated_keys_ += names.size();
  }
  return testing::AssertionSuccess();
}

testing::AssertionResult redis_cluster::finish_migration(uint16_t slot) {
  if (migrating_slot_ != slot) {
    return testing::AssertionFailure() << "slot " << slot << " is not being migrated";
  }
  const std::string s = std::to_string(slot);
  const std::string& id = ids_[migration_to_];
  const auto give_slot_to_target = [&](std::size_t node) {
    return nodes_[node]->command({"CLUSTER", "SETSLOT", s, "NODE", id});
  };
  // Target first: from then on it serves the slot without ASKING; then the source, which
  // starts sending MOVED (and "sunsubscribe" to its shard channel subscribers).
  std::vector<std::size_t> order = {migration_to_, migration_from_};
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    if (i != migration_to_ && i != migration_from_) {
      order.push_back(i);
    }
  }
  for (const std::size_t i : order) {
    const std::string r = give_slot_to_target(i);
    if (r != "+OK") {
      return testing::AssertionFailure() << "SETSLOT NODE on node " << i << ": " << r;
    }
  }
  migrating_slot_ = -1;
  const auto deadline = clock_type::now() + std::chrono::seconds(20);
  auto next_nudge = clock_type::now() + std::chrono::seconds(2);
  std::vector<int> owners(nodes_.size());
  while (clock_type::now() < deadline) {
    bool agreed = true;
    for (std::size_t i = 0; i < nodes_.size(); ++i) {
      owners[i] = owner_of(slot, i);
      agreed = agreed && owners[i] == static_cast<int>(migration_to_);
    }
    if (agreed) {
      // A target that lost the slot for a moment has deleted the keys it was given.
      const std::string held = nodes_[migration_to_]->command({"CLUSTER", "COUNTKEYSINSLOT", s});
      if (held.size() < 2 || std::stoul(held.substr(1)) < migrated_keys_) {
        return testing::AssertionFailure() << "slot " << slot << " moved, but node "
                                           << migration_to_ << " holds " << held << " of its "
                                           << migrated_keys_ << " keys migrated";
      }
      return testing::AssertionSuccess();
    }
    // Seen once in CI (-j2): a node kept another owner for 20 s. Gossip settles a slot on
    // the claim with the highest config epoch: make the target's the highest and tell the
    // nodes that disagree again.
    if (clock_type::now() >= next_nudge) {
      next_nudge += std::chrono::seconds(2);
      nodes_[migration_to_]->command({"CLUSTER", "BUMPEPOCH"});
      for (std::size_t i = 0; i < nodes_.size(); ++i) {
        if (owners[i] != static_cast<int>(migration_to_)) {
          give_slot_to_target(i);
        }
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  testing::AssertionResult failed = testing::AssertionFailure();
  failed << "nodes do not agree that slot " << slot << " moved to node " << migration_to_
         << " (owners seen:";
  for (const int owner : owners) {
    failed << ' ' << owner;
  }
  return failed << ')';
}

testing::AssertionResult redis_cluster::move_slot(uint16_t slot, std::size_t to) {
  if (auto r = begin_migration(slot, to); !r) {
    return r;
  }
  if (auto r = migrate_keys(slot); !r) {
    return r;
  }
  return finish_migration(slot);
}

}  // namespace wsa::test

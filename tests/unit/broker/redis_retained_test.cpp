// The Redis broker's retained messages of the cluster against a real redis-server
// (broker/redis_retained.cpp): the node's copy (what its `retained` events build) is the set
// in Redis after a load; changes that come while the set is read are held up to a bound, and
// past it dropped and the set read again (wsagent_mqtt_retained_reloads_total), after which
// the copy is still exactly Redis' set; a read that saw changes dropped is still applied,
// so that changes that never stop cannot keep the copy from ever being loaded.
#include <map>
#include <string>
#include <vector>

#include "broker/redis_scripts.h"
#include "redis_harness.h"

namespace wsa::test {
namespace {

// What a node's copy holds, built from a recorder's events the way the MQTT handler applies
// them (a reset clears; a newer order replaces or clears a tag): tag -> data.
std::map<std::string, std::string> copy_of(const recorded_events& r) {
  std::map<std::string, std::pair<uint64_t, std::string>> copy;
  std::size_t next = 0;
  for (const std::string& line : r.log) {
    if (line == "ret-reset") {
      copy.clear();
    } else if (line.starts_with("ret ")) {
      const recorded_events::live& m = r.retained[next++];
      auto it = copy.find(m.tag);
      if (it != copy.end() && it->second.first >= m.seq) {
        continue;
      }
      if (m.data.empty()) {
        copy.erase(m.tag);
      } else {
        copy[m.tag] = {m.seq, m.data};
      }
    }
  }
  std::map<std::string, std::string> out;
  for (const auto& [tag, v] : copy) {
    out[tag] = v.second;
  }
  return out;
}

// Redis' own set: tag -> data (values are "<order> <ts> <data>", no metadata here).
std::map<std::string, std::string> redis_set(redis_server& redis) {
  // A RESP array of bulk strings, as redis_process::command prints it: "[$a,$b,...]".
  const std::string reply = redis.command({"HGETALL", redis_retained_key});
  std::map<std::string, std::string> out;
  std::vector<std::string> items;
  std::string item;
  for (std::size_t i = 1; i + 1 < reply.size(); ++i) {
    if (reply[i] == ',' && !item.empty()) {
      items.push_back(item.substr(1));
      item.clear();
    } else {
      item += reply[i];
    }
  }
  if (!item.empty()) {
    items.push_back(item.substr(1));
  }
  for (std::size_t i = 0; i + 1 < items.size(); i += 2) {
    const std::string& v = items[i + 1];
    out[items[i]] = v.substr(v.find(' ', v.find(' ') + 1) + 1);
  }
  return out;
}

class redis_retained_test : public redis_broker_harness {
 protected:
  // Node A brings the retained messages (shard 0's broker) and holds at most one byte of
  // changes while it reads the set: any change in that window passes the bound. Node B (`b`)
  // only keeps changes. Returns once A has loaded the set.
  void start_nodes() {
    start_redis();
    redis_broker_options oa = broker_options();
    oa.retained_channel = true;
    oa.retained_hold_max_bytes = 1;
    add_broker(rec_a_, std::move(oa));
    b_ = &add_broker(rec_b_, broker_options());
    ASSERT_TRUE(all_ready());
    ASSERT_TRUE(pump_until([&] { return metrics_.mqtt_retained_loads.get() >= 1 &&
                                        !rec_a_.log.empty(); }));
  }

  // Once changes stopped: A's copy becomes exactly Redis' set (nothing dropped stays
  // missing). Returns that set.
  std::map<std::string, std::string> copy_ends_as_redis_set(const recorder& rec_a) {
    std::map<std::string, std::string> expected;
    int turns = 0;
    EXPECT_TRUE(pump_until(
        [&] {
          if (++turns % 50 != 0) {
            return false;
          }
          expected = redis_set(*redis_);
          return copy_of(rec_a) == expected;
        },
        10000))
        << "the copy differs from Redis' set";
    return expected;
  }

  recorder rec_a_;
  recorder rec_b_;
  redis_broker* b_ = nullptr;
};

TEST_F(redis_retained_test, changes_past_the_hold_bound_are_read_again_with_the_set) {
  ASSERT_NO_FATAL_FAILURE(start_nodes());
  redis_broker& b = *b_;
  const recorder& rec_a = rec_a_;

  // Changes from B on every loop turn while A's subscriber link is cut, again and again, so
  // that A resubscribes and reads the set while changes keep coming.
  // Each change a new tag (or the clear of an earlier one): a change lost from the copy
  // stays missing, never hidden by a later change of its tag.
  uint64_t n = 0;
  auto change = [&] {
    for (int i = 0; i < 4; ++i, ++n) {
      if (n % 5 == 4) {
        b.retain({"r.t" + std::to_string(n - 3), {}, {}, 1 << 20, 1 << 30});
      } else {
        b.retain({"r.t" + std::to_string(n), "{\"n\":" + std::to_string(n) + "}", {},
                  1 << 20, 1 << 30});
      }
    }
  };
  for (int attempt = 0; attempt < 40 && metrics_.mqtt_retained_reloads.get() == 0; ++attempt) {
    const uint64_t loads = metrics_.mqtt_retained_loads.get();
    (void)redis_->command({"CLIENT", "KILL", "TYPE", "pubsub"});
    ASSERT_TRUE(pump_until([&] {
      change();
      return metrics_.mqtt_retained_loads.get() > loads;
    })) << "no new load after the subscriber link was cut";
    pump_until([&] {
      change();
      return false;
    }, 30);
  }
  ASSERT_GE(metrics_.mqtt_retained_reloads.get(), 1u) << "no change came while a set was read";

  // Changes stop: A's copy ends exactly as Redis' set (nothing dropped stays missing).
  const std::map<std::string, std::string> expected = copy_ends_as_redis_set(rec_a);
  EXPECT_FALSE(expected.empty());
  EXPECT_EQ(metrics_.broker_errors.get(), 0u);
}

TEST_F(redis_retained_test, under_changes_that_never_stop_each_set_read_is_applied) {
  // Every read of the set sees changes past the hold bound: it is applied all the same, then
  // read again (it was dropped and read again, forever, while changes kept coming).
  ASSERT_NO_FATAL_FAILURE(start_nodes());
  redis_broker& b = *b_;
  const recorder& rec_a = rec_a_;
  uint64_t n = 0;
  auto change = [&] {
    for (int i = 0; i < 64; ++i, ++n) {
      b.retain({"s.t" + std::to_string(n % 64), "{\"n\":" + std::to_string(n) + "}", {},
                1 << 20, 1 << 30});
    }
  };
  // Changes on every loop turn while A reads the set again (its subscriber link cut), until
  // a read that passed the bound is applied: its set comes (ret-reset) in the same turn as
  // the next read goes out. (Before, such a read was dropped: a set came only from a read
  // that no change had reached, so never while changes kept reaching every read.)
  bool applied_past_bound = false;
  for (int cut = 0; cut < 20 && !applied_past_bound; ++cut) {
    std::size_t seen = rec_a.log.size();
    uint64_t loads = metrics_.mqtt_retained_loads.get();
    (void)redis_->command({"CLIENT", "KILL", "TYPE", "pubsub"});
    pump_until([&] {
      change();
      bool reset = false;
      for (; seen < rec_a.log.size(); ++seen) {
        reset = reset || rec_a.log[seen] == "ret-reset";
      }
      const uint64_t now = metrics_.mqtt_retained_loads.get();
      applied_past_bound = reset && now > loads;
      loads = now;
      return reset;  // this cut's read is settled, one way or the other
    }, 3000);
  }
  EXPECT_TRUE(applied_past_bound) << "no read past the bound applied; reloads: "
                                  << metrics_.mqtt_retained_reloads.get();
  // Changes stop: the copy ends exactly as Redis' set.
  const std::map<std::string, std::string> expected = copy_ends_as_redis_set(rec_a);
  EXPECT_EQ(expected.size(), 64u);
  EXPECT_EQ(metrics_.broker_errors.get(), 0u);
}

TEST_F(redis_retained_test, a_node_loads_the_set_redis_holds) {
  recorder rec_a;
  start_redis();
  // Kept before the node exists (another node's changes), one of them cleared again.
  redis_broker& writer = add_broker(rec_a, broker_options());
  ASSERT_TRUE(all_ready());
  writer.retain({"l.one", "1", {}, 100, 1 << 20});
  writer.retain({"l.two", "2", {}, 100, 1 << 20});
  writer.retain({"l.one", {}, {}, 100, 1 << 20});
  ASSERT_TRUE(pump_until([&] { return redis_set(*redis_).size() == 1; }));
  recorder rec_b;
  redis_broker_options ob = broker_options();
  ob.retained_channel = true;
  add_broker(rec_b, std::move(ob));
  ASSERT_TRUE(pump_until([&] { return !rec_b.log.empty(); }));
  EXPECT_EQ(rec_b.log.front(), "ret-reset");
  EXPECT_EQ(copy_of(rec_b), (std::map<std::string, std::string>{{"l.two", "2"}}));
  EXPECT_EQ(metrics_.mqtt_retained_loads.get(), 1u);
  EXPECT_EQ(metrics_.mqtt_retained_reloads.get(), 0u);
}

}  // namespace
}  // namespace wsa::test

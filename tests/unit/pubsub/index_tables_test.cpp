// Tests of the subscription index's building blocks: the open-addressing id and position
// tables (collisions, wrap-around, backward-shift deletion, growth and shrinking) and the
// inline/heap subscriber list.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <vector>

#include "pubsub/id_table.h"
#include "pubsub/position_table.h"
#include "pubsub/subscriber_list.h"

namespace wsa {
namespace {

// Keys are ids themselves; the hash is chosen by the test to force collisions.
uint32_t find_id(const id_table& table, uint64_t hash, uint32_t id) {
  return table.find(hash, [id](uint32_t candidate) { return candidate == id; });
}

TEST(pubsub_id_table, colliding_and_wrapping_probe_runs) {
  // Half the ids share one hash whose home is the last slot (their run wraps around), the
  // rest are spread; erase in a random order and check every survivor after each step.
  std::vector<std::pair<uint64_t, uint32_t>> entries;
  for (uint32_t id = 0; id < 200; ++id) {
    const uint64_t hash = id % 2 == 0 ? ~uint64_t{0} : uint64_t{id} * 0x9e3779b97f4a7c15ULL;
    entries.emplace_back(hash, id);
  }
  id_table table;
  for (const auto& [hash, id] : entries) {
    table.insert(hash, id);
  }
  EXPECT_EQ(table.size(), entries.size());
  std::mt19937 rng(3);
  std::shuffle(entries.begin(), entries.end(), rng);
  for (std::size_t k = 0; k < entries.size(); ++k) {
    table.erase(entries[k].first, entries[k].second);
    EXPECT_EQ(find_id(table, entries[k].first, entries[k].second), id_table::npos);
    for (std::size_t j = k + 1; j < entries.size(); ++j) {
      ASSERT_EQ(find_id(table, entries[j].first, entries[j].second), entries[j].second)
          << "after erasing " << k + 1;
    }
  }
  EXPECT_EQ(table.size(), 0u);
  EXPECT_LE(table.heap_bytes(), 16 * 8u);  // shrank back
}

TEST(pubsub_position_table, random_operations_against_map) {
  position_table table;
  std::map<std::pair<uint32_t, uint32_t>, uint32_t> model;
  std::mt19937 rng(11);
  for (int step = 0; step < 200'000; ++step) {
    const uint32_t list = rng() % 8;
    const uint32_t subscriber = rng() % 3000;
    const auto it = model.find({list, subscriber});
    const uint32_t op = rng() % 10;
    if (it == model.end()) {
      ASSERT_EQ(table.find(list, subscriber), position_table::npos);
      if (op < 6) {
        table.insert(list, subscriber, static_cast<uint32_t>(step));
        model[{list, subscriber}] = static_cast<uint32_t>(step);
      }
    } else {
      ASSERT_EQ(table.find(list, subscriber), it->second);
      if (op < 3) {
        table.update(list, subscriber, static_cast<uint32_t>(step));
        it->second = static_cast<uint32_t>(step);
      } else if (op < 8) {
        table.erase(list, subscriber);
        model.erase(it);
      }
    }
  }
  EXPECT_EQ(table.size(), model.size());
  for (const auto& [key, position] : model) {
    ASSERT_EQ(table.find(key.first, key.second), position);
  }
  for (const auto& [key, position] : model) {
    table.erase(key.first, key.second);
  }
  EXPECT_EQ(table.size(), 0u);
  EXPECT_LE(table.heap_bytes(), 16 * 12u);
}

TEST(pubsub_subscriber_list, inline_heap_and_back) {
  subscriber_list list;
  EXPECT_TRUE(list.empty());
  EXPECT_EQ(list.heap_bytes(), 0u);
  list.push_back(10);
  list.push_back(11);
  EXPECT_EQ(list.heap_bytes(), 0u);  // two ids fit inline
  for (uint32_t s = 12; s < 100; ++s) {
    list.push_back(s);
  }
  EXPECT_GT(list.heap_bytes(), 0u);
  EXPECT_EQ(list.size(), 90u);
  EXPECT_EQ(list.find(55), 45u);
  EXPECT_EQ(list.find(5), subscriber_list::npos);

  EXPECT_EQ(list.swap_remove(0), 99u);  // the last id fills the hole
  EXPECT_EQ(list[0], 99u);
  EXPECT_EQ(list.swap_remove(list.size() - 1), subscriber_list::npos);  // removed the last
  while (list.size() > 1) {
    list.swap_remove(0);
  }
  EXPECT_EQ(list.heap_bytes(), 0u);  // back inline
  const uint32_t survivor = list[0];

  subscriber_list moved(std::move(list));
  EXPECT_EQ(moved.size(), 1u);
  EXPECT_EQ(moved[0], survivor);
  EXPECT_TRUE(list.empty());  // NOLINT(bugprone-use-after-move): moved-from state is defined

  subscriber_list big;
  for (uint32_t s = 0; s < 50; ++s) {
    big.push_back(s);
  }
  moved = std::move(big);
  EXPECT_EQ(moved.size(), 50u);
  EXPECT_EQ(moved[49], 49u);
  EXPECT_EQ(big.heap_bytes(), 0u);  // NOLINT(bugprone-use-after-move)
}

}  // namespace
}  // namespace wsa

// The receive-buffer bookkeeping: the ring is refilled most recently used first (so the
// buffers in use stay few and warm), its level follows what recent turns took, grows after a
// turn that ran short, stays within [floor, count], and every buffer is accounted for.
#include <gtest/gtest.h>

#include <vector>

#include "buffer_pool.h"

namespace wsa::loadgen {
namespace {

std::vector<uint16_t> refill(buffer_pool& p, uint32_t level) {
  std::vector<uint16_t> put;
  p.refill(level, [&put](uint16_t id) { put.push_back(id); });
  return put;
}

TEST(buffer_pool, starts_at_the_floor_and_accounts_for_every_buffer) {
  buffer_pool p;
  p.init(1024, 64);
  EXPECT_EQ(p.next_level(), 64u);
  std::vector<uint16_t> put = refill(p, 64);
  ASSERT_EQ(put.size(), 64u);
  EXPECT_EQ(put.front(), 0);
  EXPECT_EQ(p.in_ring(), 64u);
  EXPECT_EQ(p.free_count(), 1024u - 64u);
  EXPECT_TRUE(refill(p, 64).empty());  // already at its level
}

TEST(buffer_pool, gives_the_buffers_used_last_first) {
  buffer_pool p;
  p.init(256, 8);
  refill(p, 8);  // ids 0..7 in the ring
  // The kernel used 3, then 5 (in that order); both come back.
  p.give_back(3);
  p.give_back(5);
  std::vector<uint16_t> put = refill(p, 8);
  ASSERT_EQ(put.size(), 2u);
  EXPECT_EQ(put[0], 5);  // used last: warmest
  EXPECT_EQ(put[1], 3);
  // Ids never handed out (8 and up) stay cold while the used ones suffice.
  for (int round = 0; round < 100; ++round) {
    p.give_back(5);
    std::vector<uint16_t> again = refill(p, 8);
    ASSERT_EQ(again.size(), 1u);
    EXPECT_EQ(again[0], 5);
  }
  EXPECT_EQ(p.free_count(), 256u - 8u);
}

TEST(buffer_pool, level_follows_the_busiest_recent_turn_and_decays) {
  buffer_pool p;
  p.init(1024, 16);
  refill(p, p.next_level());
  for (uint16_t id = 0; id < 16; ++id) {
    p.give_back(id);  // one turn took 16 buffers
  }
  uint32_t level = p.next_level();
  EXPECT_EQ(level, 32u);  // twice the turn's need
  refill(p, level);
  // Idle turns: the level decays back towards the floor, never below it.
  uint32_t last = level;
  for (int turn = 0; turn < 2000; ++turn) {
    last = p.next_level();
  }
  EXPECT_EQ(last, 16u);
}

TEST(buffer_pool, a_turn_that_ran_short_doubles_the_level_up_to_the_count) {
  buffer_pool p;
  p.init(512, 64);
  refill(p, p.next_level());
  for (uint16_t id = 0; id < 64; ++id) {
    p.give_back(id);  // the kernel took all 64 and then found none
  }
  p.ran_short();
  uint32_t level = p.next_level();
  EXPECT_GE(level, 128u);
  refill(p, level);
  for (int turn = 0; turn < 10; ++turn) {
    p.ran_short();
    level = p.next_level();
    refill(p, level);
  }
  EXPECT_EQ(level, 512u);
  EXPECT_EQ(p.in_ring(), 512u);
  EXPECT_EQ(p.free_count(), 0u);
}

}  // namespace
}  // namespace wsa::loadgen

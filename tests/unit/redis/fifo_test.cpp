// The Redis link's pending-request ring (redis/fifo.h): order across wrap-around and growth,
// and the ring given back only when empty and grown past what the owner keeps.
#include "redis/fifo.h"

#include <gtest/gtest.h>

namespace wsa {
namespace {

TEST(fifo, keeps_order_across_wrap_and_growth) {
  fifo<int> q;
  int next_in = 0;
  int next_out = 0;
  for (int round = 0; round < 50; ++round) {
    for (int i = 0; i < round + 3; ++i) {
      q.push_back(next_in++);
    }
    for (int i = 0; i < 2; ++i) {
      ASSERT_EQ(q.front(), next_out++);
      q.pop_front();
    }
  }
  while (!q.empty()) {
    ASSERT_EQ(q.front(), next_out++);
    q.pop_front();
  }
  EXPECT_EQ(next_out, next_in);
}

TEST(fifo, a_burst_ring_is_given_back_only_once_empty) {
  fifo<int> q;
  for (int i = 0; i < 100000; ++i) {
    q.push_back(i);
  }
  const std::size_t grown = q.capacity();
  EXPECT_GE(grown, 100000u);
  q.pop_front();
  q.release_if_empty(1024);  // not empty: kept
  EXPECT_EQ(q.capacity(), grown);
  while (!q.empty()) {
    q.pop_front();
  }
  q.release_if_empty(1u << 20);  // empty, but within what the owner keeps
  EXPECT_EQ(q.capacity(), grown);
  q.release_if_empty(1024);
  EXPECT_EQ(q.capacity(), 0u);
  q.push_back(7);  // and it grows again from nothing
  EXPECT_EQ(q.front(), 7);
}

}  // namespace
}  // namespace wsa

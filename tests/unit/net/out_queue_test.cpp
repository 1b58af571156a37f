// A connection's outbound queue: gathering, short sends, dropping for slow consumers, and
// that every frame reference is returned.
#include "net/out_queue.h"

#include <gtest/gtest.h>

#include <string>

namespace wsa {
namespace {

std::string gathered(out_queue& q, unsigned max) {
  iovec iov[256];
  const unsigned n = q.gather(iov, max);
  std::string out;
  for (unsigned i = 0; i < n; ++i) {
    out.append(static_cast<const char*>(iov[i].iov_base), iov[i].iov_len);
  }
  return out;
}

TEST(out_queue, gathers_in_order_and_consumes_whole_and_partial_frames) {
  out_queue q;
  frame* a = frame::make_raw("aaaa");
  frame* b = frame::make_raw("bb");
  frame* c = frame::make_raw("cccccc");
  q.push_adopt(a);
  q.push_adopt(b);
  q.push_adopt(c);
  EXPECT_EQ(q.bytes(), 12u);
  EXPECT_EQ(gathered(q, 2), "aaaabb");
  EXPECT_TRUE(q.in_flight());
  q.consume(5);  // a and one byte of b
  EXPECT_EQ(q.bytes(), 7u);
  EXPECT_FALSE(q.in_flight());
  EXPECT_EQ(gathered(q, 8), "bcccccc");
  q.consume(7);
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.bytes(), 0u);
}

TEST(out_queue, shares_one_frame_among_queues_by_reference) {
  frame* shared = frame::make_raw("hello");
  {
    out_queue q1;
    out_queue q2;
    q1.push(shared);
    q2.push(shared);
    EXPECT_EQ(gathered(q1, 4), "hello");
    q1.consume(5);
    EXPECT_EQ(gathered(q2, 4), "hello");
  }
  // Both queues gave their references back; ours is the last one.
  EXPECT_EQ(shared->bytes(), "hello");
  shared->unref();
}

TEST(out_queue, drop_unsent_keeps_what_the_kernel_has_and_partial_heads) {
  out_queue q;
  for (char ch : std::string("abcdef")) {
    q.push_adopt(frame::make_raw(std::string(10, ch)));
  }
  gathered(q, 2);  // a and b in flight
  EXPECT_EQ(q.drop_unsent(), 40u);
  EXPECT_EQ(q.bytes(), 20u);
  q.consume(15);  // a and half of b
  EXPECT_EQ(q.drop_unsent(), 0u);  // the partly sent b must complete
  EXPECT_EQ(gathered(q, 8), "bbbbb");
  q.consume(5);
  EXPECT_TRUE(q.empty());
}

TEST(out_queue, grows_past_its_first_capacity_and_shrinks_when_empty) {
  out_queue q;
  std::string expected;
  for (int i = 0; i < 1000; ++i) {
    const std::string piece = std::to_string(i) + ",";
    q.push_adopt(frame::make_raw(piece));
    expected += piece;
  }
  std::string sent;
  while (!q.empty()) {
    const std::string chunk = gathered(q, 128);
    const std::size_t n = chunk.size() > 7 ? chunk.size() - 7 : chunk.size();  // short sends
    sent += chunk.substr(0, n);
    q.consume(n);
  }
  EXPECT_EQ(sent, expected);
  EXPECT_EQ(q.heap_bytes(), 0u);  // past kept_capacity: given back at once
}

// One frame is held inline (no array); a second one moves both to a heap array, in order,
// with a partly sent head; empty again, positions go on.
TEST(out_queue, moves_from_its_inline_frame_to_an_array_and_back) {
  out_queue q;
  EXPECT_EQ(q.push_adopt(frame::make_raw("abc")), 0u);
  EXPECT_EQ(gathered(q, 4), "abc");
  q.consume(1);
  const uint64_t second = q.push_adopt(frame::make_raw("de"));
  EXPECT_EQ(second, 1u);
  q.push_adopt(frame::make_raw("f"));
  EXPECT_EQ(gathered(q, 8), "bcdef");
  q.consume(5);
  EXPECT_TRUE(q.empty());
  const uint64_t pong = q.push_adopt(frame::make_raw("p1"));
  EXPECT_EQ(pong, 3u);
  frame* latest = frame::make_raw("pong2");
  EXPECT_TRUE(q.replace_unsent(pong, latest));  // the inline frame is replaceable too
  latest->unref();
  EXPECT_EQ(gathered(q, 8), "pong2");
  q.consume(5);
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.next_position(), 4u);
}

// Emptied, the queue keeps its array for the next burst (no allocation per burst) until
// release_if_empty (the shard's sweep) finds it empty; then it starts over inline.
TEST(out_queue, keeps_its_array_between_bursts_until_released_when_empty) {
  out_queue q;
  EXPECT_EQ(q.heap_bytes(), 0u);
  for (int burst = 0; burst < 3; ++burst) {
    q.push_adopt(frame::make_raw("a"));
    q.push_adopt(frame::make_raw("bc"));
    q.push_adopt(frame::make_raw("d"));
    const std::size_t held = q.heap_bytes();
    EXPECT_GT(held, 0u);
    q.release_if_empty();  // not empty: kept
    EXPECT_EQ(q.heap_bytes(), held);
    EXPECT_EQ(gathered(q, 8), "abcd");
    q.consume(4);
    EXPECT_TRUE(q.empty());
    EXPECT_EQ(q.heap_bytes(), held);
  }
  q.release_if_empty();
  EXPECT_EQ(q.heap_bytes(), 0u);
  const uint64_t position = q.push_adopt(frame::make_raw("e"));
  EXPECT_EQ(position, 9u);
  EXPECT_EQ(q.heap_bytes(), 0u);  // one frame: inline again
  q.push_adopt(frame::make_raw("f"));
  EXPECT_EQ(gathered(q, 8), "ef");
  q.consume(2);
  EXPECT_TRUE(q.empty());
}

TEST(out_queue, replaces_an_unsent_frame_by_its_position) {
  out_queue q;
  q.push_adopt(frame::make_raw("aa"));
  const uint64_t pong = q.push_adopt(frame::make_raw("p1"));
  q.push_adopt(frame::make_raw("cc"));
  frame* latest = frame::make_raw("pong2");
  EXPECT_TRUE(q.replace_unsent(pong, latest));
  latest->unref();
  EXPECT_EQ(q.bytes(), 9u);
  EXPECT_EQ(gathered(q, 8), "aapong2cc");
  q.consume(9);
  EXPECT_TRUE(q.empty());
}

TEST(out_queue, never_replaces_what_the_kernel_has) {
  out_queue q;
  const uint64_t first = q.push_adopt(frame::make_raw("aaaa"));
  const uint64_t second = q.push_adopt(frame::make_raw("bbbb"));
  frame* other = frame::make_raw("xx");
  EXPECT_EQ(gathered(q, 1), "aaaa");
  EXPECT_FALSE(q.replace_unsent(first, other));  // in flight
  q.consume(2);                                   // half of it sent
  EXPECT_FALSE(q.replace_unsent(first, other));  // partly sent, no send in flight
  EXPECT_TRUE(q.replace_unsent(second, other));
  q.consume(2);
  EXPECT_FALSE(q.replace_unsent(first, other));  // gone
  EXPECT_EQ(gathered(q, 8), "xx");
  q.consume(2);
  EXPECT_FALSE(q.replace_unsent(second, other));
  const uint64_t third = q.push_adopt(frame::make_raw("c"));
  EXPECT_EQ(third, second + 1);
  q.clear();
  EXPECT_FALSE(q.replace_unsent(third, other));  // cleared positions are never reused
  EXPECT_EQ(q.push_adopt(frame::make_raw("d")), third + 1);
  other->unref();
}

}  // namespace
}  // namespace wsa

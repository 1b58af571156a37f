// The cross-shard mailbox: FIFO order, wrap-around, overflow when full, and a real
// producer/consumer pair on two threads.
#include "core/mailbox.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace wsa {
namespace {

void write(mailbox& box, uint32_t type, std::string_view payload) {
  char* at = box.begin_record(type, static_cast<uint32_t>(payload.size()));
  std::memcpy(at, payload.data(), payload.size());
  box.end_record();
}

std::vector<std::pair<uint32_t, std::string>> read_all(mailbox& box) {
  std::vector<std::pair<uint32_t, std::string>> out;
  box.consume([&](uint32_t type, std::string_view payload) { out.emplace_back(type, payload); });
  return out;
}

TEST(mailbox, records_are_invisible_until_published_then_in_order) {
  mailbox box(4096);
  write(box, 1, "one");
  write(box, 2, "");
  write(box, 3, "three");
  EXPECT_FALSE(box.readable());
  EXPECT_TRUE(read_all(box).empty());
  EXPECT_TRUE(box.publish());
  EXPECT_TRUE(box.readable());
  const auto got = read_all(box);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0], (std::pair<uint32_t, std::string>{1, "one"}));
  EXPECT_EQ(got[1], (std::pair<uint32_t, std::string>{2, ""}));
  EXPECT_EQ(got[2], (std::pair<uint32_t, std::string>{3, "three"}));
  EXPECT_FALSE(box.readable());
  EXPECT_FALSE(box.publish());  // nothing new
}

TEST(mailbox, wraps_around_the_ring_many_times) {
  mailbox box(4096);
  uint32_t next = 1;
  uint32_t expected = 1;
  for (int round = 0; round < 500; ++round) {
    for (int i = 0; i < 7; ++i) {
      write(box, next, std::string(100 + (next % 37), static_cast<char>('a' + next % 26)));
      ++next;
    }
    box.publish();
    for (const auto& [type, payload] : read_all(box)) {
      ASSERT_EQ(type, expected);
      ASSERT_EQ(payload, std::string(100 + (expected % 37), static_cast<char>('a' + expected % 26)));
      ++expected;
    }
  }
  EXPECT_EQ(expected, next);
}

TEST(mailbox, overflow_keeps_order_and_drains_as_space_frees) {
  mailbox box(4096);
  for (uint32_t i = 1; i <= 200; ++i) {  // ~20 KiB into a 4 KiB ring
    write(box, i, std::string(96, 'x'));
  }
  EXPECT_TRUE(box.has_overflow());
  uint32_t expected = 1;
  for (int turn = 0; turn < 100 && expected <= 200; ++turn) {
    box.publish();
    for (const auto& [type, payload] : read_all(box)) {
      ASSERT_EQ(type, expected++);
    }
  }
  EXPECT_EQ(expected, 201u);
  EXPECT_FALSE(box.has_overflow());
}

TEST(mailbox, counts_the_bytes_waiting_in_overflow) {
  mailbox box(4096);
  EXPECT_EQ(box.overflow_bytes(), 0u);
  for (uint32_t i = 1; i <= 100; ++i) {
    write(box, i, std::string(92, 'x'));  // 8-byte header + 92
  }
  const std::size_t waiting = box.overflow_bytes();
  EXPECT_GT(waiting, 100u * 100 - 4096);
  EXPECT_LE(waiting, 100u * 100);
  EXPECT_EQ(waiting % 100, 0u);
  while (box.has_overflow()) {
    box.publish();
    read_all(box);
  }
  EXPECT_EQ(box.overflow_bytes(), 0u);
  EXPECT_GE(box.max_record_bytes(), 1024u);
}

TEST(mailbox, two_threads_exchange_a_million_records_in_order) {
  mailbox box(1 << 16);
  constexpr uint32_t count = 1000000;
  std::thread producer([&] {
    for (uint32_t i = 1; i <= count; ++i) {
      char* at = box.begin_record(1, sizeof i);
      std::memcpy(at, &i, sizeof i);
      box.end_record();
      if (i % 64 == 0) {
        box.publish();
      }
    }
    while (box.has_overflow()) {
      box.publish();
      std::this_thread::yield();
    }
    box.publish();
  });
  uint32_t expected = 1;
  while (expected <= count) {
    box.consume([&](uint32_t, std::string_view payload) {
      uint32_t value;
      std::memcpy(&value, payload.data(), sizeof value);
      ASSERT_EQ(value, expected);
      ++expected;
    });
  }
  producer.join();
  EXPECT_EQ(expected, count + 1);
}

}  // namespace
}  // namespace wsa

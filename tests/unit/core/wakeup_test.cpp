// The doorbell handshake (core/wakeup.h) with the mailbox it guards, on two real threads:
// the consumer announces sleep, looks at its mailbox and waits on an eventfd (standing in
// for MSG_RING, which carries no data and which ThreadSanitizer cannot see); the producer
// publishes, then rings only if the consumer announced sleep. A lost wake-up would leave
// the consumer waiting with mail in its box: the wait's safety timeout counts it. Run under
// ThreadSanitizer in CI (scripts/test.sh --tsan) this also checks that the mailbox and the
// flag carry the data between the threads without a race.
#include "core/wakeup.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <thread>

#include "core/mailbox.h"

namespace wsa {
namespace {

TEST(wakeup, a_sleeping_consumer_is_always_rung_for_new_mail) {
  mailbox box(1 << 16);
  wakeup_flag flag;
  const int bell = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  ASSERT_GE(bell, 0);
  constexpr uint32_t rounds = 100000;
  std::atomic<uint32_t> consumed{0};
  std::atomic<bool> lost{false};

  std::thread producer([&] {
    for (uint32_t i = 1; i <= rounds && !lost.load(); ++i) {
      // Ping-pong: the next record only once the last one is consumed, so that every
      // round races the consumer's way to sleep.
      while (consumed.load(std::memory_order_acquire) != i - 1 && !lost.load()) {
      }
      char* at = box.begin_record(1, sizeof i);
      std::memcpy(at, &i, sizeof i);
      box.end_record();
      box.publish();
      if (flag.must_ring()) {
        const uint64_t one = 1;
        ASSERT_EQ(::write(bell, &one, sizeof one), static_cast<ssize_t>(sizeof one));
      }
    }
  });

  uint32_t expected = 1;
  uint64_t waits = 0;
  while (expected <= rounds) {
    flag.going_to_sleep();
    if (!box.readable()) {
      ++waits;
      pollfd p{bell, POLLIN, 0};
      if (::poll(&p, 1, 2000) == 0 && box.readable()) {
        lost.store(true);  // mail arrived and nobody rang
        break;
      }
    }
    flag.awake();
    uint64_t rung;
    (void)::read(bell, &rung, sizeof rung);  // clears a ring (EAGAIN when there was none)
    box.consume([&](uint32_t, std::string_view payload) {
      uint32_t value;
      std::memcpy(&value, payload.data(), sizeof value);
      ASSERT_EQ(value, expected);
      ++expected;
    });
    consumed.store(expected - 1, std::memory_order_release);
  }
  producer.join();
  ::close(bell);
  EXPECT_FALSE(lost.load()) << "a consumer slept through mail after " << expected - 1;
  EXPECT_EQ(expected, rounds + 1);
  // Not a requirement, a sanity check that the race was really run: some rounds slept.
  RecordProperty("waits", static_cast<int>(waits));
}

}  // namespace
}  // namespace wsa

// The provided-buffer ring (core/buf_ring.h) on a real io_uring and a real socket pair: the
// kernel fills buffers in ring order, and release_if_quiet gives their pages back only when
// the ring did not go round once since the last call; a released buffer still receives.
// Residency is read with mincore(2), so these assert what the kernel holds, not counters.
#include "core/buf_ring.h"

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "core/ring.h"

namespace wsa {
namespace {

constexpr uint16_t group = 7;
constexpr unsigned count = 8;
constexpr unsigned size = 4096;  // one page per buffer

class buf_ring_test : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    ASSERT_TRUE(ring_.init(64, error)) << error;
    ASSERT_TRUE(buffers_.init(ring_, group, count, size, count, error)) << error;
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds_), 0);
    ring_.recv_multishot(fds_[0], group, 1);
    ring_.submit_no_wait();
  }
  void TearDown() override {
    ::close(fds_[0]);
    ::close(fds_[1]);
  }

  /// Sends `bytes` and returns what the multishot receive delivered (recycling its buffer).
  std::string round_trip(const std::string& bytes) {
    EXPECT_EQ(::write(fds_[1], bytes.data(), bytes.size()),
              static_cast<ssize_t>(bytes.size()));
    std::string got;
    for (int tries = 0; tries < 100 && got.size() < bytes.size(); ++tries) {
      ring_.submit_and_wait(100);
      ring_.drain([&](const completion& c) {
        if (c.user_data == 1 && c.result > 0 && c.has_buffer()) {
          got.append(buffers_.buffer(c.buffer_id()), static_cast<std::size_t>(c.result));
          buffers_.recycle(c.buffer_id());
        }
      });
    }
    return got;
  }

  /// Pages of the buffers that are resident now.
  unsigned resident_pages() {
    std::vector<unsigned char> pages(count * size / 4096);
    EXPECT_EQ(::mincore(buffers_.buffer(0), count * size, pages.data()), 0);
    unsigned n = 0;
    for (unsigned char p : pages) {
      n += p & 1u;
    }
    return n;
  }

  ring ring_;
  buf_ring buffers_;
  int fds_[2] = {-1, -1};
};

TEST_F(buf_ring_test, a_quiet_ring_gives_its_pages_back_and_still_receives) {
  EXPECT_EQ(round_trip("first"), "first");
  EXPECT_EQ(round_trip("second"), "second");
  EXPECT_EQ(resident_pages(), 2u);  // ring order: two buffers, one page each

  EXPECT_TRUE(buffers_.release_if_quiet());  // 2 of 8 filled: quiet
  EXPECT_EQ(resident_pages(), 0u);
  EXPECT_FALSE(buffers_.release_if_quiet());  // nothing filled since: nothing to give back

  EXPECT_EQ(round_trip("after the release"), "after the release");
  EXPECT_EQ(resident_pages(), 1u);
}

// A completion not reaped yet holds a filled buffer (e.g. a receive issued inline when a
// full submission queue was submitted mid-turn): its bytes must survive a release.
TEST_F(buf_ring_test, an_unreaped_completion_keeps_its_bytes) {
  EXPECT_EQ(round_trip("first"), "first");  // something filled since the start: not idle
  const std::string bytes = "waiting in the completion queue";
  ASSERT_EQ(::write(fds_[1], bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
  ring_.submit_and_wait(1000);  // the kernel fills a buffer and posts its completion
  EXPECT_FALSE(buffers_.release_if_quiet());
  std::string got;
  ring_.drain([&](const completion& c) {
    if (c.user_data == 1 && c.result > 0 && c.has_buffer()) {
      got.append(buffers_.buffer(c.buffer_id()), static_cast<std::size_t>(c.result));
      buffers_.recycle(c.buffer_id());
    }
  });
  EXPECT_EQ(got, bytes);
  EXPECT_TRUE(buffers_.release_if_quiet());  // reaped and recycled: now it may
}

TEST_F(buf_ring_test, a_ring_that_went_round_keeps_its_pages) {
  for (unsigned i = 0; i < count; ++i) {
    const std::string message = "message " + std::to_string(i);
    ASSERT_EQ(round_trip(message), message);
  }
  EXPECT_EQ(resident_pages(), count);
  EXPECT_FALSE(buffers_.release_if_quiet());  // busy: every buffer filled since the last call
  EXPECT_EQ(resident_pages(), count);
  // The next quiet interval gives back what the busy one touched.
  EXPECT_TRUE(buffers_.release_if_quiet());
  EXPECT_EQ(resident_pages(), 0u);
}

}  // namespace
}  // namespace wsa

// The ring's two signals for submitting a broker command early (shard::submit_broker_commands),
// on a real io_uring and a real socket pair: the expedite mark lasts until a submit, and
// work_arrived() tells that a receive has data the next submit will complete.
#include "core/ring.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

namespace wsa {
namespace {

class ring_test : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    ASSERT_TRUE(ring_.init(64, error)) << error;
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds_), 0);
  }
  void TearDown() override {
    ::close(fds_[0]);
    ::close(fds_[1]);
  }

  /// The results of the completions tagged `tag` that are ready now.
  std::string reaped(uint64_t tag) {
    std::string results;
    ring_.drain([&](const completion& c) {
      if (c.user_data == tag) {
        results += std::to_string(c.result) + ";";
      }
    });
    return results;
  }

  ring ring_;
  int fds_[2] = {-1, -1};
  char buffer_[64] = {};
};

TEST_F(ring_test, the_expedite_mark_lasts_until_a_submit) {
  EXPECT_FALSE(ring_.expedited());
  ring_.send(fds_[0], "a", 1, 1);
  ring_.expedite();
  EXPECT_TRUE(ring_.expedited());
  ring_.submit_no_wait();
  EXPECT_FALSE(ring_.expedited());

  ring_.expedite();
  ring_.submit_and_wait(100);
  EXPECT_FALSE(ring_.expedited());
  EXPECT_EQ(reaped(1), "1;");
}

TEST_F(ring_test, work_arrived_says_a_receive_waits_for_the_next_submit) {
  ring_.recv(fds_[0], buffer_, sizeof buffer_, 2);
  ring_.submit_no_wait();  // no data yet: the receive waits in the kernel
  EXPECT_FALSE(ring_.work_arrived());
  EXPECT_EQ(reaped(2), "");

  ASSERT_EQ(::write(fds_[1], "hello", 5), 5);
  EXPECT_TRUE(ring_.work_arrived());
  EXPECT_EQ(reaped(2), "");  // not completed until the ring's thread enters the kernel

  ring_.submit_no_wait();
  EXPECT_FALSE(ring_.work_arrived());
  EXPECT_EQ(reaped(2), "5;");
  EXPECT_EQ(std::string(buffer_, 5), "hello");
}

}  // namespace
}  // namespace wsa

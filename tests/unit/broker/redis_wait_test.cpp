// --redis-wait-replicas: WAIT blocks its connection for up to --redis-wait-timeout by
// design. The command link gives WAIT that long on top of its reply timeout, so a long
// WAIT is not taken for a dead Redis (which would drop the link and fail every publish in
// flight, again and again); a Redis that is really gone is still found.
#include <chrono>

#include "redis_harness.h"

namespace wsa::test {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

class redis_wait_test : public redis_broker_harness {
 protected:
  // Replicas this Redis does not have: WAIT answers 0 only at its timeout, which is longer
  // than the link's reply timeout.
  redis_broker_options waiting_options() {
    redis_broker_options o = broker_options();
    o.link.reply_timeout_ms = 1000;
    o.wait_replicas = 1;
    o.wait_timeout_ms = 2500;
    return o;
  }
};

TEST_F(redis_wait_test, a_wait_longer_than_the_reply_timeout_keeps_the_link) {
  start_redis();
  recorder rec;
  redis_broker& b = add_broker(rec, waiting_options());
  ASSERT_TRUE(all_ready());

  const auto start = steady_clock::now();
  b.publish({"w", "{}", 1});
  b.publish({"w", "{}", 2});
  ASSERT_TRUE(pump_until([&] { return rec.acks.size() == 2; }, 10000));
  const auto waited = std::chrono::duration_cast<milliseconds>(steady_clock::now() - start);

  // Answered by WAIT at its own timeout (too few replicas), not cut short after 1 s by a
  // link that gave up on Redis.
  EXPECT_GE(waited.count(), 2400);
  for (const auto& ack : rec.acks) {
    EXPECT_FALSE(ack.ok);
    EXPECT_EQ(ack.error, "unavailable");
  }
  pump_for(400);
  EXPECT_EQ(metrics_.broker_reconnects.get(), 0u);
  EXPECT_TRUE(b.ready());
  // The seqs were assigned: the link that answered them is the same one.
  b.query("w", {}, 3);
  ASSERT_TRUE(pump_until([&] { return rec.answers.count(3) != 0; }));
  EXPECT_TRUE(rec.answers[3].ok);
  EXPECT_EQ(rec.answers[3].top, 2u);
}

TEST_F(redis_wait_test, a_frozen_redis_under_a_wait_is_still_found) {
  start_redis();
  recorder rec;
  redis_broker& b = add_broker(rec, waiting_options());
  ASSERT_TRUE(all_ready());

  // Frozen once Redis has answered the publish: the WAIT behind it is the oldest request.
  b.publish({"w", "{}", 1});
  ASSERT_TRUE(pump_until([&] { return metrics_.broker_latency_count.get() == 1; }));
  redis_->pause();
  // The WAIT gets its 2500 ms plus the reply timeout; then the link drops and the publish
  // fails.
  const bool failed = pump_until([&] { return rec.acks.size() == 1; }, 10000);
  const bool ready_while_frozen = b.ready();
  redis_->resume();
  ASSERT_TRUE(failed);
  EXPECT_FALSE(rec.acks[0].ok);
  EXPECT_FALSE(ready_while_frozen);
  EXPECT_TRUE(pump_until([&] { return metrics_.broker_reconnects.get() == 1; }));
}

}  // namespace
}  // namespace wsa::test

// The MQTT session store on Redis (redis_sessions.cpp), against a real redis-server: held
// sessions' records are renewed at most 256 a poll, so a node whose sessions all fell due at
// once spreads their renewals over its next turns instead of stalling one.
#include <chrono>
#include <string>
#include <thread>

#include "redis_harness.h"

namespace wsa::test {
namespace {

class redis_sessions_test : public redis_broker_harness {
 protected:
  /// Runs loop turns WITHOUT the broker's poll (so no renewal is started) until the
  /// renewals already sent have all been answered: the count stops moving for 200 ms.
  uint64_t answered_renewals() {
    uint64_t last = metrics_.mqtt_session_refreshes.get();
    auto quiet_since = std::chrono::steady_clock::now();
    const auto deadline = quiet_since + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
      ring_.submit_and_wait(5);
      dispatch();
      const uint64_t now = metrics_.mqtt_session_refreshes.get();
      if (now != last) {
        last = now;
        quiet_since = std::chrono::steady_clock::now();
      } else if (std::chrono::steady_clock::now() - quiet_since > std::chrono::milliseconds(200)) {
        break;
      }
    }
    return last;
  }
};

TEST_F(redis_sessions_test, renewals_due_at_once_go_256_a_poll) {
  recorder rec;
  start_redis();
  redis_broker_options o = broker_options();
  o.session_held_ttl_ms = 12000;  // a held record is renewed every 4 s
  o.link.reply_timeout_ms = 5000;
  redis_broker& broker = add_broker(rec, std::move(o));
  ASSERT_TRUE(all_ready());
  session_store& sessions = *broker.sessions();

  constexpr int held = 600;
  for (int i = 0; i < held; ++i) {
    sessions.claim("client-" + std::to_string(i), true, false, uint64_t(1000 + i));
  }
  int claimed = 0;
  ASSERT_TRUE(pump_until([&] {
    sessions.drain([&](session_event& e) {
      claimed += e.what == session_event::kind::claimed && e.ok ? 1 : 0;
    });
    return claimed == held;
  }, 10000));
  EXPECT_EQ(answered_renewals(), 0u);  // none due yet

  // Every held record falls due in the same instant; then one poll at a time.
  std::this_thread::sleep_for(std::chrono::milliseconds(4100));
  broker.poll();
  EXPECT_EQ(answered_renewals(), 256u);
  broker.poll();
  EXPECT_EQ(answered_renewals(), 512u);
  broker.poll();
  EXPECT_EQ(answered_renewals(), uint64_t(held));
  broker.poll();  // the renewed ones are due again only in 4 s
  EXPECT_EQ(answered_renewals(), uint64_t(held));
  EXPECT_EQ(metrics_.mqtt_session_store_errors.get(), 0u);
}

}  // namespace
}  // namespace wsa::test

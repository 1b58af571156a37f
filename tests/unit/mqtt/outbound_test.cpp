// The QoS 1 outbound window: identifiers are free exactly when their slot is, the window
// and the queue are bounded, acknowledgements in any order, redelivery order on resume, and
// a smaller window on a new connection.
#include "mqtt/outbound.h"

#include <gtest/gtest.h>

#include <random>
#include <set>
#include <string>
#include <vector>

namespace wsa::mqtt {
namespace {

struct msg {
  int n = 0;
};

using window = outbound_window<msg>;

TEST(mqtt_outbound, window_then_queue_then_full) {
  window w(3, 2);
  uint16_t id = 0;
  std::set<uint16_t> ids;
  for (int n = 1; n <= 3; ++n) {
    ASSERT_EQ(w.offer(msg{n}, id), window::offer_result::send);
    EXPECT_TRUE(ids.insert(id).second);
    EXPECT_GE(id, 1);
    EXPECT_LE(id, 3);
  }
  EXPECT_EQ(w.offer(msg{4}, id), window::offer_result::queued);
  EXPECT_EQ(w.offer(msg{5}, id), window::offer_result::queued);
  EXPECT_EQ(w.offer(msg{6}, id), window::offer_result::full);
  EXPECT_EQ(w.in_flight(), 3u);
  EXPECT_EQ(w.pending(), 2u);
  // Nothing is promoted while the window is full.
  EXPECT_EQ(w.promote(id), nullptr);
  msg acked;
  ASSERT_TRUE(w.acknowledge(2, acked));
  EXPECT_EQ(acked.n, 2);
  EXPECT_FALSE(w.acknowledge(2, acked)) << "twice";
  EXPECT_FALSE(w.acknowledge(0, acked));
  EXPECT_FALSE(w.acknowledge(9, acked));
  const msg* next = w.promote(id);
  ASSERT_NE(next, nullptr);
  EXPECT_EQ(next->n, 4);
  EXPECT_EQ(id, 2) << "the identifier freed by the PUBACK";
  EXPECT_EQ(w.promote(id), nullptr);
  // While messages wait, a new one queues behind them (order is kept).
  ASSERT_TRUE(w.acknowledge(1, acked));
  EXPECT_EQ(w.offer(msg{6}, id), window::offer_result::queued);
  next = w.promote(id);
  ASSERT_NE(next, nullptr);
  EXPECT_EQ(next->n, 5);
}

TEST(mqtt_outbound, resend_order_is_first_send_order) {
  window w(4, 10);
  uint16_t id = 0;
  for (int n = 1; n <= 4; ++n) {
    w.offer(msg{n}, id);
  }
  msg acked;
  w.acknowledge(1, acked);
  w.acknowledge(3, acked);
  w.offer(msg{5}, id);  // reuses a freed identifier, but was sent last
  std::vector<std::pair<uint16_t, int>> order;
  w.for_each_in_flight([&](uint16_t pid, const msg& m) { order.emplace_back(pid, m.n); });
  ASSERT_EQ(order.size(), 3u);
  EXPECT_EQ(order[0].second, 2);
  EXPECT_EQ(order[1].second, 4);
  EXPECT_EQ(order[2].second, 5);
  EXPECT_EQ(order[0].first, 2);
  EXPECT_EQ(order[1].first, 4);
}

TEST(mqtt_outbound, smaller_window_on_resume) {
  window w(4, 10);
  uint16_t id = 0;
  for (int n = 1; n <= 6; ++n) {
    w.offer(msg{n}, id);
  }
  w.resize(2);  // the new connection's client allows 2
  EXPECT_EQ(w.in_flight(), 2u);
  EXPECT_EQ(w.pending(), 4u);
  std::vector<int> in_flight;
  w.for_each_in_flight([&](uint16_t pid, const msg& m) {
    in_flight.push_back(m.n);
    EXPECT_LE(pid, 4);
  });
  EXPECT_EQ(in_flight, (std::vector<int>{1, 2}));
  std::vector<int> pending;
  w.for_each_pending([&](const msg& m) { pending.push_back(m.n); });
  EXPECT_EQ(pending, (std::vector<int>{3, 4, 5, 6}));
  // Identifiers above the new window are not handed out again.
  msg acked;
  ASSERT_TRUE(w.acknowledge(1, acked));
  const msg* next = w.promote(id);
  ASSERT_NE(next, nullptr);
  EXPECT_EQ(next->n, 3);
  EXPECT_LE(id, 2);
  // Growing again makes them available.
  w.resize(8);
  int sent = 0;
  while (w.promote(id) != nullptr) {
    EXPECT_LE(id, 8);
    ++sent;
  }
  EXPECT_EQ(sent, 3);
  EXPECT_EQ(w.in_flight(), 5u);
}

TEST(mqtt_outbound, random_acks_never_duplicate_identifiers) {
  std::mt19937 rng(3);
  window w(16, 1000);
  std::set<uint16_t> live;
  uint16_t id = 0;
  int next = 0;
  for (int step = 0; step < 20000; ++step) {
    if (rng() % 2 == 0) {
      const auto r = w.offer(msg{next++}, id);
      if (r == window::offer_result::send) {
        EXPECT_TRUE(live.insert(id).second) << id;
      }
    } else if (!live.empty()) {
      auto it = live.begin();
      std::advance(it, rng() % live.size());
      msg acked;
      ASSERT_TRUE(w.acknowledge(*it, acked));
      live.erase(it);
      while (w.promote(id) != nullptr) {
        EXPECT_TRUE(live.insert(id).second) << id;
      }
    }
    ASSERT_LE(w.in_flight(), 16u);
    ASSERT_EQ(w.in_flight(), live.size());
    for (const uint16_t pid : live) {
      ASSERT_LE(pid, 16);
    }
  }
}

}  // namespace
}  // namespace wsa::mqtt

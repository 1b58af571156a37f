// Driving Redis brokers in a test the way a shard does: a real io_uring ring on the test
// thread, completions of kind io_op::link dispatched to the brokers, poll() once per turn;
// and a recorder per broker that takes its results (broker_events) in order after each
// turn. Test thread only.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "broker/redis_broker.h"
#include "core/op.h"
#include "core/ring.h"
#include "events_recorder.h"
#include "redis_fixture.h"

namespace wsa::test {

/// One broker's results, as a shard's router would take them: its event queue, drained
/// into plain values after every loop turn of the harness.
struct recorder : recorded_events {
  broker_events events;
};

class redis_broker_harness : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    ASSERT_TRUE(ring_.init(256, error)) << error;
  }

  /// Starts Redis with these options (call once, first thing in a test).
  void start_redis(redis_process_options o = {}) {
    redis_ = std::make_unique<redis_server>(std::move(o));
    ASSERT_TRUE(redis_->start()) << "redis-server did not start";
  }

  redis_broker_options broker_options(std::string password = {}) {
    redis_broker_options o;
    std::string error;
    EXPECT_TRUE(resolve_redis_address("127.0.0.1", redis_->port(), o.link.address, error))
        << error;
    o.link.password = std::move(password);
    o.link.auth = !o.link.password.empty();
    // Fast enough for tests, slow enough not to spin.
    o.link.backoff_min_ms = 20;
    o.link.backoff_max_ms = 200;
    o.link.reply_timeout_ms = 1000;
    o.link.connect_timeout_ms = 1000;
    o.history_size = 100;
    return o;
  }

  /// A broker as a shard would own it, on this test's ring (several may share it, as
  /// several nodes would share Redis).
  redis_broker& add_broker(recorder& results, redis_broker_options o) {
    brokers_.push_back(
        std::make_unique<redis_broker>(results.events, ring_, std::move(o), metrics_));
    recorders_.push_back(&results);
    return *brokers_.back();
  }

  /// Two nodes sharing one Redis, each a broker with its own recorder.
  struct two_nodes {
    redis_broker& a;
    redis_broker& b;
  };

  /// Starts Redis and adds two brokers, each with broker_options() changed by `adjust` (if
  /// given); readiness is left to the test (ASSERT_TRUE(all_ready())).
  two_nodes start_two_nodes(recorder& rec_a, recorder& rec_b,
                            const std::function<void(redis_broker_options&)>& adjust = {}) {
    start_redis();
    redis_broker_options oa = broker_options();
    redis_broker_options ob = broker_options();
    if (adjust) {
      adjust(oa);
      adjust(ob);
    }
    redis_broker& a = add_broker(rec_a, std::move(oa));
    redis_broker& b = add_broker(rec_b, std::move(ob));
    return {a, b};
  }

  /// Runs loop turns until `done()` or `timeout_ms`; true if done.
  bool pump_until(const std::function<bool()>& done, int64_t timeout_ms = 5000) {
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (true) {
      for (auto& b : brokers_) {
        b->poll();
      }
      take_results();
      if (done()) {
        return true;
      }
      if (std::chrono::steady_clock::now() >= deadline) {
        return false;
      }
      ring_.submit_and_wait(5);
      dispatch();
    }
  }

  void dispatch() {
    ring_.drain([this](const completion& c) {
      if (decode_op(c.user_data).kind == io_op::link) {
        for (auto& b : brokers_) {
          b->on_completion(c);
        }
      }
    });
    take_results();
  }

  /// Moves every broker's queued results into its recorder (the "broker results" phase).
  void take_results() {
    for (recorder* r : recorders_) {
      r->take(r->events);
    }
  }

  /// One loop turn that does not wait: poll, submit, dispatch what has completed.
  void turn() {
    for (auto& b : brokers_) {
      b->poll();
    }
    take_results();
    ring_.submit_no_wait();
    dispatch();
  }

  /// Runs loop turns for about `ms` (for "nothing else happens" checks).
  void pump_for(int64_t ms) {
    pump_until([] { return false; }, ms);
  }

  bool all_ready() {
    return pump_until([this] {
      for (auto& b : brokers_) {
        if (!b->ready()) {
          return false;
        }
      }
      return true;
    });
  }

  void TearDown() override {
    brokers_.clear();  // before the ring: their sockets' operations are cancelled first
  }

  ring ring_;
  shard_metrics metrics_;
  std::unique_ptr<redis_server> redis_;
  std::vector<std::unique_ptr<redis_broker>> brokers_;
  std::vector<recorder*> recorders_;
};

}  // namespace wsa::test

// Driving Redis brokers in a test the way a shard does: a real io_uring ring on the test
// thread, completions of kind io_op::link dispatched to the brokers, poll() once per turn;
// and a broker_listener that records every call in order. Test thread only.
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
#include "redis_fixture.h"

namespace wsa::test {

struct recorder final : broker_listener {
  struct ack {
    uint64_t ticket;
    bool ok;
    uint64_t seq;
    std::string error;
  };
  struct message {
    std::string tag;
    uint64_t seq;
    std::string frame;  // the whole WebSocket frame
    std::string pattern;  // for on_pattern_message
  };
  struct answer {
    bool ok;
    uint64_t top;
    std::string epoch;
    bool gap;
    std::vector<uint64_t> seqs;
    std::vector<std::string> frames;
  };
  // One line per call, in order: "msg <tag> <seq>" or "ans <ticket> <top>".
  std::vector<std::string> log;
  std::vector<ack> acks;
  std::vector<message> messages;
  std::vector<message> pattern_messages;
  std::map<uint64_t, answer> answers;
  // on_stream_gap calls, with how many messages (exact, pattern) had come before each.
  struct gap {
    std::string key;
    std::size_t after_messages;
    std::size_t after_pattern_messages;
  };
  std::vector<gap> gaps;

  void on_published(uint64_t ticket, bool ok, uint64_t seq, const char* error) override {
    acks.push_back({ticket, ok, seq, error != nullptr ? error : ""});
  }
  void on_tag_message(std::string_view tag, uint64_t seq, frame* msg) override {
    messages.push_back({std::string(tag), seq, std::string(msg->bytes()), {}});
    log.push_back("msg " + std::string(tag) + " " + std::to_string(seq));
  }
  void on_pattern_message(std::string_view pattern, std::string_view tag, uint64_t seq,
                          frame* msg) override {
    pattern_messages.push_back(
        {std::string(tag), seq, std::string(msg->bytes()), std::string(pattern)});
  }
  void on_stream_gap(std::string_view key) override {
    gaps.push_back({std::string(key), messages.size(), pattern_messages.size()});
  }
  void on_queried(uint64_t ticket, bool ok, const tag_position& p,
                  std::span<const history_entry> missed) override {
    answer a{ok, p.top, std::string(p.epoch), p.gap, {}, {}};
    for (const history_entry& e : missed) {
      a.seqs.push_back(e.seq);
      a.frames.emplace_back(e.msg->bytes());
    }
    answers[ticket] = std::move(a);
    log.push_back("ans " + std::to_string(ticket) + " " + std::to_string(p.top));
  }

  std::vector<uint64_t> seqs_of(std::string_view tag) const {
    std::vector<uint64_t> out;
    for (const message& m : messages) {
      if (m.tag == tag) {
        out.push_back(m.seq);
      }
    }
    return out;
  }
};

/// The JSON of a frame (its payload), for frames under 126 bytes of payload or more.
inline std::string payload_of(const std::string& frame) {
  const auto len = static_cast<unsigned char>(frame[1]);
  return frame.substr(len < 126 ? 2 : len == 126 ? 4 : 10);
}

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
  redis_broker& add_broker(recorder& listener, redis_broker_options o) {
    brokers_.push_back(std::make_unique<redis_broker>(listener, ring_, std::move(o), metrics_));
    return *brokers_.back();
  }

  /// Runs loop turns until `done()` or `timeout_ms`; true if done.
  bool pump_until(const std::function<bool()>& done, int64_t timeout_ms = 5000) {
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (true) {
      for (auto& b : brokers_) {
        b->poll();
      }
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
  }

  /// One loop turn that does not wait: poll, submit, dispatch what has completed.
  void turn() {
    for (auto& b : brokers_) {
      b->poll();
    }
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
};

}  // namespace wsa::test

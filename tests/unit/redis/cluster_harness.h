// Driving a cluster_client in a test the way a shard does: a real io_uring ring on the test
// thread, completions of kind io_op::link handed to the client, poll() once per turn; and a
// cluster_owner that records every call. Test thread only.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/op.h"
#include "core/ring.h"
#include "redis/cluster_client.h"
#include "redis/slot.h"
#include "support/redis_cluster.h"

namespace wsa::test {

struct cluster_recorder final : cluster_owner {
  struct message {
    std::string channel;
    std::string payload;
  };
  std::map<uint64_t, std::string> replies;  // token -> reply as text
  std::vector<uint64_t> reply_order;        // tokens, in the order replies came
  std::vector<uint64_t> failed;
  std::vector<message> messages;
  std::vector<std::string> events;  // "up CH" / "down CH" in order
  std::vector<std::string> notes;

  void on_cluster_reply(const link_request& request, resp_view reply) override {
    replies[request.token] = text(reply);
    reply_order.push_back(request.token);
  }
  void on_cluster_failed(const link_request& request) override { failed.push_back(request.token); }
  void on_shard_message(std::string_view channel, std::string_view payload) override {
    messages.push_back({std::string(channel), std::string(payload)});
  }
  void on_channel_up(std::string_view channel) override {
    events.push_back("up " + std::string(channel));
  }
  void on_channel_down(std::string_view channel) override {
    events.push_back("down " + std::string(channel));
  }
  void on_cluster_note(std::string_view what) override { notes.emplace_back(what); }

  std::size_t count(const std::string& event) const {
    return static_cast<std::size_t>(std::count(events.begin(), events.end(), event));
  }
  std::vector<std::string> payloads(std::string_view channel) const {
    std::vector<std::string> out;
    for (const message& m : messages) {
      if (m.channel == channel) {
        out.push_back(m.payload);
      }
    }
    return out;
  }

  static std::string text(resp_view v) {
    switch (v.type()) {
      case resp_type::string:
      case resp_type::status:
        return std::string(v.str());
      case resp_type::error:
        return "-" + std::string(v.str());
      case resp_type::integer:
        return std::to_string(v.integer());
      case resp_type::nil:
        return "nil";
      case resp_type::array: {
        std::string out = "[";
        for (std::size_t i = 0; i < v.size(); ++i) {
          out += (i ? "," : "") + text(v[i]);
        }
        return out + "]";
      }
    }
    return "?";
  }
};

class cluster_harness : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    ASSERT_TRUE(ring_.init(512, error)) << error;
  }
  void TearDown() override { client_.reset(); }

  cluster_options options_for(redis_cluster& cluster) {
    cluster_options o;
    for (std::size_t i = 0; i < cluster.size(); ++i) {
      redis_address a;
      EXPECT_TRUE(numeric_redis_address("127.0.0.1", cluster.node(i).port(), a));
      o.seeds.push_back(a);
    }
    o.link.backoff_min_ms = 20;
    o.link.backoff_max_ms = 200;
    o.link.reply_timeout_ms = 3000;
    o.link.connect_timeout_ms = 1000;
    return o;
  }

  cluster_client& start_client(cluster_options o) {
    client_ = std::make_unique<cluster_client>(ring_, owner_, std::move(o));
    for (const std::string& lua : scripts_) {
      shas_.push_back(client_->add_script(lua));
    }
    client_->start();
    return *client_;
  }

  /// Runs loop turns until `done()` or `timeout_ms`; true if done.
  bool pump_until(const std::function<bool()>& done, int64_t timeout_ms = 10000) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (true) {
      client_->poll();
      if (done()) {
        return true;
      }
      if (std::chrono::steady_clock::now() >= deadline) {
        return false;
      }
      ring_.submit_and_wait(5);
      ring_.drain([this](const completion& c) {
        if (decode_op(c.user_data).kind == io_op::link) {
          client_->on_completion(c);
        }
      });
    }
  }
  void pump_for(int64_t ms) {
    pump_until([] { return false; }, ms);
  }

  /// Sends a command for `key`'s slot with `token`; false if there was no route.
  bool send(std::string_view key, uint64_t token, std::initializer_list<std::string_view> args) {
    link_request r;
    r.kind = 1;
    r.token = token;
    return client_->send(key_slot(key), r, args);
  }

  bool answered(uint64_t token) const { return owner_.replies.contains(token); }
  std::string notes() const {
    std::string out;
    for (const std::string& n : owner_.notes) {
      out += n + "\n";
    }
    return out;
  }

  ring ring_;
  cluster_recorder owner_;
  std::vector<std::string> scripts_;
  std::vector<std::string> shas_;
  std::unique_ptr<cluster_client> client_;
};

}  // namespace wsa::test

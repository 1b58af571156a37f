// Following the master through real sentinels (tests/support/redis_sentinel.h): the master
// named and written to, a failover followed when the master is killed, a replica refused by
// the ROLE check, an unreachable sentinel passed over, an unknown master name reported, a
// failover ordered while the old master lives (heard through +switch-master only).
#include "redis/sentinel.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <functional>
#include <map>
#include <memory>

#include "core/op.h"
#include "core/ring.h"
#include "redis/link.h"
#include "support/redis_sentinel.h"
#include "util/clock.h"

namespace wsa::test {
namespace {

// The owner of a sentinel_watch and of one master link, as a broker would be.
struct master_user final : sentinel_owner, link_owner {
  sentinel_watch* watch = nullptr;
  std::vector<std::string> masters;  // on_master, in order
  std::vector<std::string> notes;
  std::vector<std::string> failures;  // the master link's failed attempts and drops
  std::map<uint64_t, std::string> replies;
  int ups = 0;

  void on_master(const redis_address& master) override { masters.push_back(master.text); }
  void on_sentinel_note(std::string_view what) override { notes.emplace_back(what); }
  void on_link_up(link&) override { ++ups; }
  void on_link_down(link&, std::string_view why) override {
    failures.emplace_back(why);
    if (watch != nullptr) {
      watch->recheck();
    }
  }
  void on_link_failed(link&, std::string_view why) override {
    failures.emplace_back(why);
    if (watch != nullptr) {
      watch->recheck();
    }
  }
  void on_reply(link&, const link_request& request, resp_view reply, std::string_view) override {
    replies[request.token] =
        reply.is_error() ? "-" + std::string(reply.str()) : std::string(reply.str());
  }
  void on_failed(link&, const link_request& request) override {
    replies[request.token] = "(failed)";
  }
  void on_push(link&, resp_view) override {}

  std::string all_notes() const {
    std::string out;
    for (const std::string& n : notes) {
      out += n + "\n";
    }
    for (const std::string& f : failures) {
      out += "master link: " + f + "\n";
    }
    return out;
  }
};

class sentinel_test : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    ASSERT_TRUE(ring_.init(256, error)) << error;
  }
  void TearDown() override {
    master_.reset();
    watch_.reset();
  }

  static link_options fast_link() {
    link_options o;
    o.backoff_min_ms = 20;
    o.backoff_max_ms = 200;
    o.connect_timeout_ms = 1000;
    o.reply_timeout_ms = 2000;
    return o;
  }

  sentinel_options options_for(const redis_sentinels& s, std::string name) {
    sentinel_options o;
    for (std::size_t i = 0; i < s.sentinel_count(); ++i) {
      redis_address a;
      EXPECT_TRUE(numeric_redis_address("127.0.0.1",
                                        const_cast<redis_sentinels&>(s).sentinel(i).port(), a));
      o.sentinels.push_back(a);
    }
    o.master_name = std::move(name);
    o.link = fast_link();
    o.switch_after_ms = 500;
    return o;
  }

  /// A watch and a master link (ROLE checked) that follows it.
  void start(sentinel_options o, std::string password = {}) {
    watch_ = std::make_unique<sentinel_watch>(ring_, user_, std::move(o));
    user_.watch = watch_.get();
    link_options m = fast_link();
    m.require_master = true;
    m.password = std::move(password);
    m.auth = !m.password.empty();
    master_ = std::make_unique<link>(ring_, user_, m, false);
    watch_->follow(*master_);
    watch_->start();
  }

  bool pump_until(const std::function<bool()>& done, int64_t timeout_ms = 10000) {
    const int64_t deadline = monotonic_ms() + timeout_ms;
    while (true) {
      watch_->poll();
      for (link* l : extra_links_) {
        l->poll(monotonic_ms());
      }
      if (master_) {
        master_->poll(monotonic_ms());
      }
      if (done()) {
        return true;
      }
      if (monotonic_ms() >= deadline) {
        return false;
      }
      ring_.submit_and_wait(5);
      ring_.drain([this](const completion& c) {
        if (decode_op(c.user_data).kind != io_op::link) {
          return;
        }
        const uint32_t id = decode_link_op(c.user_data).link;
        if (master_ && id == master_->id()) {
          master_->on_completion(c);
        }
        for (link* l : extra_links_) {
          if (id == l->id()) {
            l->on_completion(c);
          }
        }
        watch_->on_completion(c);
      });
    }
  }

  std::string set(const std::string& key, const std::string& value, uint64_t token) {
    link_request r;
    r.kind = 1;
    r.token = token;
    if (!master_->send(r, {"SET", key, value})) {
      return "(not up)";
    }
    pump_until([&] { return user_.replies.contains(token); });
    return user_.replies[token];
  }

  static std::string address_of(redis_process& p) {
    return "127.0.0.1:" + std::to_string(p.port());
  }

  ring ring_;
  master_user user_;
  std::unique_ptr<sentinel_watch> watch_;
  std::unique_ptr<link> master_;
  std::vector<link*> extra_links_;
};

// Non-destructive tests share one setup.
class sentinel_shared_test : public sentinel_test {
 protected:
  static void SetUpTestSuite() {
    set_ = new redis_sentinels({.ready_for_failover = false});  // nothing fails over
    const testing::AssertionResult r = set_->start();
    started_ = r;
    message_ = r.message();
  }
  static void TearDownTestSuite() {
    delete set_;
    set_ = nullptr;
  }
  void SetUp() override {
    sentinel_test::SetUp();
    ASSERT_TRUE(started_) << message_;
  }
  static redis_sentinels* set_;
  static bool started_;
  static std::string message_;
};
redis_sentinels* sentinel_shared_test::set_ = nullptr;
bool sentinel_shared_test::started_ = false;
std::string sentinel_shared_test::message_;

TEST_F(sentinel_shared_test, finds_the_master_and_writes_there) {
  start(options_for(*set_, redis_sentinels::master_name));
  ASSERT_TRUE(pump_until([&] { return master_->up(); })) << user_.all_notes();
  EXPECT_EQ(user_.masters, std::vector<std::string>{address_of(set_->server(0))});
  EXPECT_EQ(set("sentinel:k", "v", 1), "OK");
  EXPECT_EQ(set_->server(0).command({"GET", "sentinel:k"}), "$v");
  EXPECT_EQ(watch_->switches(), 0u);
}

TEST_F(sentinel_shared_test, a_replica_is_refused_by_the_role_check) {
  start(options_for(*set_, redis_sentinels::master_name));
  link_options o = fast_link();
  o.require_master = true;
  ASSERT_TRUE(numeric_redis_address("127.0.0.1", set_->server(1).port(), o.address));
  link replica(ring_, user_, o, false);
  extra_links_.push_back(&replica);
  replica.start();
  const auto refused = [&] {
    for (const std::string& f : user_.failures) {
      if (f.find("not a master (ROLE: slave)") != std::string::npos) {
        return true;
      }
    }
    return false;
  };
  ASSERT_TRUE(pump_until(refused)) << user_.all_notes();
  EXPECT_FALSE(replica.up());
  extra_links_.clear();
}

TEST_F(sentinel_shared_test, passes_over_an_unreachable_sentinel) {
  sentinel_options o = options_for(*set_, redis_sentinels::master_name);
  redis_address dead;
  ASSERT_TRUE(numeric_redis_address("127.0.0.1", free_loopback_port(), dead));
  o.sentinels.insert(o.sentinels.begin(), dead);
  start(std::move(o));
  ASSERT_TRUE(pump_until([&] { return master_->up(); })) << user_.all_notes();
  EXPECT_EQ(user_.masters, std::vector<std::string>{address_of(set_->server(0))});
}

TEST_F(sentinel_shared_test, reports_an_unknown_master_name) {
  start(options_for(*set_, "nosuchmaster"));
  const auto reported = [&] {
    for (const std::string& n : user_.notes) {
      if (n.find("does not know master 'nosuchmaster'") != std::string::npos) {
        return true;
      }
    }
    return false;
  };
  ASSERT_TRUE(pump_until(reported)) << user_.all_notes();
  EXPECT_FALSE(watch_->known());
  EXPECT_FALSE(master_->up());
}

TEST(parse_switch_master, reads_the_new_address) {
  std::string_view name, host, port;
  ASSERT_TRUE(parse_switch_master("wsamaster 127.0.0.1 6379 127.0.0.1 6380", name, host, port));
  EXPECT_EQ(name, "wsamaster");
  EXPECT_EQ(host, "127.0.0.1");
  EXPECT_EQ(port, "6380");
  EXPECT_FALSE(parse_switch_master("wsamaster 127.0.0.1 6379 127.0.0.1", name, host, port));
  EXPECT_FALSE(parse_switch_master("a b c d e f", name, host, port));
  EXPECT_FALSE(parse_switch_master("", name, host, port));
}

// The master is killed: the sentinels promote the replica, the watch hears +switch-master
// (or asks again when the master link fails), and the link writes to the new master.
TEST_F(sentinel_test, follows_a_failover_when_the_master_dies) {
  redis_sentinels sentinels({.password = "s3cret"});
  ASSERT_TRUE(sentinels.start());
  start(options_for(sentinels, redis_sentinels::master_name), "s3cret");
  ASSERT_TRUE(pump_until([&] { return master_->up(); })) << user_.all_notes();
  EXPECT_EQ(set("failover:before", "1", 1), "OK");

  const int64_t killed_ms = monotonic_ms();
  sentinels.server(0).kill();
  ASSERT_TRUE(pump_until([&] { return watch_->switches() == 1 && master_->up(); }, 60000))
      << user_.all_notes();
  std::printf("master link up on the new master %lld ms after the kill\n",
              static_cast<long long>(monotonic_ms() - killed_ms));
  EXPECT_EQ(watch_->master().text, address_of(sentinels.server(1)));
  EXPECT_EQ(user_.masters, (std::vector<std::string>{address_of(sentinels.server(0)),
                                                     address_of(sentinels.server(1))}));
  EXPECT_EQ(set("failover:after", "2", 2), "OK");
  EXPECT_EQ(sentinels.server(1).command({"GET", "failover:after"}), "$2");
  // Written before the failover, replicated before it: still there.
  EXPECT_EQ(sentinels.server(1).command({"GET", "failover:before"}), "$1");
}

// A failover ordered while the old master lives on (SENTINEL FAILOVER, as in maintenance):
// nothing fails on the master link, so only +switch-master can tell; the link leaves the
// demoted server (which would answer READONLY) and writes to the promoted one.
TEST_F(sentinel_test, follows_switch_master_when_the_old_master_is_demoted) {
  redis_sentinels sentinels;
  ASSERT_TRUE(sentinels.start());
  sentinel_options o = options_for(sentinels, redis_sentinels::master_name);
  o.recheck_interval_ms = 600000;  // no periodic question: the push alone must do it
  start(std::move(o));
  ASSERT_TRUE(pump_until([&] { return master_->up(); })) << user_.all_notes();
  ASSERT_EQ(set("demoted:before", "1", 1), "OK");

  ASSERT_EQ(sentinels.sentinel(1).command({"SENTINEL", "FAILOVER", redis_sentinels::master_name}),
            "+OK");
  ASSERT_TRUE(pump_until([&] { return watch_->switches() == 1 && master_->up(); }, 60000))
      << user_.all_notes();
  EXPECT_EQ(watch_->master().text, address_of(sentinels.server(1)));
  bool heard_push = false;
  for (const std::string& n : user_.notes) {
    heard_push = heard_push || n.find("+switch-master from") != std::string::npos;
  }
  EXPECT_TRUE(heard_push) << user_.all_notes();
  EXPECT_EQ(set("demoted:after", "2", 2), "OK");
  EXPECT_EQ(sentinels.server(1).command({"GET", "demoted:after"}), "$2");
}

}  // namespace
}  // namespace wsa::test

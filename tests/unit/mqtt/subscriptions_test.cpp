// A session's subscriptions: patterns acquired and released by reference, replacement of a
// filter's options, the bound, refusals, and delivery plans (one delivery however many
// subscriptions match, highest QoS, all subscription identifiers, No Local).
#include "mqtt/subscriptions.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace wsa::mqtt {
namespace {

using add_result = subscription_set::add_result;
using strings = std::vector<std::string>;

TEST(mqtt_subscriptions, patterns_are_reference_counted) {
  subscription_set s(10);
  strings added;
  EXPECT_EQ(s.add("a/#", {.qos = 1}, added), add_result::added);
  EXPECT_EQ(added, (strings{"a", "a.>"}));
  added.clear();
  EXPECT_EQ(s.add("a", {.qos = 0}, added), add_result::added);
  EXPECT_TRUE(added.empty()) << "`a` is already subscribed for a/#";
  EXPECT_EQ(s.patterns(), (strings{"a", "a.>"}));
  strings dropped;
  EXPECT_TRUE(s.remove("a/#", dropped));
  EXPECT_EQ(dropped, (strings{"a.>"}));
  dropped.clear();
  EXPECT_FALSE(s.remove("a/#", dropped));
  EXPECT_FALSE(s.remove("b", dropped));
  EXPECT_TRUE(s.remove("a", dropped));
  EXPECT_EQ(dropped, (strings{"a"}));
  EXPECT_EQ(s.size(), 0u);
  EXPECT_TRUE(s.patterns().empty());
}

TEST(mqtt_subscriptions, replace_refuse_and_bound) {
  subscription_set s(2);
  strings added;
  EXPECT_EQ(s.add("x/+", {.qos = 2}, added), add_result::added);
  ASSERT_NE(s.find("x/+"), nullptr);
  EXPECT_EQ(s.find("x/+")->options.qos, 1) << "granted at most QoS 1";
  added.clear();
  EXPECT_EQ(s.add("x/+", {.qos = 0, .no_local = true}, added), add_result::replaced);
  EXPECT_TRUE(added.empty());
  EXPECT_EQ(s.find("x/+")->options.qos, 0);
  EXPECT_TRUE(s.find("x/+")->options.no_local);
  EXPECT_EQ(s.add("a//b", {}, added), add_result::invalid);
  EXPECT_EQ(s.add("$SYS/#", {}, added), add_result::invalid);
  EXPECT_EQ(s.add("$share/g/a", {}, added), add_result::shared);
  EXPECT_EQ(s.add("y", {}, added), add_result::added);
  EXPECT_EQ(s.add("z", {}, added), add_result::full);
  EXPECT_EQ(s.add("y", {.qos = 1}, added), add_result::replaced) << "replacing is not adding";
  EXPECT_EQ(suback_reason(add_result::added, {.qos = 1}), reason::granted_qos1);
  EXPECT_EQ(suback_reason(add_result::replaced, {.qos = 0}), reason::success);
  EXPECT_EQ(suback_reason(add_result::invalid, {}), reason::topic_filter_invalid);
  EXPECT_EQ(suback_reason(add_result::shared, {}), reason::shared_subscriptions_not_supported);
  EXPECT_EQ(suback_reason(add_result::full, {}), reason::quota_exceeded);
}

TEST(mqtt_subscriptions, delivery_plans) {
  subscription_set s(10);
  strings added;
  s.add("room/+/temp", {.qos = 0, .subscription_id = 5}, added);
  s.add("room/#", {.qos = 1, .retain_as_published = true, .subscription_id = 9}, added);
  s.add("mine/#", {.qos = 1, .no_local = true}, added);
  delivery_plan p;
  ASSERT_TRUE(s.plan("room.1.temp", false, p));
  EXPECT_EQ(p.qos, 1);
  EXPECT_TRUE(p.retain_as_published);
  EXPECT_EQ(p.subscription_ids, (std::vector<uint32_t>{5, 9}));
  ASSERT_TRUE(s.plan("room", false, p)) << "# matches the parent";
  EXPECT_EQ(p.subscription_ids, (std::vector<uint32_t>{9}));
  ASSERT_TRUE(s.plan("room.1.hum", false, p));
  EXPECT_EQ(p.subscription_ids, (std::vector<uint32_t>{9}));
  EXPECT_FALSE(s.plan("other", false, p));
  EXPECT_TRUE(s.plan("mine.x", false, p));
  EXPECT_FALSE(s.plan("mine.x", true, p)) << "No Local: not the client's own messages";
  EXPECT_TRUE(s.plan("room.1.temp", true, p)) << "No Local is per subscription";
}

}  // namespace
}  // namespace wsa::mqtt

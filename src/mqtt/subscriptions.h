// A session's subscriptions: MQTT topic filters with their options, the tag patterns they
// stand for (reference-counted, since two filters may need the same pattern), and what a
// message on a tag becomes for this session. A session gets each message once however many
// of its subscriptions match it (as a WebSocket connection does; MQTT 5.0 section 4.7.2
// allows it), with the highest QoS among them and all their subscription identifiers.
// Bounded by limits::max_subscriptions. Not thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mqtt/reason.h"
#include "mqtt/topic.h"

namespace wsa::mqtt {

/// Granted QoS is at most 1 (docs/protocol.md, "MQTT mapping").
inline constexpr uint8_t max_granted_qos = 1;

struct subscription_options {
  uint8_t qos = 0;  ///< granted
  bool no_local = false;
  bool retain_as_published = false;
  uint8_t retain_handling = 0;
  uint32_t subscription_id = 0;  ///< 0: none

  bool operator==(const subscription_options&) const = default;
};

struct subscription {
  std::string filter;
  subscription_options options;
  filter_patterns patterns;
  bool exact = false;  ///< no wildcard: the pattern is the tag itself (plan compares bytes)
};

/// What one message becomes for a session.
struct delivery_plan {
  uint8_t qos = 0;
  bool retain_as_published = false;        ///< some matching subscription keeps the retain flag
  std::vector<uint32_t> subscription_ids;  ///< capacity reused between calls
};

class subscription_set {
 public:
  explicit subscription_set(uint32_t maximum) : maximum_(maximum) {}

  enum class add_result : uint8_t { added, replaced, invalid, shared, full };

  /// Adds or replaces the subscription to `filter` (MQTT 5.0 [MQTT-3.8.4-3]: a second
  /// SUBSCRIBE to the same filter replaces its options). Patterns needed for the first time
  /// are appended to `new_patterns` (the caller subscribes the broker to them).
  add_result add(std::string_view filter, const subscription_options& options,
                 std::vector<std::string>& new_patterns);

  /// Removes the subscription to `filter` (by its exact text); false when there is none.
  /// Patterns no longer needed are appended to `dropped_patterns`.
  bool remove(std::string_view filter, std::vector<std::string>& dropped_patterns);

  /// Whether a message on `tag` reaches this session and how. `from_this_client`: the
  /// message was published by this session's client (No Local excludes it).
  bool plan(std::string_view tag, bool from_this_client, delivery_plan& out) const;

  const subscription* find(std::string_view filter) const;
  /// Whether a subscription without wildcards is to `tag` (a scan of at most
  /// max_subscriptions, comparing lengths first).
  bool has_exact(std::string_view tag) const {
    for (const subscription& s : subs_) {
      if (s.exact && s.patterns.first == tag) {
        return true;
      }
    }
    return false;
  }
  const std::vector<subscription>& all() const { return subs_; }
  std::size_t size() const { return subs_.size(); }
  /// Every pattern needed, once each.
  std::vector<std::string> patterns() const;

 private:
  void acquire(const std::string& pattern, std::vector<std::string>& new_patterns);
  void release(const std::string& pattern, std::vector<std::string>& dropped_patterns);

  uint32_t maximum_;
  std::vector<subscription> subs_;
  std::vector<std::pair<std::string, uint32_t>> pattern_refs_;  // few: a linear scan
};

/// The SUBACK reason code for an add_result and the options granted.
reason suback_reason(subscription_set::add_result r, const subscription_options& granted);

}  // namespace wsa::mqtt

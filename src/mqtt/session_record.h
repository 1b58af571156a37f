// The persistent part of an MQTT session (MQTT 5.0 section 4.1): what a reconnecting client
// resumes, on this node or another (the store, Redis in a cluster, is the wiring's). It
// holds the subscriptions and, per tag delivered (exact or through a wildcard), the last
// seq the client acknowledged (with its epoch), so that a resumed session replays each
// tag's history from there; a wildcard's tags beyond the position bound, and tags not seen
// yet, are replayed by publish time from resume_ts (protocol 1.1's pattern `since`).
// Also the QoS 2 receptions between PUBLISH and PUBREL and the reception counter (see
// inbound.h). Encoded compactly: a version byte, LEB128 integers, length-prefixed strings.
#pragma once

#include <algorithm>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "mqtt/position.h"
#include "mqtt/reason.h"
#include "mqtt/subscriptions.h"
#include "pubsub/string_map.h"

namespace wsa::mqtt {

struct stored_subscription {
  std::string filter;
  subscription_options options;

  bool operator==(const stored_subscription&) const = default;
};

struct stored_position {
  std::string tag;
  std::string epoch;
  uint64_t seq = 0;

  bool operator==(const stored_position&) const = default;
};

struct session_record {
  protocol level = protocol::v311;
  uint32_t expiry_interval = 0;  ///< seconds after ended_at_ms
  int64_t ended_at_ms = 0;       ///< wall clock when the last connection ended; 0: connected
  int64_t resume_ts_ms = 0;      ///< replay tags without a position from this publish time
  uint64_t next_reception = 1;
  std::vector<std::pair<uint16_t, uint64_t>> qos2_held;
  std::vector<stored_subscription> subscriptions;
  std::vector<stored_position> positions;

  bool operator==(const session_record&) const = default;
};

/// Appends the record's encoding to `out`.
void encode_session_record(const session_record& r, std::string& out);

/// Decodes a record; false for anything that is not a valid encoding (bad version, counts
/// or lengths past their bounds, filters that map to no pattern, trailing bytes).
bool decode_session_record(std::string_view bytes, session_record& r);

/// True when a disconnected session's expiry interval has passed at `now_ms` (wall clock).
bool session_expired(const session_record& r, int64_t now_ms);

/// Margin by which resume_ts reaches back before the newest acknowledged publish time:
/// messages published just before it may still have been on their way when the connection
/// ended. Replaying them again is harmless (QoS 1 is at least once); missing them is not.
inline constexpr int64_t resume_margin_ms = 2000;

/// Per tag delivered (through any subscription, exact or wildcard), the newest position
/// delivered (QoS 0) or acknowledged (QoS 1), at most `maximum` tags besides the pinned
/// ones (tags of exact subscriptions, never forgotten: an exact tag resumes by seq only).
/// Past it, the older half of the others by publish time is forgotten at once (amortized:
/// no scan per new tag); a forgotten tag resumes by time, from resume_ts, like a tag never
/// seen. Not thread-safe.
class position_tracker {
 public:
  explicit position_tracker(uint32_t maximum) : maximum_(maximum) {}

  /// Returns how many positions were forgotten to make room (wsagent_mqtt_positions_forgotten).
  /// `pinned()` is asked only when the tag is new (a delivery to a known tag is one lookup);
  /// later subscriptions pin and unpin it.
  template <class Pinned>
    requires std::is_invocable_r_v<bool, Pinned>
  uint32_t advance(const message_position& p, Pinned&& pinned) {
    newest_ts_ms_ = std::max(newest_ts_ms_, p.ts_ms);
    const auto it = map_.find(p.tag);
    if (it == map_.end()) {
      return add(p, pinned());
    }
    move(it->second, p);
    return 0;
  }
  uint32_t advance(const message_position& p, bool pinned) {
    if (pinned) {
      pin(p.tag);
    }
    return advance(p, [pinned] { return pinned; });
  }
  /// Marks `tag`'s position (if any) as one of an exact subscription.
  void pin(std::string_view tag);
  /// Its exact subscription went: `tag`'s position stays while `still_matched` (a wildcard
  /// reaches it), forgettable again; else it is dropped. True when dropped.
  bool unpin(std::string_view tag, bool still_matched);
  /// A wildcard subscription took effect at `now_ms` (wall clock): with no position newer,
  /// a resume replays its tags from there (less the margin), not from the start of history.
  void subscribed(int64_t now_ms);

  /// Fills r.positions and r.resume_ts_ms. `unacked`: the positions of messages in flight
  /// or queued, which pull their tag back to before them.
  void snapshot(std::span<const message_position> unacked, session_record& r) const;

  void restore(const session_record& r);
  std::size_t size() const { return map_.size(); }

 private:
  struct entry {
    std::string epoch;
    uint64_t seq = 0;
    int64_t ts_ms = 0;
    bool pinned = false;
  };
  uint32_t add(const message_position& p, bool pinned);
  static void move(entry& e, const message_position& p);  // unless older than e
  static void set(entry& e, const message_position& p);
  uint32_t forget_older_half();

  uint32_t maximum_;
  string_map<entry> map_;
  int64_t newest_ts_ms_ = 0;
  int64_t restored_resume_ts_ms_ = 0;
  int64_t subscribed_ts_ms_ = 0;  // the first wildcard subscription's time; 0: none
};

}  // namespace wsa::mqtt

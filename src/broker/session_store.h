// Where persistent MQTT sessions live when several nodes share them (docs/mqtt.md "Sessions
// across nodes"): the broker's store, Redis for the Redis broker (redis_sessions.cpp). The
// embedded broker has none: sessions stay on the key's owner shard of the node.
//
// A session key has at most one live connection in the cluster, named by a holder token
// (minted by claim). claim() reads the stored session and makes the caller its holder; when
// another holder was live (on any node), it is asked to close (take_over event on its shard)
// and, unless the claim starts clean, the answer waits for its final state (detach) for a
// bounded time, after which what the store holds is used. detach() writes the session back
// with its expiry as the store's TTL (or ends it). Results come as events, drained by the
// shard after the broker's results: nothing calls back into the caller.
// One per shard; shard thread only.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace wsa {

struct session_event {
  enum class kind : uint8_t {
    claimed,    ///< the answer to claim(): ok, the stored record (if any)
    take_over,  ///< close this shard's connection of `key` if its holder token is `token`
  };
  kind what = kind::claimed;
  uint64_t ticket = 0;      ///< claimed
  bool ok = true;           ///< claimed: false when the store could not be reached
  bool present = false;     ///< claimed: a stored session came back (in `record`)
  bool handed = false;      ///< claimed: an older holder handed its final state over
  bool timed_out = false;   ///< claimed: an older holder did not hand over in time
  std::string record;       ///< claimed: the encoded session_record
  std::string key;          ///< take_over
  std::string token;        ///< take_over
};

class session_store {
 public:
  virtual ~session_store() = default;

  /// Makes a new connection the key's holder; `clean`: the stored session is discarded;
  /// `keep`: it outlives the connection. Returns the holder token the connection keeps
  /// (for detach and take_over). Answered by a `claimed` event with `ticket`.
  virtual std::string claim(std::string_view key, bool clean, bool keep, uint64_t ticket) = 0;
  /// The claim's connection ended before its answer: no event for `ticket` any more.
  virtual void forget(uint64_t ticket) = 0;
  /// The holder's connection ended: keep `record` (empty: the stored one stays as it is)
  /// for `expiry_s` seconds (0: the session ends). A holder taken over hands its record to
  /// the claim waiting for it.
  virtual void detach(std::string_view key, std::string_view token, std::string_view record,
                      uint32_t expiry_s) = 0;

  /// Calls fn(session_event&) for each event in order until none is left.
  template <class Fn>
  void drain(Fn&& fn) {
    while (!events_.empty()) {
      draining_.swap(events_);
      for (session_event& e : draining_) {
        fn(e);
      }
      draining_.clear();
    }
  }
  bool has_events() const { return !events_.empty(); }

 protected:
  std::vector<session_event> events_;

 private:
  std::vector<session_event> draining_;
};

}  // namespace wsa

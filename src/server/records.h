// The records shards send each other through their mailboxes (core/mailbox.h), as typed
// records (core/record.h): each lists its fields once, and its size, its writing and its
// bounded reading all follow from that list.
//
// Flows (owner = the shard that orders a tag, chosen by hash):
//   publish   origin -> owner   a client's pub; the owner asks the broker
//   published owner -> origin   the seq (or the error) for the client's ok/err
//   deliver   owner -> others   a message to fan out to local subscribers
//   query     origin -> owner   a sub's request for the tag's position and `since` replay
//   replay    owner -> origin   one missed message for that sub (zero or more, in order)
//   queried   owner -> origin   the position; completes the tag's part of the sub
//   interest  any -> owner      a shard gained its first / lost its last subscriber of a
//                               tag (to the tag's owner) or pattern (to every shard)
//   gap       owner -> others   a tag's or pattern's live stream lost messages (Redis):
//                               its subscribers get a `gap` notice, in stream order
#pragma once

#include <cstdint>
#include <string_view>

#include "core/record.h"

namespace wsa::records {

/// Addresses a connection on its shard (stale if the generation moved on).
struct conn_address {
  uint32_t slot;
  uint32_t generation;
};

struct publish {
  static constexpr uint32_t type = 1;
  conn_address from{};
  std::string_view tag;
  std::string_view id;  ///< the request's raw JSON id; empty: none (or the HTTP API)
  std::string_view data;
  template <class Self, class Field>
  static void fields(Self& self, Field&& field) {
    field(self.from); field(self.tag); field(self.id); field(self.data);
  }
};

struct published {
  static constexpr uint32_t type = 2;
  conn_address to{};
  uint64_t seq = 0;
  bool ok = false;
  std::string_view id;
  std::string_view error;  ///< a protocol error code when not ok
  template <class Self, class Field>
  static void fields(Self& self, Field&& field) {
    field(self.to); field(self.seq); field(self.ok); field(self.id); field(self.error);
  }
};

struct deliver {
  static constexpr uint32_t type = 3;
  uint64_t seq = 0;
  uint8_t scope = 0;  ///< shard::fanout_scope: who among the local subscribers gets it
  std::string_view tag;
  std::string_view frame;  ///< the encoded `msg` frame
  template <class Self, class Field>
  static void fields(Self& self, Field&& field) {
    field(self.seq); field(self.scope); field(self.tag); field(self.frame);
  }
};

struct query {
  static constexpr uint32_t type = 4;
  conn_address from{};
  uint32_t request = 0;  ///< the connection's pending sub
  bool has_since = false;
  uint64_t since_seq = 0;
  uint64_t max_bytes = 0;  ///< the replay's share of the subscriber's outbound limit
  std::string_view tag;
  std::string_view since_epoch;
  template <class Self, class Field>
  static void fields(Self& self, Field&& field) {
    field(self.from); field(self.request); field(self.has_since); field(self.since_seq);
    field(self.max_bytes); field(self.tag); field(self.since_epoch);
  }
};

struct replay {
  static constexpr uint32_t type = 5;
  conn_address to{};
  uint32_t request = 0;
  uint64_t seq = 0;
  std::string_view tag;
  std::string_view frame;
  template <class Self, class Field>
  static void fields(Self& self, Field&& field) {
    field(self.to); field(self.request); field(self.seq); field(self.tag); field(self.frame);
  }
};

struct queried {
  static constexpr uint32_t type = 6;
  conn_address to{};
  uint32_t request = 0;
  uint64_t top = 0;
  bool gap = false;
  bool ok = false;
  std::string_view tag;
  std::string_view epoch;
  template <class Self, class Field>
  static void fields(Self& self, Field&& field) {
    field(self.to); field(self.request); field(self.top); field(self.gap); field(self.ok);
    field(self.tag); field(self.epoch);
  }
};

struct interest {
  static constexpr uint32_t type = 7;
  bool added = false;  ///< true: first local subscriber; false: the last one left
  std::string_view key;  ///< the tag or pattern
  template <class Self, class Field>
  static void fields(Self& self, Field&& field) {
    field(self.added); field(self.key);
  }
};

struct gap {
  static constexpr uint32_t type = 8;
  std::string_view key;  ///< the tag or pattern whose subscribers are told
  template <class Self, class Field>
  static void fields(Self& self, Field&& field) {
    field(self.key);
  }
};

}  // namespace wsa::records

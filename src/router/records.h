// The records routers on different shards send each other through the mailboxes, as typed
// records (core/record.h): each lists its fields once, and its size, its writing and its
// bounded reading follow from that list. Records carry copies (tags, data), never pointers:
// a message crosses as its fields, and the receiving shard makes its own message handle.
//
// Flows (owner = the shard that orders a key, router/owner.h):
//   publish   origin -> owner   a client's publish; the owner asks its broker
//   published owner -> origin   the seq and ts (or the error) for the client's reply
//   deliver   owner -> others   a live message for their local subscribers
//   query     origin -> owner   a subscription's request for the key's position and replay
//   replay    owner -> origin   one missed message for that request (zero or more, in order);
//                               for a pattern (protocol 1.1), one of the matching tags' messages
//   queried   owner -> origin   the position; completes the key's part of the request
//   interest  any -> owner      a shard gained its first / lost its last local subscriber of
//                               a tag (to the tag's owner) or a pattern (to every shard)
//   gap       owner -> others   a key's live stream lost messages: its subscribers are told
//   pattern_query    origin -> owners  recovery on a pattern (protocol 1.1): embedded, every
//                                      shard (for the tags it owns); Redis, the pattern's owner
//   pattern_position owner -> origin   one tag of that answer (before its `replay`s);
//                                      `queried` for the pattern ends it
//   presence_change  any -> owner     (1.1) a local connection joined or left an exact tag
//   presence_event   owner -> others  a join/leave the broker reported, for local watchers
//   presence_query   origin -> owner  a `presence` request
//   presence_listed  owner -> origin  its answer: the count and a JSON array of members
#pragma once

#include <cstdint>
#include <string_view>

#include "core/record.h"
#include "router/ports.h"

namespace wsa::records {

struct publish {
  static constexpr uint32_t type = 1;
  subscriber_id from;
  std::string_view tag;
  std::string_view request_id;  ///< raw JSON id; empty: none (and the HTTP API)
  std::string_view data;
  std::string_view idem;  ///< protocol 1.1 idempotency key; empty: none
  std::string_view meta;  ///< the publisher's metadata (message::meta); empty: none
  template <class Self, class Field>
  static void fields(Self& self, Field&& field) {
    field(self.from);
    field(self.tag);
    field(self.request_id);
    field(self.data);
    field(self.idem);
    field(self.meta);
  }
};

struct published {
  static constexpr uint32_t type = 2;
  subscriber_id to;
  uint64_t seq = 0;
  int64_t ts_ms = 0;
  bool ok = false;
  std::string_view request_id;
  std::string_view error;  ///< a protocol error code when not ok
  bool dup = false;        ///< an idem repeat: nothing was published
  template <class Self, class Field>
  static void fields(Self& self, Field&& field) {
    field(self.to);
    field(self.seq);
    field(self.ts_ms);
    field(self.dup);
    field(self.ok);
    field(self.request_id);
    field(self.error);
  }
};

struct deliver {
  static constexpr uint32_t type = 3;
  uint64_t seq = 0;
  int64_t ts_ms = 0;
  uint8_t scope = 0;  ///< delivery_scope: who among the local subscribers gets it
  std::string_view tag;
  std::string_view data;
  std::string_view meta;
  template <class Self, class Field>
  static void fields(Self& self, Field&& field) {
    field(self.seq);
    field(self.ts_ms);
    field(self.scope);
    field(self.tag);
    field(self.data);
    field(self.meta);
  }
};

struct query {
  static constexpr uint32_t type = 4;
  subscriber_id from;
  uint32_t request = 0;  ///< the subscriber's pending request
  bool has_since = false;
  uint64_t since_seq = 0;
  uint64_t max_bytes = 0;  ///< the replay's share of the subscriber's outbound limit
  std::string_view key;
  std::string_view since_epoch;
  template <class Self, class Field>
  static void fields(Self& self, Field&& field) {
    field(self.from);
    field(self.request);
    field(self.has_since);
    field(self.since_seq);
    field(self.max_bytes);
    field(self.key);
    field(self.since_epoch);
  }
};

struct replay {
  static constexpr uint32_t type = 5;
  subscriber_id to;
  uint32_t request = 0;
  uint64_t seq = 0;
  int64_t ts_ms = 0;
  std::string_view key;  ///< the request's key: the tag itself, or the pattern
  std::string_view tag;  ///< the message's tag
  std::string_view data;
  std::string_view meta;
  template <class Self, class Field>
  static void fields(Self& self, Field&& field) {
    field(self.to);
    field(self.request);
    field(self.seq);
    field(self.ts_ms);
    field(self.key);
    field(self.tag);
    field(self.data);
    field(self.meta);
  }
};

struct queried {
  static constexpr uint32_t type = 6;
  subscriber_id to;
  uint32_t request = 0;
  uint64_t top = 0;
  bool gap = false;
  bool ok = false;
  std::string_view key;
  std::string_view epoch;
  template <class Self, class Field>
  static void fields(Self& self, Field&& field) {
    field(self.to);
    field(self.request);
    field(self.top);
    field(self.gap);
    field(self.ok);
    field(self.key);
    field(self.epoch);
  }
};

struct interest {
  static constexpr uint32_t type = 7;
  bool added = false;    ///< true: first local subscriber; false: the last one left
  std::string_view key;  ///< the tag or pattern
  template <class Self, class Field>
  static void fields(Self& self, Field&& field) {
    field(self.added);
    field(self.key);
  }
};

struct gap {
  static constexpr uint32_t type = 8;
  std::string_view key;
  template <class Self, class Field>
  static void fields(Self& self, Field&& field) {
    field(self.key);
  }
};

struct pattern_query {
  static constexpr uint32_t type = 20;
  subscriber_id from;
  uint32_t request = 0;
  bool has_ts = false;
  uint64_t ts_ms = 0;
  uint32_t max_tags = 0;
  uint64_t max_bytes = 0;
  std::string_view key;    ///< the pattern
  std::string_view known;  ///< the known positions the owner answers for (known_positions.h)
  template <class Self, class Field>
  static void fields(Self& self, Field&& field) {
    field(self.from);
    field(self.request);
    field(self.has_ts);
    field(self.ts_ms);
    field(self.max_tags);
    field(self.max_bytes);
    field(self.key);
    field(self.known);
  }
};

struct pattern_position {
  static constexpr uint32_t type = 21;
  subscriber_id to;
  uint32_t request = 0;
  uint64_t top = 0;
  bool gap = false;
  std::string_view key;  ///< the pattern
  std::string_view tag;
  std::string_view epoch;
  template <class Self, class Field>
  static void fields(Self& self, Field&& field) {
    field(self.to);
    field(self.request);
    field(self.top);
    field(self.gap);
    field(self.key);
    field(self.tag);
    field(self.epoch);
  }
};

/// A join or leave: presence_change (any -> owner, `who` only for joins) and presence_event
/// (owner -> others) carry the same fields.
template <uint32_t Type>
struct presence_note {
  static constexpr uint32_t type = Type;
  bool joined = false;
  std::string_view tag;
  std::string_view member;  ///< "<node>|<conn>"
  std::string_view who;     ///< the member's JSON object
  template <class Self, class Field>
  static void fields(Self& self, Field&& field) {
    field(self.joined);
    field(self.tag);
    field(self.member);
    field(self.who);
  }
};
using presence_change = presence_note<9>;
using presence_event = presence_note<10>;

struct presence_query {
  static constexpr uint32_t type = 11;
  subscriber_id from;
  uint32_t limit = 0;
  uint64_t max_bytes = 0;
  std::string_view tag;
  std::string_view request_id;
  template <class Self, class Field>
  static void fields(Self& self, Field&& field) {
    field(self.from);
    field(self.limit);
    field(self.max_bytes);
    field(self.tag);
    field(self.request_id);
  }
};

struct presence_listed {
  static constexpr uint32_t type = 12;
  subscriber_id to;
  uint64_t count = 0;
  bool ok = false;
  std::string_view request_id;
  std::string_view who;  ///< a JSON array
  template <class Self, class Field>
  static void fields(Self& self, Field&& field) {
    field(self.to);
    field(self.count);
    field(self.ok);
    field(self.request_id);
    field(self.who);
  }
};

}  // namespace wsa::records

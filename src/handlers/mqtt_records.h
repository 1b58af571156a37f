// The records MQTT handlers on different shards send each other (core/record.h), beside the
// router's (router/records.h): their type numbers start at mqtt_record_base, and the shard
// hands those to its MQTT handler.
//
//   retain   publisher's shard -> every other shard   a retained publish was taken: apply it
//                                                      to the shard's replica (retained_store)
//                                                      (with Redis: shard 0, from the cluster)
//   retain_reset shard 0 -> every other shard         the cluster's whole set follows (Redis)
//   claim    connection's shard -> key's owner shard  a session key has a new connection: the
//                                                      owner closes the one it had (takeover)
//                                                      and answers with `resume`
//   release  connection's shard -> key's owner shard  that connection ended (with the session
//                                                      to keep, if persistent)
//   resume   key's owner shard -> connection's shard   the stored session (or none): CONNACK
//   take_over owner shard -> connection's shard        close it: its session was taken over
#pragma once

#include <cstdint>
#include <string_view>

#include "core/record.h"

namespace wsa::mqtt_records {

inline constexpr uint32_t base = 1000;

/// Which connection of its shard a session record is about (conn_host::find's slot and
/// generation): claim, release, resume and take_over each name one.
struct conn_ref {
  uint32_t slot = 0;
  uint32_t generation = 0;
  template <class Self, class Field>
  static void fields(Self& self, Field&& field) {
    field(self.slot);
    field(self.generation);
  }
};

struct retain {
  static constexpr uint32_t type = base + 1;
  uint64_t seq = 0;  ///< the order among the node's retained publishes (not the tag's seq)
  int64_t ts_ms = 0;
  uint8_t qos = 0;
  std::string_view tag;
  std::string_view data;  ///< empty: the tag's retained message is cleared
  std::string_view meta;  ///< the publisher's metadata (mqtt/message_meta.h)
  template <class Self, class Field>
  static void fields(Self& self, Field&& field) {
    field(self.seq);
    field(self.ts_ms);
    field(self.qos);
    field(self.tag);
    field(self.data);
    field(self.meta);
  }
};

/// A new connection of a session key, to the key's owner shard: it closes the one it had
/// (takeover) and answers with the stored session (resume).
struct claim {
  static constexpr uint32_t type = base + 2;
  static constexpr uint8_t clean_start = 1;  ///< discard a stored session
  static constexpr uint8_t keep = 2;         ///< keep the session after the connection
  conn_ref conn;
  std::string_view key;
  uint8_t flags = 0;
  template <class Self, class Field>
  static void fields(Self& self, Field&& field) {
    conn_ref::fields(self.conn, field);
    field(self.key);
    field(self.flags);
  }
};

/// That connection ended; `session`: its encoded session_record to keep for `expiry_s`
/// (empty: nothing kept); `token`: its holder token in the session store (empty: none).
struct release {
  static constexpr uint32_t type = base + 3;
  conn_ref conn;
  std::string_view key;
  uint32_t expiry_s = 0;
  std::string_view session;
  std::string_view token;
  template <class Self, class Field>
  static void fields(Self& self, Field&& field) {
    conn_ref::fields(self.conn, field);
    field(self.key);
    field(self.expiry_s);
    field(self.session);
    field(self.token);
  }
};

/// The owner's answer to a claim: the stored session to resume, or none, or refused (the
/// session bound), or unavailable (the session store could not be reached).
struct resume {
  static constexpr uint32_t type = base + 5;
  enum : uint8_t { fresh = 0, present = 1, refused = 2, unavailable = 3 };
  conn_ref conn;
  uint8_t status = fresh;
  std::string_view session;  ///< present: the encoded session_record
  std::string_view token;    ///< the connection's holder token in the session store
  template <class Self, class Field>
  static void fields(Self& self, Field&& field) {
    conn_ref::fields(self.conn, field);
    field(self.status);
    field(self.session);
    field(self.token);
  }
};

struct take_over {
  static constexpr uint32_t type = base + 4;
  conn_ref conn;
  template <class Self, class Field>
  static void fields(Self& self, Field&& field) {
    conn_ref::fields(self.conn, field);
  }
};

/// The cluster's retained messages are loaded again (Redis): forget the copy's.
struct retain_reset {
  static constexpr uint32_t type = base + 20;
  uint8_t reserved = 0;
  template <class Self, class Field>
  static void fields(Self& self, Field&& field) {
    field(self.reserved);
  }
};

}  // namespace wsa::mqtt_records

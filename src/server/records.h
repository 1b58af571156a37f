// The records shards send each other through their mailboxes (core/mailbox.h). Each is a
// fixed header followed by variable bytes (strings and frames), written and read with
// memcpy so no alignment is assumed. Records carry copies, never pointers: memory stays
// with the shard that allocated it (docs/style.md guideline 2).
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
#pragma once

#include <cstdint>
#include <cstring>
#include <string_view>
#include <type_traits>

namespace wsa::records {

enum type : uint32_t {
  publish = 1,
  published = 2,
  deliver = 3,
  query = 4,
  replay = 5,
  queried = 6,
  interest = 7,
};

/// Addresses a connection on its shard (stale if the generation moved on).
struct conn_address {
  uint32_t slot;
  uint32_t generation;
};

struct publish_head {
  conn_address from;
  uint32_t data_size;
  uint16_t tag_size;
  uint16_t id_size;  // followed by: tag, id, data
};

struct published_head {
  conn_address to;
  uint64_t seq;
  uint8_t ok;
  uint8_t error_size;
  uint16_t id_size;  // followed by: id, error code
};

struct deliver_head {
  uint64_t seq;
  uint32_t frame_size;
  uint16_t tag_size;  // followed by: tag, frame
  uint8_t scope = 0;  // shard::fanout_scope: who among the local subscribers gets it
};

struct query_head {
  conn_address from;
  uint32_t request;  // the connection's pending sub
  uint64_t since_seq;
  uint8_t has_since;
  uint8_t epoch_size;
  uint16_t tag_size;  // followed by: tag, epoch
};

struct replay_head {
  conn_address to;
  uint32_t request;
  uint64_t seq;
  uint32_t frame_size;
  uint16_t tag_size;  // followed by: tag, frame
};

struct queried_head {
  conn_address to;
  uint32_t request;
  uint64_t top;
  uint8_t gap;
  uint8_t ok;
  uint8_t epoch_size;
  uint16_t tag_size;  // followed by: tag, epoch
};

struct interest_head {
  uint8_t added;      // 1: first local subscriber, 0: last one left
  uint16_t key_size;  // followed by: the tag or pattern
};

/// Appends fixed heads and byte strings into a record being written.
class writer {
 public:
  explicit writer(char* at) : at_(at) {}
  template <class T>
    requires std::is_trivially_copyable_v<T>
  writer& put(const T& head) {
    std::memcpy(at_, &head, sizeof head);
    at_ += sizeof head;
    return *this;
  }
  writer& put(std::string_view bytes) {
    if (!bytes.empty()) {
      std::memcpy(at_, bytes.data(), bytes.size());
    }
    at_ += bytes.size();
    return *this;
  }

 private:
  char* at_;
};

/// Reads a record written by `writer`, in the same order.
class reader {
 public:
  explicit reader(std::string_view record) : at_(record.data()), end_(at_ + record.size()) {}
  template <class T>
  T head() {
    T value;
    std::memcpy(&value, at_, sizeof value);
    at_ += sizeof value;
    return value;
  }
  std::string_view bytes(std::size_t n) {
    std::string_view out(at_, n);
    at_ += n;
    return out;
  }

 private:
  const char* at_;
  const char* end_;
};

}  // namespace wsa::records

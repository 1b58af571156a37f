// QoS 1 and 2 PUBLISHes from a client (MQTT 5.0 sections 4.3, 4.9; 3.1.1 section 4.3):
// how many are unacknowledged (the server's Receive Maximum), and the QoS 2 packet
// identifiers between PUBLISH and PUBREL, each with the number that makes its `idem` key.
//
// QoS 2 exactly once: the server publishes on the first PUBLISH of an identifier with an
// idem key unique to that reception, and answers PUBREC once the broker gave it a seq. A
// retransmitted PUBLISH of an identifier still held (before its PUBREL) is published again
// with the same key: the broker recognises the key and answers with the first seq, so the
// message exists once even when the first attempt's outcome was lost, on any node. A key
// made of the client id and packet id alone would not do: clients reuse an identifier as
// soon as its PUBCOMP arrives, and the broker remembers keys for minutes, so a new message
// would be taken for the old one and lost. Hence the per-session reception counter, which
// is part of the persistent session (session_record) so that keys never repeat.
//
// One per session; not thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace wsa::mqtt {

class inbound_flow {
 public:
  explicit inbound_flow(uint16_t receive_maximum) : receive_maximum_(receive_maximum) {}

  enum class verdict : uint8_t {
    publish,    ///< new: publish it (QoS 2: with `number`'s idem key)
    duplicate,  ///< QoS 2 retransmission: publish again with the same key (no new count)
    exceeded,   ///< more unacknowledged PUBLISHes than the Receive Maximum
  };

  /// A PUBLISH with QoS 1 or 2 arrived. `enforce`: refuse past the Receive Maximum (5.0,
  /// where the client was told it); 3.1.1 clients are throttled instead (see saturated()).
  verdict on_publish(uint8_t qos, uint16_t packet_id, bool enforce, uint64_t& number);

  /// The PUBACK of a QoS 1 PUBLISH went out (or will not: the publish was refused).
  void qos1_done();

  /// PUBREL for `packet_id`: forgets it (the PUBCOMP frees its unit of the Receive
  /// Maximum). False when it was not held (5.0 answers PUBCOMP "packet identifier not
  /// found"; 3.1.1 answers PUBCOMP anyway).
  bool on_pubrel(uint16_t packet_id);

  /// True while the client has the Receive Maximum or more unacknowledged: the caller stops
  /// reading its socket until acknowledgements go out (TCP pushes back on the client).
  bool saturated() const { return unacknowledged() >= receive_maximum_; }
  std::size_t unacknowledged() const { return qos1_open_ + held_.size(); }

  /// Persistent state: the QoS 2 identifiers held and the next reception number.
  const std::vector<std::pair<uint16_t, uint64_t>>& held() const { return held_; }
  uint64_t next_number() const { return next_number_; }
  void restore(std::vector<std::pair<uint16_t, uint64_t>> held, uint64_t next_number);

 private:
  uint16_t receive_maximum_;
  std::size_t qos1_open_ = 0;
  std::vector<std::pair<uint16_t, uint64_t>> held_;  // (packet id, reception number)
  uint64_t next_number_ = 1;
};

/// The `idem` key of a QoS 2 reception (protocol 1.1's idempotent publish): at most 64
/// printable ASCII bytes, the same on every node: "mq2:" + 32 hex digits of a BLAKE2b hash
/// of `session_key` (the client identifier, or whatever the session store keys sessions
/// by) + ":" + the reception number in decimal.
std::string qos2_idem_key(std::string_view session_key, uint64_t number);

}  // namespace wsa::mqtt

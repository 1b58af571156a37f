// What Redis Cluster tells a client about where slots live
// (https://redis.io/docs/reference/cluster-spec/): the CLUSTER SLOTS reply, and the MOVED /
// ASK redirections and other cluster errors a command may get. Everything here comes from
// the network, so it is checked: a malformed reply is refused whole, never trusted in part.
// Pure functions: any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "redis/resp_reader.h"

namespace wsa {

/// One range of slots and the master serving it.
struct cluster_slot_range {
  uint16_t first = 0;
  uint16_t last = 0;
  /// Numeric when Redis gave an IP (as the preferred endpoint or as the "ip" metadata of a
  /// hostname endpoint); empty when Redis does not know the endpoint: then it is the node
  /// that was asked. Otherwise a hostname, which wsagent cannot resolve on a shard.
  std::string host;
  uint16_t port = 0;
  std::string id;  ///< the node's cluster id
};

/// Reads a CLUSTER SLOTS reply: [[first, last, [host, port, id, metadata?], replicas...]...].
/// Replicas are skipped (wsagent reads and writes masters only). False, with `why`, when the
/// reply is not one (e.g. an error: cluster support disabled) or anything in it is malformed.
bool parse_cluster_slots(resp_view reply, std::vector<cluster_slot_range>& out, std::string& why);

/// A redirection: "MOVED <slot> <host>:<port>" (the slot lives there now: update the map)
/// or "ASK <slot> <host>:<port>" (this one command, preceded by ASKING, goes there).
struct cluster_redirect {
  enum class kind : uint8_t { none, moved, ask };
  kind type = kind::none;
  uint16_t slot = 0;
  std::string_view host;  ///< may be empty (unknown endpoint): the node that answered
  uint16_t port = 0;
};

/// The redirection in an error reply's text (without the '-'); type none for any other
/// error, or a malformed one.
cluster_redirect parse_redirect(std::string_view error);

/// "TRYAGAIN": a multi-key command met a slot being migrated with its keys split; retry soon.
bool is_tryagain_error(std::string_view error);
/// "CLUSTERDOWN": the cluster cannot serve the slot now (no master, or not enough nodes).
bool is_clusterdown_error(std::string_view error);
/// "NOSCRIPT": EVALSHA of a script this node does not hold.
bool is_noscript_error(std::string_view error);

/// "host:port", split at the last ':' (Redis writes IPv6 hosts without brackets); the host
/// may be empty. False when the port is not 1-65535.
bool split_host_port(std::string_view text, std::string_view& host, uint16_t& port);

}  // namespace wsa

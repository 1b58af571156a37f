// A wsagent process: the shards, what they share read-only (configuration, epoch, the
// mailbox matrix, each other's ring fds for doorbells, metric blocks) and the two
// node-wide atomics (open connection count, draining). Created and run by main; the shard
// threads live inside run().
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "auth/keys.h"
#include "broker/redis_broker.h"
#include "core/mailbox.h"
#include "http/static_files.h"
#include "obs/metrics.h"
#include "wsa/config.h"

namespace wsa {

class shard;

class node {
 public:
  /// `keys` verify client tokens (unused with --no-auth).
  node(config cfg, key_set keys);
  ~node();
  node(const node&) = delete;
  node& operator=(const node&) = delete;

  /// Binds the listeners, starts one shard per core, serves until SIGTERM/SIGINT, drains.
  /// Returns the process exit status.
  int run();

  const config& cfg() const { return cfg_; }
  unsigned shard_count() const { return cfg_.shards; }
  const key_set& keys() const { return keys_; }
  /// The Redis broker's settings (address resolved); null with the embedded broker.
  const redis_broker_options* redis() const { return redis_.get(); }
  const std::string& epoch() const { return epoch_; }
  const std::string& node_id() const { return node_id_; }
  shard& peer(unsigned index) { return *shards_[index]; }
  /// Mailbox carrying records from shard `from` to shard `to`.
  mailbox& mail(unsigned from, unsigned to) { return *mailboxes_[from * shard_count() + to]; }
  std::vector<const shard_metrics*> metrics() const;
  /// Every shard's broker is ready (any thread; each shard refreshes its flag every turn).
  bool brokers_ready() const;
  /// The --static files (read-only, any shard); null without --static.
  const static_files* web_files() const { return web_files_.get(); }
  /// While draining: every shard has no connection left and owes no other shard an answer
  /// (any thread; each shard refreshes its flag every turn). Until then all keep running,
  /// so that a request in flight to another shard's broker is answered.
  bool shards_quiet() const;

  std::atomic<uint32_t> connections{0};  ///< open client connections, all shards
  /// SIGTERM/SIGINT received: /readyz answers 503 from now on; `draining` follows after
  /// --drain-delay, clients being served as usual meanwhile.
  std::atomic<bool> leaving{false};
  std::atomic<bool> draining{false};     ///< the drain has begun: listeners closed

 private:
  bool bind_listeners(std::string& error);
  /// One SO_REUSEPORT listener per shard on `endpoint` into `fds`; the address bound (port 0
  /// resolved) into `bound`.
  bool bind_listener_set(const listen_endpoint& endpoint, std::vector<int>& fds,
                         std::string& bound, std::string& error);
  /// Parses --broker and resolves a Redis host (blocking: before the shards start).
  bool prepare_broker(std::string& error);

  config cfg_;
  key_set keys_;  // read-only once the shards start: shared without locks
  std::unique_ptr<redis_broker_options> redis_;
  std::unique_ptr<static_files> web_files_;
  std::string epoch_;
  std::string node_id_;
  std::string bound_address_;
  std::vector<int> listen_fds_;
  std::string mqtt_bound_address_;  // --mqtt-listen, once bound
  std::vector<int> mqtt_listen_fds_;  // one per shard, when --mqtt-listen is given
  std::vector<std::unique_ptr<shard>> shards_;
  std::vector<std::unique_ptr<mailbox>> mailboxes_;
};

}  // namespace wsa

// Following a Redis master through Sentinel, as the Sentinel client guidelines describe
// (https://redis.io/docs/reference/sentinel-clients/): ask one sentinel at a time
// `SENTINEL get-master-addr-by-name`, listen on its `+switch-master` channel for failovers,
// ask again periodically and whenever the owner's master link fails, and move on to the next
// sentinel when one is unreachable or keeps naming a server that is not a master.
// The links that talk to the master are the owner's; they are registered with follow() and
// pointed at each new master (link::retarget), and they check ROLE themselves before use
// (link_options::require_master), so a stale answer never leads to a write on a replica.
// Shard thread only.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/ring.h"
#include "redis/address.h"
#include "redis/link.h"

namespace wsa {

struct sentinel_options {
  std::vector<redis_address> sentinels;  ///< resolved at startup
  std::string master_name;
  /// Timeouts and backoff of the links to sentinels (the address is ignored). Sentinels are
  /// asked without AUTH unless `auth` is set here.
  link_options link;
  int64_t recheck_interval_ms = 10000;  ///< ask again this often (a missed +switch-master)
  int64_t switch_after_ms = 3000;       ///< a sentinel unreachable this long: try the next one
  uint32_t suspect_limit = 3;  ///< same answer after this many failed master links: next one
};

class sentinel_owner {
 public:
  /// Sentinel named the master: the first time, or a new one after a failover. The links
  /// given to follow() are already being pointed there.
  virtual void on_master(const redis_address& master) = 0;
  /// Something for the operator's log: an unreachable sentinel, an unknown master name.
  virtual void on_sentinel_note(std::string_view what) = 0;

 protected:
  ~sentinel_owner() = default;
};

class sentinel_watch final : private link_owner {
 public:
  sentinel_watch(ring& r, sentinel_owner& owner, sentinel_options options);
  ~sentinel_watch();
  sentinel_watch(const sentinel_watch&) = delete;
  sentinel_watch& operator=(const sentinel_watch&) = delete;

  /// Starts asking the first sentinel.
  void start();
  /// A link to point at the master: started once the master is known, retargeted on every
  /// change. Not owned: it must outlive this object.
  void follow(link& l);
  /// The owner's master link failed (down, refused, ROLE not master): ask again now.
  void recheck();

  bool known() const { return known_; }
  const redis_address& master() const { return master_; }
  /// Masters named after the first (failovers seen).
  uint64_t switches() const { return switches_; }

  /// Once per loop turn: the links' timers, the periodic question, moving on from a silent
  /// sentinel.
  void poll();
  /// A completion of kind io_op::link; ignored unless it belongs to a sentinel link.
  void on_completion(const completion& c);

 private:
  enum request_kind : uint32_t { ask_request = 1, subscribe_request };

  // link_owner
  void on_link_up(link& l) override;
  void on_link_down(link& l, std::string_view why) override;
  void on_link_failed(link& l, std::string_view why) override;
  void on_reply(link& l, const link_request& request, resp_view reply,
                std::string_view command) override;
  void on_failed(link& l, const link_request& request) override;
  void on_push(link& l, resp_view push) override;

  void ask();
  void on_answer(resp_view reply);
  void use_master(std::string_view host, std::string_view port, const char* how);
  void next_sentinel(std::string_view why);
  void note(std::string_view what) { owner_.on_sentinel_note(what); }
  link_options options_for(std::size_t i) const;

  sentinel_owner& owner_;
  const sentinel_options options_;
  std::size_t current_ = 0;  // the sentinel asked now
  link commands_;
  link subscriber_;
  std::vector<link*> followers_;

  bool started_ = false;
  bool known_ = false;
  redis_address master_;
  uint64_t switches_ = 0;
  bool asking_ = false;
  uint32_t suspect_ = 0;  // rechecks since the master last changed
  int64_t next_ask_ms_ = 0;
  int64_t unreachable_since_ms_ = -1;  // the current sentinel's command link is not up
};

/// Reads a +switch-master payload "<name> <old-ip> <old-port> <new-ip> <new-port>". False
/// when malformed.
bool parse_switch_master(std::string_view payload, std::string_view& name, std::string_view& host,
                         std::string_view& port);

}  // namespace wsa

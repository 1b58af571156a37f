// The open-file limit (RLIMIT_NOFILE) against what a node may open: one descriptor per
// client connection plus a few per shard (its ring, listener, Redis links) and for the
// process. At startup the soft limit is raised to the hard one (the soft default, often
// 1024, is far below what a server needs); when even the hard limit is short of
// --max-connections, the node says so instead of failing later with EMFILE (which accept
// survives, see shard.cpp, but connections then wait in the kernel's backlog).
// Startup only, main thread.
#pragma once

#include <cstdint>

namespace wsa {

struct fd_limit_report {
  uint64_t soft_before = 0;  ///< the soft limit the process started with
  uint64_t soft = 0;         ///< the soft limit now
  uint64_t hard = 0;
  uint64_t needed = 0;       ///< descriptors for max_connections and the shards
  bool known = false;        ///< getrlimit worked
};

/// Descriptors a node with `shards` shards needs besides its client connections.
uint64_t fd_reserve(unsigned shards);

/// Raises the soft limit to the hard limit and reports both against what is needed.
fd_limit_report raise_fd_limit(uint64_t max_connections, unsigned shards);

}  // namespace wsa

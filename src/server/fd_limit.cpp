#include "server/fd_limit.h"

#include <sys/resource.h>

namespace wsa {

uint64_t fd_reserve(unsigned shards) {
  // Per shard: io_uring, listener, two Redis links, slack; for the process: stdio, the
  // signal and config files, libraries.
  return uint64_t{shards} * 8 + 32;
}

fd_limit_report raise_fd_limit(uint64_t max_connections, unsigned shards) {
  fd_limit_report report;
  report.needed = max_connections + fd_reserve(shards);
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) {
    return report;
  }
  report.known = true;
  report.soft_before = limit.rlim_cur;
  if (limit.rlim_cur < limit.rlim_max) {
    rlimit raised = limit;
    raised.rlim_cur = limit.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) {
      limit = raised;
    }
  }
  report.soft = limit.rlim_cur;
  report.hard = limit.rlim_max;
  return report;
}

}  // namespace wsa

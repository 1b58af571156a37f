// The Redis broker's unit tests use the same real redis-server as the integration tests
// (tests/support/redis_process.h): a free loopback port, optional password and append-only
// persistence, kill/pause/restart, RAII cleanup.
#pragma once

#include "support/redis_process.h"

namespace wsa::test {

using redis_server = redis_process;

}  // namespace wsa::test

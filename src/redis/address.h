// Where Redis listens, as a socket address resolved once at startup (name resolution
// blocks, so it never runs on a shard thread). Plain data; resolve on the main thread.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <string>

namespace wsa {

struct redis_address {
  sockaddr_storage storage{};
  socklen_t size = 0;
  std::string text;  ///< "host:port" as given, for logs
};

/// Resolves `host` (a name, an IPv4 or an IPv6 address) and `port` to the first address
/// the resolver gives for a TCP stream. False with a readable `error` when it cannot.
bool resolve_redis_address(const std::string& host, uint16_t port, redis_address& out,
                           std::string& error);

}  // namespace wsa

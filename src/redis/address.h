// Where Redis listens, as a socket address resolved once at startup (name resolution
// blocks, so it never runs on a shard thread). Plain data; resolve on the main thread.
// Addresses learnt from Redis itself (cluster topology, Sentinel, MOVED) are numeric and
// are read without any resolver, on the shard thread.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <string_view>

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

/// A numeric IPv4 or IPv6 `host` (no brackets) and `port`, without a resolver: for addresses
/// Redis reports (CLUSTER SLOTS, MOVED, Sentinel). False when `host` is not numeric.
bool numeric_redis_address(std::string_view host, uint16_t port, redis_address& out);

/// The same socket address (family, address and port; the text is not compared).
bool same_endpoint(const redis_address& a, const redis_address& b);

}  // namespace wsa

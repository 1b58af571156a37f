// The `--listen` endpoint (checked by src/cli) to a socket address, and back. Startup only.
#pragma once

#include <sys/socket.h>

#include <string>

#include "wsa/config.h"

namespace wsa {

struct listen_address {
  sockaddr_storage storage{};
  socklen_t length = 0;
};

/// Resolves the endpoint's host (empty: all IPv4 addresses).
bool resolve_listen_address(const listen_endpoint& endpoint, listen_address& out,
                            std::string& error);

/// "127.0.0.1:8080" or "[::1]:8080".
std::string format_address(const sockaddr_storage& address);

}  // namespace wsa

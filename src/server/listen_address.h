// `--listen` values (host:port, [ipv6]:port) to socket addresses and back. Startup only.
#pragma once

#include <sys/socket.h>

#include <string>

namespace wsa {

struct listen_address {
  sockaddr_storage storage{};
  socklen_t length = 0;
};

/// Resolves "host:port" or "[v6addr]:port" (an empty host means all IPv4 addresses).
bool parse_listen_address(const std::string& text, listen_address& out, std::string& error);

/// "127.0.0.1:8080" or "[::1]:8080".
std::string format_address(const sockaddr_storage& address);

}  // namespace wsa

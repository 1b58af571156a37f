// Resolving the Redis host; see address.h.
#include "redis/address.h"

#include <netdb.h>

#include <cstring>

namespace wsa {

bool resolve_redis_address(const std::string& host, uint16_t port, redis_address& out,
                           std::string& error) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const std::string service = std::to_string(port);
  const int rc = getaddrinfo(host.c_str(), service.c_str(), &hints, &found);
  if (rc != 0 || found == nullptr) {
    error = "cannot resolve Redis host '" + host + "': " + gai_strerror(rc);
    return false;
  }
  std::memcpy(&out.storage, found->ai_addr, found->ai_addrlen);
  out.size = found->ai_addrlen;
  out.text = (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" + service;
  freeaddrinfo(found);
  return true;
}

}  // namespace wsa

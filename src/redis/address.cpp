// Resolving the Redis host; see address.h.
#include "redis/address.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>

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

bool numeric_redis_address(std::string_view host, uint16_t port, redis_address& out) {
  char text[INET6_ADDRSTRLEN];
  if (host.empty() || host.size() >= sizeof text || port == 0) {
    return false;
  }
  host.copy(text, host.size());
  text[host.size()] = '\0';
  out = redis_address{};
  auto* v4 = reinterpret_cast<sockaddr_in*>(&out.storage);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&out.storage);
  if (inet_pton(AF_INET, text, &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    out.size = sizeof(sockaddr_in);
    out.text = std::string(host) + ":" + std::to_string(port);
    return true;
  }
  if (inet_pton(AF_INET6, text, &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    out.size = sizeof(sockaddr_in6);
    out.text = "[" + std::string(host) + "]:" + std::to_string(port);
    return true;
  }
  return false;
}

bool same_endpoint(const redis_address& a, const redis_address& b) {
  if (a.storage.ss_family != b.storage.ss_family) {
    return false;
  }
  if (a.storage.ss_family == AF_INET) {
    const auto& x = reinterpret_cast<const sockaddr_in&>(a.storage);
    const auto& y = reinterpret_cast<const sockaddr_in&>(b.storage);
    return x.sin_port == y.sin_port && x.sin_addr.s_addr == y.sin_addr.s_addr;
  }
  if (a.storage.ss_family == AF_INET6) {
    const auto& x = reinterpret_cast<const sockaddr_in6&>(a.storage);
    const auto& y = reinterpret_cast<const sockaddr_in6&>(b.storage);
    return x.sin6_port == y.sin6_port &&
           std::memcmp(&x.sin6_addr, &y.sin6_addr, sizeof x.sin6_addr) == 0;
  }
  return false;
}

}  // namespace wsa

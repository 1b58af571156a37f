// The syntax of `--listen` and `--broker` values, checked at startup so that a typo is
// reported before any socket is opened. Name resolution is not done here (the server
// resolves --listen, the Redis broker resolves its host). Pure functions: any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace wsa {

/// `--listen`: "host:port", "ipv4:port", "[ipv6]:port" or ":port" (all IPv4 addresses).
struct listen_spec {
  std::string host;  ///< without brackets; empty: all IPv4 addresses
  uint16_t port = 0;
  bool ipv6 = false;  ///< written in brackets
};

bool parse_listen(std::string_view text, listen_spec& out, std::string& why);

/// Redis endpoint of `--broker redis://[[user]:password@]host[:port][/db]`.
struct redis_endpoint {
  std::string host;  ///< name, IPv4 or IPv6 (without brackets)
  uint16_t port = 6379;
  std::string username;  ///< Redis 6 ACL user; empty: "default"
  std::string password;  ///< percent-decoded; meaningful only when has_password
  bool has_password = false;
  uint32_t db = 0;  ///< SELECT index
};

struct broker_spec {
  enum class kind { embedded, redis };
  kind type = kind::embedded;
  redis_endpoint redis;  ///< when type == redis
};

/// "embedded" or a redis:// URL. Errors never repeat the password.
bool parse_broker(std::string_view text, broker_spec& out, std::string& why);

/// The broker text with any password replaced by "***", for logs and error messages.
std::string redact_broker(std::string_view text);

}  // namespace wsa

// Syntax of --listen and --broker values. See endpoints.h.
#include "cli/endpoints.h"

#include <arpa/inet.h>

#include "cli/values.h"
#include "util/ascii.h"
#include "util/percent.h"

namespace wsa {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alnum(char c) { return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

// RFC 1123 host name: dot-separated labels of letters, digits and inner hyphens.
bool is_host_name(std::string_view host) {
  if (host.empty() || host.size() > 253) {
    return false;
  }
  std::size_t start = 0;
  while (start <= host.size()) {
    std::size_t end = host.find('.', start);
    if (end == std::string_view::npos) {
      end = host.size();
    }
    const std::string_view label = host.substr(start, end - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') {
      return false;
    }
    for (char c : label) {
      if (!is_alnum(c) && c != '-') {
        return false;
      }
    }
    start = end + 1;
  }
  return true;
}

// A host that is all digits and dots must be a dotted-quad IPv4 address ("1.2.3" and
// "256.0.0.1" are typos, not names).
bool check_host(std::string_view host, std::string& why) {
  const bool numeric = host.find_first_not_of("0123456789.") == std::string_view::npos;
  if (numeric) {
    in_addr v4{};
    if (inet_pton(AF_INET, std::string(host).c_str(), &v4) != 1) {
      why = "bad IPv4 address '" + std::string(host) + "'";
      return false;
    }
    return true;
  }
  if (!is_host_name(host)) {
    why = "bad host name '" + std::string(host) + "'";
    return false;
  }
  return true;
}

bool check_ipv6(std::string_view host, std::string& why) {
  in6_addr v6{};
  if (inet_pton(AF_INET6, std::string(host).c_str(), &v6) != 1) {
    why = "bad IPv6 address '" + std::string(host) + "'";
    return false;
  }
  return true;
}

bool parse_port(std::string_view text, uint64_t min, uint16_t& out, std::string& why) {
  uint64_t port = 0;
  std::string detail;
  if (!parse_count(text, min, 65535, port, detail)) {
    why = "bad port '" + std::string(text) + "' (expected " + std::to_string(min) + "..65535)";
    return false;
  }
  out = static_cast<uint16_t>(port);
  return true;
}

// Splits "host:port" / "[v6]:port" / "host" (port optional when `port_optional`).
bool split_host_port(std::string_view text, bool port_optional, std::string_view& host,
                     std::string_view& port, bool& ipv6, std::string& why) {
  ipv6 = false;
  port = {};
  if (!text.empty() && text.front() == '[') {
    const std::size_t close = text.find(']');
    if (close == std::string_view::npos) {
      why = "missing ']' after the IPv6 address";
      return false;
    }
    host = text.substr(1, close - 1);
    ipv6 = true;
    const std::string_view rest = text.substr(close + 1);
    if (rest.empty() && port_optional) {
      return true;
    }
    if (rest.empty() || rest.front() != ':') {
      why = "expected ':PORT' after ']'";
      return false;
    }
    port = rest.substr(1);
    return true;
  }
  const std::size_t colon = text.find(':');
  if (colon == std::string_view::npos) {
    if (port_optional) {
      host = text;
      return true;
    }
    why = "missing ':PORT'";
    return false;
  }
  if (text.find(':', colon + 1) != std::string_view::npos) {
    why = "an IPv6 address goes in brackets, e.g. [::1]:8080";
    return false;
  }
  host = text.substr(0, colon);
  port = text.substr(colon + 1);
  return true;
}

bool percent_decode(std::string_view text, std::string& out) {
  out.clear();
  for (std::size_t i = 0; i < text.size();) {
    const int byte = percent_decode_next(text, i, false);
    if (byte < 0) {
      return false;
    }
    out.push_back(static_cast<char>(byte));
  }
  return true;
}

// [[USER]:PASSWORD@]HOST[:PORT][/DB], after the scheme.
bool parse_redis_authority(std::string_view rest, redis_endpoint& out, std::string& why) {
  redis_endpoint redis;
  // The last '@' ends the credentials, so a password may hold '@', '/' or ':' unencoded.
  const std::size_t at = rest.rfind('@');
  if (at != std::string_view::npos) {
    const std::string_view userinfo = rest.substr(0, at);
    const std::size_t colon = userinfo.find(':');
    if (colon == std::string_view::npos) {
      why = "credentials need a ':' before the password, e.g. redis://:PASSWORD@HOST";
      return false;
    }
    if (!percent_decode(userinfo.substr(0, colon), redis.username) ||
        !percent_decode(userinfo.substr(colon + 1), redis.password)) {
      why = "bad %-escape in the credentials";
      return false;
    }
    redis.has_password = true;
    rest.remove_prefix(at + 1);
  }
  if (rest.find_first_of("?#") != std::string_view::npos) {
    why = "URL parameters are not supported";
    return false;
  }
  const std::size_t slash = rest.find('/');
  const std::string_view authority = rest.substr(0, slash);
  std::string detail;
  if (slash != std::string_view::npos && slash + 1 < rest.size()) {
    uint64_t db = 0;
    if (!parse_count(rest.substr(slash + 1), 0, 2147483647, db, detail)) {
      why = "bad database number '" + std::string(rest.substr(slash + 1)) + "'";
      return false;
    }
    redis.db = static_cast<uint32_t>(db);
  }
  std::string_view host;
  std::string_view port;
  bool ipv6 = false;
  if (!split_host_port(authority, true, host, port, ipv6, why)) {
    return false;
  }
  if (host.empty()) {
    why = "missing host";
    return false;
  }
  if (ipv6 ? !check_ipv6(host, why) : !check_host(host, why)) {
    return false;
  }
  if (!port.empty() || authority.ends_with(':')) {
    if (!parse_port(port, 1, redis.port, why)) {
      return false;
    }
  }
  redis.host = std::string(host);
  out = std::move(redis);
  return true;
}

constexpr std::string_view broker_syntax =
    "expected 'embedded' or redis://[[USER]:PASSWORD@]HOST[:PORT][/DB]";

}  // namespace

bool parse_listen(std::string_view text, listen_endpoint& out, std::string& why) {
  std::string_view host;
  std::string_view port;
  bool ipv6 = false;
  std::string detail;
  const auto fail = [&](const std::string& reason) {
    why = "bad listen address '" + std::string(text) + "': " + reason +
          " (expected HOST:PORT, IPV4:PORT or [IPV6]:PORT)";
    return false;
  };
  if (!split_host_port(text, false, host, port, ipv6, detail)) {
    return fail(detail);
  }
  if (ipv6 ? !check_ipv6(host, detail) : !host.empty() && !check_host(host, detail)) {
    return fail(detail);
  }
  listen_endpoint endpoint;
  if (!parse_port(port, 0, endpoint.port, detail)) {
    return fail(detail);
  }
  endpoint.host = std::string(host);
  endpoint.ipv6 = ipv6;
  out = std::move(endpoint);
  return true;
}

bool parse_broker(std::string_view text, broker_url& out, std::string& why) {
  if (text == "embedded") {
    out = broker_url{};
    return true;
  }
  const std::string shown = redact_broker(text);
  const auto fail = [&](const std::string& reason) {
    why = "bad broker '" + shown + "': " + reason + " (" + std::string(broker_syntax) + ")";
    return false;
  };
  if (istarts_with(text, "rediss://")) {
    return fail("TLS connections to Redis are not supported");
  }
  // One row per scheme; redis-cluster:// and redis-sentinel:// come here.
  struct scheme {
    std::string_view prefix;
    broker_url::kind type;
    bool (*parse)(std::string_view rest, redis_endpoint& out, std::string& why);
  };
  static constexpr scheme schemes[] = {
      {"redis://", broker_url::kind::redis, parse_redis_authority},
  };
  for (const scheme& s : schemes) {
    if (!istarts_with(text, s.prefix)) {
      continue;
    }
    broker_url url;
    std::string detail;
    if (!s.parse(text.substr(s.prefix.size()), url.redis, detail)) {
      return fail(detail);
    }
    url.type = s.type;
    url.shown = shown;
    out = std::move(url);
    return true;
  }
  return fail("unknown broker");
}

std::string redact_broker(std::string_view text) {
  const std::size_t scheme = text.find("://");
  const std::size_t at = text.rfind('@');
  if (scheme == std::string_view::npos || at == std::string_view::npos || at < scheme) {
    return std::string(text);
  }
  const std::size_t colon = text.find(':', scheme + 3);
  if (colon == std::string_view::npos || colon > at) {
    // No ':' in the credentials: the whole of them may be a secret.
    return std::string(text.substr(0, scheme + 3)) + "***" + std::string(text.substr(at));
  }
  return std::string(text.substr(0, colon + 1)) + "***" + std::string(text.substr(at));
}

}  // namespace wsa

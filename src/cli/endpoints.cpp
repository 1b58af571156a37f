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

// "[[USER]:PASSWORD@]" at the front of `rest`: removed, and decoded into `out`. What is
// left may not hold URL parameters.
bool take_credentials(std::string_view& rest, redis_endpoint& out, std::string& why) {
  // The last '@' ends the credentials, so a password may hold '@', '/' or ':' unencoded.
  const std::size_t at = rest.rfind('@');
  if (at != std::string_view::npos) {
    const std::string_view userinfo = rest.substr(0, at);
    const std::size_t colon = userinfo.find(':');
    if (colon == std::string_view::npos) {
      why = "credentials need a ':' before the password, e.g. redis://:PASSWORD@HOST";
      return false;
    }
    if (!percent_decode(userinfo.substr(0, colon), out.username) ||
        !percent_decode(userinfo.substr(colon + 1), out.password)) {
      why = "bad %-escape in the credentials";
      return false;
    }
    out.has_password = true;
    rest.remove_prefix(at + 1);
  }
  if (rest.find_first_of("?#") != std::string_view::npos) {
    why = "URL parameters are not supported";
    return false;
  }
  return true;
}

// "HOST[:PORT]": a checked host, and the port (`port` keeps its default when absent).
bool parse_redis_host(std::string_view authority, std::string& host_out, uint16_t& port_out,
                      std::string& why) {
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
    if (!parse_port(port, 1, port_out, why)) {
      return false;
    }
  }
  host_out = std::string(host);
  return true;
}

// "[/DB]" after the first '/' of `text`: parsed into `db` when present, and removed with its
// '/' (`text` keeps what came before).
bool take_db(std::string_view& text, uint32_t& db, std::string& why) {
  const std::size_t slash = text.find('/');
  const std::string_view number = slash == std::string_view::npos ? "" : text.substr(slash + 1);
  text = text.substr(0, slash);
  if (number.empty()) {
    return true;
  }
  uint64_t value = 0;
  std::string detail;
  if (!parse_count(number, 0, 2147483647, value, detail)) {
    why = "bad database number '" + std::string(number) + "'";
    return false;
  }
  db = static_cast<uint32_t>(value);
  return true;
}

// [[USER]:PASSWORD@]HOST[:PORT][/DB], after the scheme.
bool parse_redis_url(std::string_view rest, broker_url& out, std::string& why) {
  redis_endpoint redis;
  if (!take_credentials(rest, redis, why)) {
    return false;
  }
  if (!take_db(rest, redis.db, why) ||
      !parse_redis_host(rest, redis.host, redis.port, why)) {
    return false;
  }
  out.redis = std::move(redis);
  return true;
}

// Seed nodes or sentinels: "HOST[:PORT],HOST[:PORT]..." (at most max_broker_hosts).
constexpr std::size_t max_broker_hosts = 64;

bool parse_host_list(std::string_view list, uint16_t default_port, std::vector<redis_host>& out,
                     std::string& why) {
  out.clear();
  while (true) {
    const std::size_t comma = list.find(',');
    redis_host h;
    h.port = default_port;
    if (!parse_redis_host(list.substr(0, comma), h.host, h.port, why)) {
      return false;
    }
    if (out.size() == max_broker_hosts) {
      why = "more than " + std::to_string(max_broker_hosts) + " servers";
      return false;
    }
    out.push_back(std::move(h));
    if (comma == std::string_view::npos) {
      return true;
    }
    list.remove_prefix(comma + 1);
  }
}

// [[USER]:PASSWORD@]HOST[:PORT][,HOST[:PORT]...], after the scheme.
bool parse_cluster_url(std::string_view rest, broker_url& out, std::string& why) {
  if (!take_credentials(rest, out.redis, why)) {
    return false;
  }
  if (rest.find('/') != std::string_view::npos) {
    why = "Redis Cluster has no database to choose: nothing goes after the nodes";
    return false;
  }
  return parse_host_list(rest, 6379, out.hosts, why);
}

// A name Sentinel monitors: printable, no space or '/', at most 128 bytes.
bool check_master_name(std::string_view name, std::string& why) {
  if (name.empty()) {
    why = "missing master name after the sentinels (.../MASTER-NAME)";
    return false;
  }
  if (name.size() > 128) {
    why = "master name longer than 128 bytes";
    return false;
  }
  for (char c : name) {
    if (c <= ' ' || c > '~') {
      why = "bad character in the master name";
      return false;
    }
  }
  return true;
}

// [[USER]:PASSWORD@]HOST[:PORT][,HOST[:PORT]...]/MASTER-NAME[/DB], after the scheme.
bool parse_sentinel_url(std::string_view rest, broker_url& out, std::string& why) {
  if (!take_credentials(rest, out.redis, why)) {
    return false;
  }
  const std::size_t slash = rest.find('/');
  // No '/': an empty name, which check_master_name refuses.
  std::string_view name = slash == std::string_view::npos ? "" : rest.substr(slash + 1);
  if (!take_db(name, out.redis.db, why) || !check_master_name(name, why)) {
    return false;
  }
  out.master_name = std::string(name);
  return parse_host_list(rest.substr(0, slash), 26379, out.hosts, why);
}

constexpr std::string_view broker_syntax =
    "expected 'embedded', redis://[[USER]:PASSWORD@]HOST[:PORT][/DB], "
    "redis-cluster://[[USER]:PASSWORD@]HOST[:PORT][,HOST[:PORT]...] or "
    "redis-sentinel://[[USER]:PASSWORD@]HOST[:PORT][,HOST[:PORT]...]/MASTER-NAME[/DB]";

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
  // One row per scheme.
  struct scheme {
    std::string_view prefix;
    broker_url::kind type;
    bool (*parse)(std::string_view rest, broker_url& out, std::string& why);
  };
  static constexpr scheme schemes[] = {
      {"redis://", broker_url::kind::redis, parse_redis_url},
      {"redis-cluster://", broker_url::kind::redis_cluster, parse_cluster_url},
      {"redis-sentinel://", broker_url::kind::redis_sentinel, parse_sentinel_url},
  };
  for (const scheme& s : schemes) {
    if (!istarts_with(text, s.prefix)) {
      continue;
    }
    broker_url url;
    std::string detail;
    if (!s.parse(text.substr(s.prefix.size()), url, detail)) {
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

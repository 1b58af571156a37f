// The `wsagent serve` option table: one row per option, with its range, its help text and
// how it shows its default. See options.h for how the rows are applied.
#include <limits>
#include <type_traits>

#include "cli/endpoints.h"
#include "cli/options.h"
#include "cli/values.h"
#include "pubsub/tag.h"

namespace wsa {
namespace {

constexpr uint64_t kib = 1024;
constexpr uint64_t mib = 1024 * kib;
constexpr uint64_t gib = 1024 * mib;
constexpr uint64_t second_ms = 1000;
constexpr uint64_t hour_ms = 3600 * second_ms;
constexpr uint64_t day_s = 24 * 3600;
constexpr uint64_t u32_max = std::numeric_limits<uint32_t>::max();

template <auto field>
using field_type = std::remove_reference_t<decltype(std::declval<config&>().*field)>;

template <auto field, uint64_t min, uint64_t max>
bool set_count(config& c, std::string_view v, std::string& why) {
  uint64_t n = 0;
  if (!parse_count(v, min, max, n, why)) {
    return false;
  }
  c.*field = static_cast<field_type<field>>(n);
  return true;
}

template <auto field, uint64_t min, uint64_t max>
bool set_size(config& c, std::string_view v, std::string& why) {
  uint64_t n = 0;
  if (!parse_size(v, min, max, n, why)) {
    return false;
  }
  c.*field = static_cast<field_type<field>>(n);
  return true;
}

// Both duration setters keep the field's unit (the name ends in _ms or _s).
template <auto field, time_unit unit, uint64_t min, uint64_t max>
bool set_duration(config& c, std::string_view v, std::string& why) {
  uint64_t n = 0;
  if (!parse_duration(v, unit, min, max, n, why)) {
    return false;
  }
  c.*field = static_cast<field_type<field>>(n);
  return true;
}

template <auto field, bool invert>
bool set_bool(config& c, std::string_view v, std::string& why) {
  bool b = false;
  if (!parse_bool(v, b, why)) {
    return false;
  }
  c.*field = invert ? !b : b;
  return true;
}

template <auto field>
bool set_path(config& c, std::string_view v, std::string& why) {
  if (v.empty()) {
    why = "empty file name";
    return false;
  }
  c.*field = std::string(v);
  return true;
}

bool set_listen(config& c, std::string_view v, std::string& why) {
  listen_spec spec;
  if (!parse_listen(v, spec, why)) {
    return false;
  }
  c.listen = std::string(v);
  return true;
}

bool set_broker(config& c, std::string_view v, std::string& why) {
  broker_spec spec;
  if (!parse_broker(v, spec, why)) {
    return false;
  }
  c.broker = std::string(v);
  return true;
}

bool set_node_id(config& c, std::string_view v, std::string& why) {
  // The id goes into every `hello` and into logs and metrics labels: keep it to characters
  // that need no escaping anywhere.
  if (v.size() > 64) {
    why = "node id '" + std::string(v) + "' is longer than 64 characters";
    return false;
  }
  for (char ch : v) {
    const bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                    (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '-' || ch == ':';
    if (!ok) {
      why = "bad node id '" + std::string(v) + "' (letters, digits, '.', '_', '-' and ':' only)";
      return false;
    }
  }
  c.node_id = std::string(v);
  return true;
}

bool set_stats_tag(config& c, std::string_view v, std::string& why) {
  if (!v.empty() && !is_valid_tag(v)) {
    why = "'" + std::string(v) + "' is not an exact tag (printable ASCII segments separated by "
          "'.', no wildcard)";
    return false;
  }
  c.stats_tag = std::string(v);
  return true;
}

bool set_log_level(config& c, std::string_view v, std::string& why) {
  for (std::string_view level : {"debug", "info", "warn", "error"}) {
    if (v == level) {
      c.log_level = std::string(v);
      return true;
    }
  }
  why = "bad log level '" + std::string(v) + "' (expected debug, info, warn or error)";
  return false;
}

bool set_log_format(config& c, std::string_view v, std::string& why) {
  if (v == "text" || v == "json") {
    c.log_format = std::string(v);
    return true;
  }
  why = "bad log format '" + std::string(v) + "' (expected text or json)";
  return false;
}

template <auto field>
std::string show_count(const config& c) {
  return std::to_string(c.*field);
}
template <auto field>
std::string show_size(const config& c) {
  return format_size(c.*field);
}
template <auto field, time_unit unit>
std::string show_duration(const config& c) {
  return format_duration(c.*field, unit);
}
template <auto field>
std::string show_text(const config& c) {
  return c.*field;
}
template <auto field, bool invert>
std::string show_bool(const config& c) {
  return (c.*field != invert) ? "true" : "false";
}

constexpr time_unit ms = time_unit::milliseconds;
constexpr time_unit secs = time_unit::seconds;

// clang-format off
const option_row<config> rows[] = {
  {"config", "FILE", "General",
   "Read options from FILE: one `name = value` per line, names as the long options below, "
   "`#` starts a comment line. Flags and WSAGENT_* variables override the file.",
   nullptr, nullptr, false, true},

  {"listen", "HOST:PORT", "Network",
   "Address to accept WebSocket and HTTP connections on: HOST:PORT, IPV4:PORT, "
   "[IPV6]:PORT, or :PORT for every IPv4 address. Port 0 picks a free port (the log says "
   "which).",
   set_listen, show_text<&config::listen>},
  {"shards", "N", "Network",
   "Shard threads, each with its own io_uring ring, listener and connections (0..1024). "
   "0 starts one per CPU the process may run on.",
   set_count<&config::shards, 0, 1024>,
   [](const config& c) {
     return c.shards == 0 ? std::string("0 (one per CPU)") : std::to_string(c.shards);
   }},
  {"no-pin", "", "Network",
   "Do not pin shard i to the i-th allowed CPU (useful when sharing the machine).",
   set_bool<&config::pin_shards, true>, show_bool<&config::pin_shards, true>},
  {"node-id", "ID", "Network",
   "Name of this node, sent to clients in `hello` and used in logs (up to 64 letters, "
   "digits, '.', '_', '-', ':'). Empty: the host name.",
   set_node_id, [](const config& c) { return c.node_id.empty() ? "the host name" : c.node_id; }},

  {"max-message-bytes", "SIZE", "Limits",
   "Largest inbound WebSocket message, and largest body of POST /api/publish (1..64MiB). "
   "A client that sends more is closed with 1009.",
   set_size<&config::max_message_bytes, 1, 64 * mib>, show_size<&config::max_message_bytes>},
  {"max-connections", "N", "Limits",
   "Open client connections per node (1..4294967295); past it, new connections get HTTP "
   "503.",
   set_count<&config::max_connections, 1, u32_max>, show_count<&config::max_connections>},
  {"max-tags-per-connection", "N", "Limits",
   "Subscriptions one connection may hold (1..65536); a `sub` past it gets an error.",
   set_count<&config::max_tags_per_connection, 1, 65536>,
   show_count<&config::max_tags_per_connection>},
  {"max-outbound-bytes", "SIZE", "Limits",
   "Bytes queued to one slow client (1KiB..1GiB, at least --max-message-bytes); past it the "
   "client is closed with 4008 so that it cannot hold memory or slow the others.",
   set_size<&config::max_outbound_bytes, kib, gib>, show_size<&config::max_outbound_bytes>},
  {"max-header-bytes", "SIZE", "Limits",
   "Largest HTTP request head (1KiB..1MiB); larger ones get 431. Tokens sent in an "
   "Authorization header or ?token= must fit in it.",
   set_size<&config::max_header_bytes, kib, mib>, show_size<&config::max_header_bytes>},
  {"handshake-timeout", "DURATION", "Limits",
   "Time a new connection has to send a complete HTTP request head (1ms..1h; a bare number "
   "is milliseconds).",
   set_duration<&config::handshake_timeout_ms, ms, 1, hour_ms>,
   show_duration<&config::handshake_timeout_ms, ms>},
  {"idle-timeout", "DURATION", "Limits",
   "A client silent this long is pinged, and closed if it does not answer (0..24h; a bare "
   "number is milliseconds; 0 turns idle checks off). Checked once a second.",
   set_duration<&config::idle_timeout_ms, ms, 0, 24 * hour_ms>,
   show_duration<&config::idle_timeout_ms, ms>},
  {"drain-timeout", "DURATION", "Limits",
   "On SIGTERM or SIGINT: stop accepting, close clients with 1001, and exit within this "
   "time (0..1h; a bare number is milliseconds).",
   set_duration<&config::drain_timeout_ms, ms, 0, hour_ms>,
   show_duration<&config::drain_timeout_ms, ms>},

  {"broker", "URL", "Broker",
   "`embedded` (one node, in process) or redis://[[USER]:PASSWORD@]HOST[:PORT][/DB] for many "
   "nodes sharing one Redis (port 6379 and database 0 by default; %-escape special "
   "characters in the password). Prefer WSAGENT_BROKER or the config file when the URL holds "
   "a password: the command line is visible to every user of the machine.",
   set_broker, show_text<&config::broker>},
  {"history-size", "N", "Broker",
   "Messages kept per tag for clients recovering with `since` (0..1000000; 0 keeps none).",
   set_count<&config::history_size, 0, 1000000>, show_count<&config::history_size>},
  {"history-max-age", "DURATION", "Broker",
   "Redis broker: also trim a tag's history older than this (0..365d; a bare number is "
   "seconds; 0 trims by count only).",
   set_duration<&config::history_max_age_s, secs, 0, 365 * day_s>,
   show_duration<&config::history_max_age_s, secs>},

  {"no-auth", "", "Authentication",
   "Development only: accept every client without a token and let it publish and subscribe "
   "to everything. Without it the server refuses to start unless --jwks or "
   "--hmac-secret-file gives a key; with it, keys are ignored.",
   set_bool<&config::no_auth, false>, show_bool<&config::no_auth, false>},
  {"jwks", "FILE", "Authentication",
   "JSON Web Key Set (RFC 7517) of Ed25519 public keys (`kty` OKP, `crv` Ed25519) that "
   "verify EdDSA tokens; several keys with distinct `kid` allow rotation. `wsagent keygen` "
   "writes one.",
   set_path<&config::jwks_file>, nullptr},
  {"hmac-secret-file", "FILE", "Authentication",
   "File holding the shared secret that verifies HS256 tokens (its bytes, a trailing newline "
   "removed). The secret itself is never accepted on the command line.",
   set_path<&config::hmac_secret_file>, nullptr},
  {"auth-timeout", "DURATION", "Authentication",
   "Time a client connected without a token has to send its first `auth` frame (1ms..1h; a "
   "bare number is milliseconds).",
   set_duration<&config::auth_timeout_ms, ms, 1, hour_ms>,
   show_duration<&config::auth_timeout_ms, ms>},
  {"token-leeway", "DURATION", "Authentication",
   "Clock skew allowed when checking a token's `exp` and `nbf` (0..1h; a bare number is "
   "seconds).",
   set_duration<&config::token_leeway_s, secs, 0, 3600>,
   show_duration<&config::token_leeway_s, secs>},
  {"max-token-bytes", "SIZE", "Authentication",
   "Longer tokens are refused without being decoded (64..64KiB).",
   set_size<&config::max_token_bytes, 64, 64 * kib>, show_size<&config::max_token_bytes>},

  {"log-level", "LEVEL", "Observability",
   "Least severe log lines written to stderr: debug, info, warn or error. Metrics are served "
   "at GET /metrics, health at GET /healthz and GET /readyz on the --listen address.",
   set_log_level, show_text<&config::log_level>},
  {"log-format", "FORMAT", "Observability",
   "text: one logfmt line per event (key=value). json: one JSON object per line with the "
   "same fields (ts, level, shard, msg, then the event's own), for log collectors.",
   set_log_format, show_text<&config::log_format>},
  {"stats-tag", "TAG", "Observability",
   "Publish this node's counters (connections, subscriptions, messages and bytes in and out, "
   "slow-consumer closes, errors; in total and per shard) as one JSON message to TAG once a "
   "second, like Mosquitto's $SYS topics: dashboards subscribe to it like to any tag (with "
   "the usual permissions). Empty: off.",
   set_stats_tag, nullptr},

  {"static", "DIR", "Web",
   "Serve the files of DIR under / beside /ws (web pages that use the server, e.g. demo/). "
   "Read once at startup, at most 10000 files, 16MiB each and 64MiB in all (more refuses to "
   "start); names starting with '.' and symbolic links are skipped; GET and HEAD only; "
   "dir/ serves dir/index.html; no listings; ETag with Cache-Control: no-cache.",
   set_path<&config::static_dir>, nullptr},
};
// clang-format on

constexpr refused_option refused[] = {
    {"hmac-secret",
     "secrets are not accepted on the command line (every user of the machine can read it, "
     "and shells keep it in their history); write the secret to a file readable only by "
     "wsagent and pass --hmac-secret-file FILE"},
};

}  // namespace

std::span<const option_row<config>> serve_options() { return rows; }

std::span<const refused_option> serve_refused_options() { return refused; }

}  // namespace wsa

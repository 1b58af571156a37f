// `wsagent serve` options: the table and the layering of flags, environment and config
// file. See options.h.
#include "cli/options.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>
#include <type_traits>

#include "cli/endpoints.h"
#include "cli/help.h"
#include "cli/values.h"

namespace wsa {
namespace {

constexpr uint64_t kib = 1024;
constexpr uint64_t mib = 1024 * kib;
constexpr uint64_t gib = 1024 * mib;
constexpr uint64_t second_ms = 1000;
constexpr uint64_t hour_ms = 3600 * second_ms;
constexpr uint64_t day_s = 24 * 3600;
constexpr uint64_t u32_max = std::numeric_limits<uint32_t>::max();
constexpr std::size_t max_config_file_bytes = 1 << 20;

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
};
// clang-format on

constexpr std::size_t config_row = 0;

std::size_t find_row(std::string_view name) {
  for (std::size_t i = 0; i < std::size(rows); ++i) {
    if (rows[i].name == name) {
      return i;
    }
  }
  return std::size(rows);
}

std::vector<std::string_view> row_names(bool include_config) {
  std::vector<std::string_view> names;
  for (const auto& row : rows) {
    if (include_config || row.set != nullptr) {
      names.push_back(row.name);
    }
  }
  return names;
}

constexpr refused_option refused[] = {
    {"hmac-secret",
     "secrets are not accepted on the command line (every user of the machine can read it, "
     "and shells keep it in their history); write the secret to a file readable only by "
     "wsagent and pass --hmac-secret-file FILE"},
};

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

bool read_file(const std::string& path, std::string& out, std::string& why) {
  FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) {
    why = "cannot read config file '" + path + "': " + std::strerror(errno);
    return false;
  }
  out.clear();
  char buffer[4096];
  std::size_t n = 0;
  while ((n = std::fread(buffer, 1, sizeof buffer, file)) > 0) {
    out.append(buffer, n);
    if (out.size() > max_config_file_bytes) {
      std::fclose(file);
      why = "config file '" + path + "' is larger than 1MiB";
      return false;
    }
  }
  const bool failed = std::ferror(file) != 0;
  const int error = errno;
  std::fclose(file);
  if (failed) {
    why = "cannot read config file '" + path + "': " + std::strerror(error);
    return false;
  }
  return true;
}

}  // namespace

std::span<const option_row<config>> serve_options() { return rows; }

bool apply_config_text(std::string_view text, std::string_view origin, config& out,
                       std::string& why, std::vector<std::size_t>* set_rows) {
  if (text.starts_with("\xEF\xBB\xBF")) {  // a UTF-8 byte order mark from some editors
    text.remove_prefix(3);
  }
  const std::vector<std::string_view> names = row_names(false);
  std::vector<std::size_t> line_of(std::size(rows), 0);
  std::size_t line_number = 0;
  while (!text.empty()) {
    ++line_number;
    const std::size_t end = text.find('\n');
    const std::string_view line = trim(text.substr(0, end));
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
    if (line.empty() || line.front() == '#') {
      continue;
    }
    const std::string where = std::string(origin) + ":" + std::to_string(line_number) + ": ";
    const std::size_t eq = line.find('=');
    if (eq == std::string_view::npos) {
      why = where + "expected 'name = value', got '" + std::string(line) + "'";
      return false;
    }
    const std::string_view key = trim(line.substr(0, eq));
    std::string_view value = trim(line.substr(eq + 1));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
      value = value.substr(1, value.size() - 2);
    }
    const std::size_t row = find_row(key);
    if (row == config_row) {
      why = where +
            "a config file cannot name another one ('config' is for the command "
            "line or WSAGENT_CONFIG)";
      return false;
    }
    if (row == std::size(rows)) {
      why = where + "unknown key '" + std::string(key) + "'";
      const std::string_view guess = closest_name(key, names);
      if (!guess.empty()) {
        why += " (did you mean " + std::string(guess) + "?)";
      }
      return false;
    }
    if (line_of[row] != 0) {
      why = where + "'" + std::string(key) + "' is already set on line " +
            std::to_string(line_of[row]);
      return false;
    }
    line_of[row] = line_number;
    std::string detail;
    if (!rows[row].set(out, value, detail)) {
      why = where + std::string(key) + ": " + detail;
      return false;
    }
    if (set_rows != nullptr) {
      set_rows->push_back(row);
    }
  }
  return true;
}

bool validate_config(const config& cfg, std::string& why) {
  if (cfg.max_outbound_bytes < cfg.max_message_bytes) {
    why = "--max-outbound-bytes (" + format_size(cfg.max_outbound_bytes) +
          ") must be at least --max-message-bytes (" + format_size(cfg.max_message_bytes) +
          "), or no subscriber could be sent a message of the largest size";
    return false;
  }
  if (!cfg.no_auth && cfg.jwks_file.empty() && cfg.hmac_secret_file.empty()) {
    why =
        "authentication is on and no key is configured: give --jwks FILE (Ed25519 public "
        "keys, see 'wsagent keygen') and/or --hmac-secret-file FILE, or --no-auth for local "
        "development";
    return false;
  }
  return true;
}

parse_status parse_serve_args(std::span<const std::string_view> args,
                              std::span<const std::string_view> env, config& out,
                              std::string& message, std::vector<std::string>& warnings) {
  constexpr std::string_view command = "wsagent serve";
  std::vector<option_use> uses;
  const std::vector<option_spec> specs = specs_of(serve_options());
  const parse_status split = split_command_line(args, specs, refused, command, uses, message);
  if (split == parse_status::exit_success) {
    message = serve_help();
    return split;
  }
  if (split != parse_status::ok) {
    return split;
  }

  // Where the config file comes from: the last --config, else WSAGENT_CONFIG.
  std::string config_path;
  std::string config_source;
  const std::string config_env = env_name("config");
  for (std::string_view entry : env) {
    const std::size_t eq = entry.find('=');
    if (eq != std::string_view::npos && entry.substr(0, eq) == config_env &&
        eq + 1 < entry.size()) {
      config_path = std::string(entry.substr(eq + 1));
      config_source = config_env;
    }
  }
  for (const option_use& use : uses) {
    if (use.row == config_row) {
      config_path = std::string(use.value);
      config_source = use.spelled;
    }
  }

  config cfg;
  if (!config_source.empty()) {
    std::string text;
    std::string why;
    if (config_path.empty()) {
      message = config_source + ": empty file name";
      return parse_status::error;
    }
    if (!read_file(config_path, text, why)) {
      message = config_source + ": " + why;
      return parse_status::error;
    }
    if (!apply_config_text(text, config_path, cfg, message)) {
      return parse_status::error;
    }
  }

  std::vector<std::string> env_names;
  for (const auto& row : rows) {
    if (row.set != nullptr) {
      env_names.push_back(env_name(row.name));
    }
  }
  std::vector<std::string_view> env_name_views(env_names.begin(), env_names.end());
  for (std::string_view entry : env) {
    if (!entry.starts_with("WSAGENT_")) {
      continue;
    }
    const std::size_t eq = entry.find('=');
    const std::string_view name = entry.substr(0, eq);
    const std::string_view value =
        eq == std::string_view::npos ? std::string_view() : entry.substr(eq + 1);
    if (name == config_env || value.empty()) {
      continue;  // empty counts as unset, as shells and container tools often leave them
    }
    std::size_t row = std::size(rows);
    for (std::size_t i = 0; i < std::size(rows); ++i) {
      if (rows[i].set != nullptr && env_name(rows[i].name) == name) {
        row = i;
        break;
      }
    }
    if (row == std::size(rows)) {
      std::string warning = "environment variable " + std::string(name) +
                            " is not an option "
                            "and is ignored";
      const std::string_view guess = closest_name(name, env_name_views);
      if (!guess.empty()) {
        warning += " (did you mean " + std::string(guess) + "?)";
      }
      warnings.push_back(std::move(warning));
      continue;
    }
    std::string why;
    if (!rows[row].set(cfg, value, why)) {
      message = std::string(name) + ": " + why;
      return parse_status::error;
    }
  }

  bool broker_on_command_line = false;
  for (const option_use& use : uses) {
    if (use.row == config_row) {
      continue;
    }
    std::string why;
    if (!rows[use.row].set(cfg, use.value, why)) {
      message = use.spelled + ": " + why;
      return parse_status::error;
    }
    broker_on_command_line |= rows[use.row].name == "broker";
  }

  if (!validate_config(cfg, message)) {
    return parse_status::error;
  }
  broker_spec broker;
  parse_broker(cfg.broker, broker, message);
  if (broker_on_command_line && broker.redis.has_password) {
    warnings.push_back(
        "the Redis password in --broker is visible to every user of this machine (ps, "
        "/proc); set it in WSAGENT_BROKER or the config file instead");
  }
  if (broker.type == broker_spec::kind::embedded && cfg.history_max_age_s != 0) {
    warnings.push_back(
        "--history-max-age applies to the Redis broker only; the embedded "
        "broker trims its history by --history-size");
  }
  if (cfg.no_auth && (!cfg.jwks_file.empty() || !cfg.hmac_secret_file.empty())) {
    warnings.push_back(
        "--no-auth is set: the configured keys are ignored and every client "
        "may publish and subscribe to everything");
  }
  message.clear();
  out = std::move(cfg);
  return parse_status::ok;
}

parse_status parse_serve_args(int argc, char** argv, char** envp, config& out, std::string& message,
                              std::vector<std::string>& warnings) {
  const std::vector<std::string_view> args = to_views(argc, argv);
  std::vector<std::string_view> env;
  for (char** e = envp; e != nullptr && *e != nullptr; ++e) {
    env.emplace_back(*e);
  }
  return parse_serve_args(args, env, out, message, warnings);
}

}  // namespace wsa

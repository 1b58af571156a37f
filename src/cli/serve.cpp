// `wsagent serve` after CLI11: the config file, the checks between options, the warnings.
// See serve.h.
#include "cli/serve.h"

#include <CLI/CLI.hpp>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <algorithm>
#include <set>
#include <sstream>

extern char** environ;

namespace wsa {
namespace {

constexpr std::size_t max_config_file_bytes = 1 << 20;

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

// Long names of the options a file or a variable may set.
std::vector<std::string> settable_names(const CLI::App& serve) {
  std::vector<std::string> names;
  for (const CLI::Option* option : serve.get_options()) {
    if (option != serve.get_help_ptr() && !option->get_lnames().empty() &&
        option->get_lnames().front() != "config") {
      names.push_back(option->get_lnames().front());
    }
  }
  return names;
}

std::string did_you_mean(std::string_view name, const std::vector<std::string>& names,
                         std::string_view prefix = "") {
  const std::vector<std::string_view> candidates(names.begin(), names.end());
  const std::string_view guess = closest_name(name, candidates);
  return guess.empty() ? "" : " (did you mean " + std::string(prefix) + std::string(guess) + "?)";
}

// CLI11's parser splits `name = value` lines, trims them, removes quotes and skips `#` and
// `;` comment lines. Tuned so that a value is taken whole: no inline comments (a Redis
// password may hold '#' or ';') and no arrays (a listen address may start with '[').
std::vector<CLI::ConfigItem> config_items(const std::string& text) {
  CLI::ConfigBase format;
  format.comment('\n')->arrayBounds('\n', '\n')->arrayDelimiter('\n');
  std::istringstream in(text.starts_with("\xEF\xBB\xBF") ? text.substr(3) : text);
  return format.from_config(in);
}

// Sets, from the file, every option that neither a flag nor a variable set.
bool apply_config_file(CLI::App& serve, const std::string& path, const std::string& text,
                       std::string& message) {
  const std::vector<std::string> names = settable_names(serve);
  std::set<std::string> seen;
  for (const CLI::ConfigItem& item : config_items(text)) {
    if (item.name == "++" || item.name == "--") {
      continue;  // CLI11's marks for the start and end of a [section]; its keys are refused
    }
    const std::string key = item.fullname();
    const std::string where = path + ": ";
    if (key == "config") {
      message = where +
                "a config file cannot name another one ('config' is for the command line or "
                "WSAGENT_CONFIG)";
      return false;
    }
    CLI::Option* option = item.parents.empty() ? serve.get_option_no_throw("--" + key) : nullptr;
    if (option == nullptr || option == serve.get_help_ptr()) {
      message = where + "unknown key '" + key + "'" + did_you_mean(key, names);
      return false;
    }
    if (!seen.insert(key).second || item.inputs.size() != 1) {
      message = where + "'" + key + "' is set more than once";
      return false;
    }
    if (option->count() > 0) {
      continue;  // a flag or a WSAGENT_* variable wins
    }
    option->add_result(item.inputs);
    try {
      option->run_callback();
    } catch (const CLI::ValidationError& e) {
      const std::string flag = "--" + key + ": ";
      const std::string what = e.what();
      message = where + key + ": " + (what.starts_with(flag) ? what.substr(flag.size()) : what);
      return false;
    }
  }
  return true;
}

// WSAGENT_* variables that are no option: warned about, not refused, as scripts around
// wsagent (and our own, e.g. WSAGENT_WITH_PEERS) use the prefix too.
void warn_unknown_variables(const CLI::App& serve, std::vector<std::string>& warnings) {
  std::vector<std::string> variables;
  for (const CLI::Option* option : serve.get_options()) {
    if (!option->get_envname().empty()) {
      variables.push_back(option->get_envname());
    }
  }
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    const std::string_view text(*entry);
    const std::string_view name = text.substr(0, text.find('='));
    if (!name.starts_with("WSAGENT_") || text.size() == name.size() + 1 ||
        std::find(variables.begin(), variables.end(), name) != variables.end()) {
      continue;
    }
    warnings.push_back("environment variable " + std::string(name) +
                       " is not an option and is ignored" + did_you_mean(name, variables));
  }
}

// Settings that are valid but probably not what the operator meant.
void warn_ineffective(const config& cfg, std::span<const std::string> args,
                      std::vector<std::string>& warnings) {
  if (cfg.broker.redis.has_password && value_source(args, "broker") == "--broker") {
    warnings.push_back(
        "the Redis password in --broker is visible to every user of this machine (ps, /proc); "
        "set it in WSAGENT_BROKER or the config file instead");
  }
  const config defaults;
  if (cfg.broker.type == broker_url::kind::embedded &&
      (cfg.redis_key_ttl_s != defaults.redis_key_ttl_s ||
       cfg.redis_max_patterns != defaults.redis_max_patterns)) {
    warnings.push_back("--redis-key-ttl and --redis-max-patterns apply to the Redis broker only");
  }
  if (cfg.broker.type == broker_url::kind::redis &&
      cfg.history_max_bytes != defaults.history_max_bytes) {
    warnings.push_back(
        "--history-max-bytes applies to the embedded broker only; with Redis, history lives in "
        "Redis (bound it with --history-size, --history-max-age and Redis' maxmemory)");
  }
  // A history read returns up to --history-size messages (plus ids and fields): it must fit.
  const uint64_t history_read =
      uint64_t{cfg.history_size} * (uint64_t{cfg.max_message_bytes} + 256);
  if (cfg.broker.type != broker_url::kind::embedded &&
      history_read > cfg.redis_max_reply_bytes) {
    warnings.push_back("--redis-max-reply-bytes (" + format_size(cfg.redis_max_reply_bytes) +
                       ") is below a full history read (--history-size messages of "
                       "--max-message-bytes: " +
                       format_size(history_read) +
                       "): such a read would drop the Redis connection");
  }
  if (cfg.no_auth && (!cfg.jwks_file.empty() || !cfg.hmac_secret_file.empty())) {
    warnings.push_back(
        "--no-auth is set: the configured keys are ignored and every client may publish and "
        "subscribe to everything");
  }
}

// Test-only settings (docs/testing.md), read with the rest of the configuration. A value
// that cannot work is ignored with a warning.
void read_test_settings(config& cfg, std::vector<std::string>& warnings) {
  // WSA_TEST_MQTT_HELD_TTL_MS: a held session's record expires this soon in Redis unless its
  // holder renews it, so that a test sees a renewal instead of waiting 7 days.
  if (const char* held = std::getenv("WSA_TEST_MQTT_HELD_TTL_MS")) {
    const unsigned long long ms = std::strtoull(held, nullptr, 10);
    if (ms < 1000 || ms > uint64_t{7} * 24 * 3600 * 1000) {
      warnings.push_back("WSA_TEST_MQTT_HELD_TTL_MS=" + std::string(held) +
                         " ignored: from 1000 to 604800000");
    } else {
      cfg.test_mqtt_held_ttl_ms = ms;
    }
  }
  // WSA_TEST_MAILBOX_BYTES: rings between shards this small, so that one receive of
  // publishes overflows them for sure. Records must still fit in half a ring.
  const char* text = std::getenv("WSA_TEST_MAILBOX_BYTES");
  if (text == nullptr) {
    return;
  }
  const unsigned long long bytes = std::strtoull(text, nullptr, 10);
  if (bytes < 4096 || (bytes & (bytes - 1)) != 0 ||
      bytes / 2 < uint64_t{cfg.max_message_bytes} + 1024) {
    warnings.push_back("WSA_TEST_MAILBOX_BYTES=" + std::string(text) +
                       " ignored: a power of two from 4096, at least 2 x (--max-message-bytes "
                       "+ 1KiB)");
    return;
  }
  cfg.test_mailbox_bytes = bytes;
}

}  // namespace

std::string value_source(std::span<const std::string> args, std::string_view name) {
  const std::string flag = "--" + std::string(name);
  for (const std::string& arg : args) {
    if (arg == "--") {
      break;
    }
    if (arg == flag || arg.starts_with(flag + "=")) {
      return flag;
    }
  }
  return env_name(name);
}

bool validate_config(const config& cfg, std::string& why) {
  if (cfg.max_outbound_bytes < cfg.max_message_bytes) {
    why = "--max-outbound-bytes (" + format_size(cfg.max_outbound_bytes) +
          ") must be at least --max-message-bytes (" + format_size(cfg.max_message_bytes) +
          "), or no subscriber could be sent a message of the largest size";
    return false;
  }
  if (cfg.drain_spread_ms != 0 && cfg.drain_spread_ms >= cfg.drain_timeout_ms) {
    why = "--drain-spread (" + std::to_string(cfg.drain_spread_ms) +
          " ms) must be less than --drain-timeout (" + std::to_string(cfg.drain_timeout_ms) +
          " ms): the last clients told to go need time to leave";
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

bool finish_serve(CLI::App& serve, std::span<const std::string> args,
                  const std::string& config_file, config& cfg, std::string& message,
                  std::vector<std::string>& warnings) {
  if (!config_file.empty()) {
    std::string text;
    if (!read_file(config_file, text, message)) {
      message = value_source(args, "config") + ": " + message;
      return false;
    }
    if (!apply_config_file(serve, config_file, text, message)) {
      return false;
    }
  }
  if (!validate_config(cfg, message)) {
    return false;
  }
  warn_unknown_variables(serve, warnings);
  warn_ineffective(cfg, args, warnings);
  read_test_settings(cfg, warnings);
  return true;
}

}  // namespace wsa

// `wsagent serve` options: layering flags, environment and config file over the defaults,
// then checking the result. The rows themselves are in serve_table.cpp. See options.h.
#include "cli/options.h"

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "cli/endpoints.h"
#include "cli/help.h"
#include "cli/values.h"

namespace wsa {
namespace {

constexpr std::size_t max_config_file_bytes = 1 << 20;

constexpr std::size_t config_row = 0;  // --config: applied before every other option

// The row index, or the row count when there is no such option.
std::size_t find_row(std::string_view name) {
  const std::span<const option_row<config>> rows = serve_options();
  for (std::size_t i = 0; i < rows.size(); ++i) {
    if (rows[i].name == name) {
      return i;
    }
  }
  return rows.size();
}

// Names that may appear in a config file or, as WSAGENT_*, in the environment.
std::vector<std::string_view> settable_names() {
  std::vector<std::string_view> names;
  for (const auto& row : serve_options()) {
    if (row.set != nullptr) {
      names.push_back(row.name);
    }
  }
  return names;
}

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

// "NAME=value" -> name and value ("" when there is no '=').
void split_env(std::string_view entry, std::string_view& name, std::string_view& value) {
  const std::size_t eq = entry.find('=');
  name = entry.substr(0, eq);
  value = eq == std::string_view::npos ? std::string_view() : entry.substr(eq + 1);
}

// The config file named by the last --config, else by WSAGENT_CONFIG, if any.
bool apply_config_file(std::span<const option_use> uses, std::span<const std::string_view> env,
                       config& cfg, std::string& message) {
  std::string path;
  std::string source;
  const std::string config_env = env_name("config");
  for (std::string_view entry : env) {
    std::string_view name;
    std::string_view value;
    split_env(entry, name, value);
    if (name == config_env && !value.empty()) {
      path = std::string(value);
      source = config_env;
    }
  }
  for (const option_use& use : uses) {
    if (use.row == config_row) {
      path = std::string(use.value);
      source = use.spelled;
    }
  }
  if (source.empty()) {
    return true;
  }
  if (path.empty()) {
    message = source + ": empty file name";
    return false;
  }
  std::string text;
  std::string why;
  if (!read_file(path, text, why)) {
    message = source + ": " + why;
    return false;
  }
  return apply_config_text(text, path, cfg, message);
}

// WSAGENT_* variables. Unknown ones are warned about, not refused: scripts around wsagent
// (and our own, e.g. WSAGENT_WITH_PEERS) use the prefix too.
bool apply_environment(std::span<const std::string_view> env, config& cfg, std::string& message,
                       std::vector<std::string>& warnings) {
  const std::span<const option_row<config>> rows = serve_options();
  std::vector<std::string> names;
  for (const auto& row : rows) {
    names.push_back(row.set != nullptr ? env_name(row.name) : std::string());
  }
  const std::string config_env = env_name("config");
  for (std::string_view entry : env) {
    std::string_view name;
    std::string_view value;
    split_env(entry, name, value);
    // Empty counts as unset, as compose files and shell defaults (${X:-}) often leave them.
    if (!name.starts_with("WSAGENT_") || name == config_env || value.empty()) {
      continue;
    }
    std::size_t row = 0;
    while (row < rows.size() && names[row] != name) {
      ++row;
    }
    if (row == rows.size()) {
      std::string warning =
          "environment variable " + std::string(name) + " is not an option and is ignored";
      const std::vector<std::string_view> candidates(names.begin(), names.end());
      const std::string_view guess = closest_name(name, candidates);
      if (!guess.empty()) {
        warning += " (did you mean " + std::string(guess) + "?)";
      }
      warnings.push_back(std::move(warning));
      continue;
    }
    std::string why;
    if (!rows[row].set(cfg, value, why)) {
      message = std::string(name) + ": " + why;
      return false;
    }
  }
  return true;
}

bool apply_flags(std::span<const option_use> uses, config& cfg, std::string& message) {
  for (const option_use& use : uses) {
    if (use.row == config_row) {
      continue;
    }
    std::string why;
    if (!serve_options()[use.row].set(cfg, use.value, why)) {
      message = use.spelled + ": " + why;
      return false;
    }
  }
  return true;
}

// Settings that are valid but probably not what the operator meant.
void add_warnings(const config& cfg, std::span<const option_use> uses,
                  std::vector<std::string>& warnings) {
  broker_spec broker;
  std::string unused;
  parse_broker(cfg.broker, broker, unused);  // checked when it was set
  bool broker_on_command_line = false;
  for (const option_use& use : uses) {
    broker_on_command_line |= serve_options()[use.row].name == "broker";
  }
  if (broker_on_command_line && broker.redis.has_password) {
    warnings.push_back(
        "the Redis password in --broker is visible to every user of this machine (ps, /proc); "
        "set it in WSAGENT_BROKER or the config file instead");
  }
  if (broker.type == broker_spec::kind::embedded && cfg.history_max_age_s != 0) {
    warnings.push_back(
        "--history-max-age applies to the Redis broker only; the embedded broker trims its "
        "history by --history-size");
  }
  if (cfg.no_auth && (!cfg.jwks_file.empty() || !cfg.hmac_secret_file.empty())) {
    warnings.push_back(
        "--no-auth is set: the configured keys are ignored and every client may publish and "
        "subscribe to everything");
  }
}

}  // namespace

bool apply_config_text(std::string_view text, std::string_view origin, config& out,
                       std::string& why, std::vector<std::size_t>* set_rows) {
  if (text.starts_with("\xEF\xBB\xBF")) {  // a UTF-8 byte order mark from some editors
    text.remove_prefix(3);
  }
  const std::vector<std::string_view> names = settable_names();
  const std::span<const option_row<config>> rows = serve_options();
  std::vector<std::size_t> line_of(rows.size(), 0);
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
    if (row == rows.size()) {
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
  std::vector<option_use> uses;
  const std::vector<option_spec> specs = specs_of(serve_options());
  const parse_status split =
      split_command_line(args, specs, serve_refused_options(), "wsagent serve", uses, message);
  if (split == parse_status::exit_success) {
    message = serve_help();
  }
  if (split != parse_status::ok) {
    return split;
  }
  // Lowest precedence first, each layer overwriting what the one before set.
  config cfg;
  if (!apply_config_file(uses, env, cfg, message) ||
      !apply_environment(env, cfg, message, warnings) || !apply_flags(uses, cfg, message) ||
      !validate_config(cfg, message)) {
    return parse_status::error;
  }
  add_warnings(cfg, uses, warnings);
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

// `wsagent serve` options: argv + WSAGENT_* environment + optional config file -> config.
// Precedence, highest first: command-line flags, WSAGENT_* variables, the config file
// (--config FILE or WSAGENT_CONFIG), the defaults in include/wsa/config.h.
// Config file: `name = value` lines with the long option names, `#` comment lines, blank
// lines; a value may be wrapped in double quotes. Empty WSAGENT_* variables count as unset.
// Startup only, one thread.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "cli/option_table.h"
#include "wsa/config.h"

namespace wsa {

/// The rows of `wsagent serve`, in help order (one row per option, --config first).
std::span<const option_row<config>> serve_options();

/// Options refused on purpose (a secret on the command line), with the way to do it instead.
std::span<const refused_option> serve_refused_options();

/// Parses `args` (the words after "serve") and `env` ("NAME=value" entries; only WSAGENT_*
/// ones are read). On ok, `out` holds the whole configuration, validated (ranges, --listen
/// and --broker syntax, and the combinations: auth needs a key unless --no-auth, the
/// outbound limit must hold one largest message) and `warnings` lists what deserves a
/// log line (e.g. an unknown WSAGENT_* variable). On exit_success, `message` is the help
/// text; on error, it is one precise sentence (plus a hint line) naming the source:
/// "--shards: '2000' is out of range (0..1024)", "WSAGENT_SHARDS: ...",
/// "/etc/wsagent.conf:12: unknown key 'listne' (did you mean listen?)".
parse_status parse_serve_args(std::span<const std::string_view> args,
                              std::span<const std::string_view> env, config& out,
                              std::string& message, std::vector<std::string>& warnings);

/// The same with the process's argc/argv (after "serve") and envp (e.g. `environ`).
parse_status parse_serve_args(int argc, char** argv, char** envp, config& out, std::string& message,
                              std::vector<std::string>& warnings);

/// Applies the text of a config file onto `out` (lines as described above). `origin` names
/// the file in errors. `set_rows`, when not null, gets the index of every row the file set.
bool apply_config_text(std::string_view text, std::string_view origin, config& out,
                       std::string& why, std::vector<std::size_t>* set_rows = nullptr);

/// Checks that hold between options (run after all sources are applied).
bool validate_config(const config& cfg, std::string& why);

}  // namespace wsa

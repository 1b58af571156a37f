// `wsagent serve`: its options (serve_options.cpp) and what happens after CLI11 has read
// the flags and WSAGENT_* variables (serve.cpp): the config file fills what neither set,
// then the checks between options and the warnings. Startup only, one thread.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "cli/option_set.h"
#include "wsa/config.h"

namespace CLI {
class App;
}  // namespace CLI

namespace wsa {

/// Options that do not exist on purpose, with the reason given instead of "unknown".
struct refused_option {
  std::string_view name;
  std::string_view reason;
};

/// Declares every serve option onto `o`, each writing into `c` (whose values are the
/// defaults shown in the help). --config writes the file name into `config_file`.
void declare_serve_options(option_set& o, config& c, std::string& config_file);

/// Options refused on purpose (a secret on the command line), with the way to do it instead.
std::span<const refused_option> serve_refused_options();

/// Where a value of option `name` came from, for messages: "--name" when `args` (the words
/// after the subcommand) give it, else its WSAGENT_* variable.
std::string value_source(std::span<const std::string> args, std::string_view name);

/// After CLI11 parsed `serve` (flags over WSAGENT_* variables): applies `config_file`, if
/// any, under them, checks the combinations and collects `warnings`. On failure `message`
/// is one sentence naming the source (flag, variable, or file and key).
bool finish_serve(CLI::App& serve, std::span<const std::string> args,
                  const std::string& config_file, config& cfg, std::string& message,
                  std::vector<std::string>& warnings);

/// Checks that hold between options (run after all sources are applied).
bool validate_config(const config& cfg, std::string& why);

}  // namespace wsa

// The option table every subcommand is described by: one row per option (name, value
// name, help text, a setter into the subcommand's settings struct, a way to show the
// default), and the command-line walker that turns argv into (row, value) uses. The same
// rows drive the WSAGENT_* variables, the config file and the help text, so an option
// cannot exist in one and be missing from another. Startup only, one thread.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace wsa {

enum class parse_status {
  ok,            ///< settings filled in; go on
  exit_success,  ///< help was asked for: print the message to stdout, exit 0
  error,         ///< print the message to stderr, exit 2
};

template <class Target>
struct option_row {
  std::string_view name;        ///< long name without dashes: "max-message-bytes"
  std::string_view value_name;  ///< "SIZE"; empty: a flag that takes no value
  std::string_view group;       ///< heading in the help text; rows of a group are adjacent
  std::string_view help;        ///< one or more sentences, wrapped when printed
  /// Parses `value` into the target; on failure leaves `why` (without the option's name).
  /// Flags get "true" when given bare on the command line. nullptr: handled by the caller.
  bool (*set)(Target&, std::string_view value, std::string& why) = nullptr;
  /// The default, as the user would write it; nullptr: nothing to show.
  std::string (*show_default)(const Target&) = nullptr;
  bool repeatable = false;         ///< each use adds a value (else the last one wins)
  bool command_line_only = false;  ///< no config file key (--config itself)
};

/// "max-message-bytes" -> "WSAGENT_MAX_MESSAGE_BYTES".
std::string env_name(std::string_view option_name);

/// What the walker needs to know of a row.
struct option_spec {
  std::string_view name;
  bool takes_value = false;
};

/// Options that do not exist on purpose, with the reason given instead of "unknown".
struct refused_option {
  std::string_view name;
  std::string_view reason;
};

/// One option as given on the command line.
struct option_use {
  std::size_t row = 0;     ///< index into the specs
  std::string_view value;  ///< "true" for a bare flag
  std::string spelled;     ///< "--listen": how to name it in an error
};

/// Walks `args` (the words after the subcommand). `--name value` and `--name=value` both
/// work; a flag takes no separate value but accepts `--flag=false`. `-h`/`--help` anywhere
/// (before a `--`) returns exit_success and nothing else is checked. Unknown options get the
/// closest known name as a suggestion; their value is never repeated (it may be a secret).
/// `command` ("wsagent serve") prefixes nothing but is named in the hint to run --help.
parse_status split_command_line(std::span<const std::string_view> args,
                                std::span<const option_spec> specs,
                                std::span<const refused_option> refused, std::string_view command,
                                std::vector<option_use>& uses, std::string& why);

template <class Target>
std::vector<option_spec> specs_of(std::span<const option_row<Target>> rows) {
  std::vector<option_spec> specs;
  specs.reserve(rows.size());
  for (const auto& row : rows) {
    specs.push_back({row.name, !row.value_name.empty()});
  }
  return specs;
}

/// Command-line-only parsing for the tool subcommands (keygen, token): every use is applied
/// in order through its row's setter.
template <class Target>
parse_status parse_flags(std::span<const option_row<Target>> rows,
                         std::span<const std::string_view> args,
                         std::span<const refused_option> refused, std::string_view command,
                         Target& out, std::string& message) {
  std::vector<option_use> uses;
  const std::vector<option_spec> specs = specs_of(rows);
  const parse_status status = split_command_line(args, specs, refused, command, uses, message);
  if (status != parse_status::ok) {
    return status;
  }
  for (const option_use& use : uses) {
    std::string why;
    if (!rows[use.row].set(out, use.value, why)) {
      message = use.spelled + ": " + why;
      return parse_status::error;
    }
  }
  return parse_status::ok;
}

/// argv-style words into views (they stay owned by argv).
std::vector<std::string_view> to_views(int argc, char** argv);

}  // namespace wsa

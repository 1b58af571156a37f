// The whole command line of the `wsagent` binary: which subcommand, and its settings, as
// typed values. main() calls parse_command_line once and then runs the chosen subcommand;
// nothing is parsed again later. Help and usage errors are handled here, so main only
// prints the message. CLI11 does the parsing (only src/cli sees it). Startup only, one thread.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tools/tool_args.h"
#include "wsa/config.h"

namespace wsa {

enum class cli_status {
  ok,            ///< settings filled in; go on
  exit_success,  ///< help was asked for: print the message to stdout, exit 0
  error,         ///< print the message to stderr, exit 2
};

enum class subcommand { serve, keygen, token, version };

struct invocation {
  subcommand command = subcommand::serve;
  config serve;                       ///< when command == serve
  keygen_args keygen;                 ///< when command == keygen
  token_args token;                   ///< when command == token
  std::vector<std::string> warnings;  ///< log each one (serve only, at warn level)
};

/// `args` are argv without the program name; WSAGENT_* variables are read from the process
/// environment. ok: run `out.command`. exit_success: print `message` (help) to stdout,
/// exit 0. error: print `message` (starting "wsagent: " or "wsagent <command>: ") to
/// stderr, exit 2. `out` is left alone unless ok.
cli_status parse_command_line(std::span<const std::string> args, invocation& out,
                                std::string& message);

/// The same from main's argc/argv.
cli_status parse_command_line(int argc, char** argv, invocation& out, std::string& message);

/// What `wsagent <command> --help` prints ("" for the top level).
std::string help_text(std::string_view command);

/// One declared option as the help shows it (for tests and docs).
struct option_info {
  std::string name;        ///< without dashes
  std::string value_name;  ///< empty for a flag
  std::string group;
  std::string help;
  std::string default_text;  ///< empty: none shown
  std::string env;           ///< empty: command line only
  bool repeatable = false;
};

/// Every option of `command` ("serve", "keygen", "token") in help order, without -h.
std::vector<option_info> list_options(std::string_view command);

/// Exit status for a usage error: 2, as most command-line tools use.
inline constexpr int usage_error_exit = 2;

}  // namespace wsa

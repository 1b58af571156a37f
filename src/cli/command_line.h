// The whole command line of the `wsagent` binary: which subcommand, and its settings.
// main() calls parse_command_line once and then runs the chosen subcommand. Help and usage
// errors are handled here, so main only prints the message. Startup only, one thread.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "cli/option_table.h"
#include "cli/tool_args.h"
#include "wsa/config.h"

namespace wsa {

enum class subcommand { serve, keygen, token, version };

struct invocation {
  subcommand command = subcommand::serve;
  config serve;                       ///< when command == serve
  keygen_args keygen;                 ///< when command == keygen
  token_args token;                   ///< when command == token
  std::vector<std::string> warnings;  ///< log each one (serve only, at warn level)
};

/// `args` are argv without the program name; `env` "NAME=value" entries.
/// ok: run `out.command`. exit_success: print `message` (help) to stdout, exit 0.
/// error: print `message` (starting "wsagent: " or "wsagent <command>: ") to stderr, exit 2.
parse_status parse_command_line(std::span<const std::string_view> args,
                                std::span<const std::string_view> env, invocation& out,
                                std::string& message);

/// The same from main's argc/argv and envp (e.g. `environ`).
parse_status parse_command_line(int argc, char** argv, char** envp, invocation& out,
                                std::string& message);

/// Exit status for a usage error: 2, as most command-line tools use.
inline constexpr int usage_error_exit = 2;

}  // namespace wsa

// The wsagent command line. See command_line.h.
#include "cli/command_line.h"

#include "cli/help.h"
#include "cli/options.h"
#include "cli/values.h"

namespace wsa {
namespace {

constexpr std::string_view commands[] = {"serve", "keygen", "token", "version"};

std::string unknown_command(std::string_view word) {
  std::string why = "wsagent: unknown command '" + std::string(word) + "'";
  if (word.starts_with("-")) {
    why = "wsagent: unknown option '" + std::string(word.substr(0, word.find('='))) +
          "' (options go after the command, e.g. wsagent serve --listen :8080)";
  } else {
    const std::string_view guess = closest_name(word, commands);
    if (!guess.empty()) {
      why += " (did you mean " + std::string(guess) + "?)";
    }
  }
  return why + "\n(run 'wsagent --help' to list the commands)";
}

}  // namespace

parse_status parse_command_line(std::span<const std::string_view> args,
                                std::span<const std::string_view> env, invocation& out,
                                std::string& message) {
  if (args.empty()) {
    message = "wsagent: missing command\n\n" + top_level_help();
    return parse_status::error;
  }
  const std::string_view word = args[0];
  const std::span<const std::string_view> rest = args.subspan(1);
  if (word == "-h" || word == "--help") {
    message = top_level_help();
    return parse_status::exit_success;
  }
  if (word == "help") {
    if (rest.empty()) {
      message = top_level_help();
    } else if (rest[0] == "serve") {
      message = serve_help();
    } else if (rest[0] == "keygen") {
      message = keygen_help();
    } else if (rest[0] == "token") {
      message = token_help();
    } else if (rest[0] == "version") {
      message = "Usage: wsagent version\n\nPrints the version of this binary.\n";
    } else {
      message = unknown_command(rest[0]);
      return parse_status::error;
    }
    return parse_status::exit_success;
  }
  if (word == "version" || word == "--version" || word == "-V") {
    if (!rest.empty()) {
      if (rest[0] == "-h" || rest[0] == "--help") {
        message = "Usage: wsagent version\n\nPrints the version of this binary.\n";
        return parse_status::exit_success;
      }
      message = "wsagent version: unexpected argument '" + std::string(rest[0]) + "'";
      return parse_status::error;
    }
    out.command = subcommand::version;
    return parse_status::ok;
  }
  parse_status status = parse_status::error;
  std::string detail;
  std::string prefix;
  if (word == "serve") {
    out.command = subcommand::serve;
    prefix = "wsagent serve: ";
    status = parse_serve_args(rest, env, out.serve, detail, out.warnings);
  } else if (word == "keygen") {
    out.command = subcommand::keygen;
    prefix = "wsagent keygen: ";
    status = parse_keygen_args(rest, out.keygen, detail);
  } else if (word == "token") {
    out.command = subcommand::token;
    prefix = "wsagent token: ";
    status = parse_token_args(rest, out.token, detail);
  } else {
    message = unknown_command(word);
    return parse_status::error;
  }
  message = status == parse_status::error ? prefix + detail : detail;
  return status;
}

parse_status parse_command_line(int argc, char** argv, char** envp, invocation& out,
                                std::string& message) {
  const std::vector<std::string_view> args =
      argc > 1 ? to_views(argc - 1, argv + 1) : std::vector<std::string_view>();
  std::vector<std::string_view> env;
  for (char** e = envp; e != nullptr && *e != nullptr; ++e) {
    env.emplace_back(*e);
  }
  return parse_command_line(args, env, out, message);
}

}  // namespace wsa

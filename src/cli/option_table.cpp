// The command-line walker behind every subcommand. See option_table.h.
#include "cli/option_table.h"

#include "cli/values.h"

namespace wsa {

std::string env_name(std::string_view option_name) {
  std::string name = "WSAGENT_";
  for (char c : option_name) {
    name.push_back(c == '-' ? '_' : (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c);
  }
  return name;
}

std::vector<std::string_view> to_views(int argc, char** argv) {
  std::vector<std::string_view> views;
  for (int i = 0; i < argc; ++i) {
    views.emplace_back(argv[i]);
  }
  return views;
}

parse_status split_command_line(std::span<const std::string_view> args,
                                std::span<const option_spec> specs,
                                std::span<const refused_option> refused, std::string_view command,
                                std::vector<option_use>& uses, std::string& why) {
  for (std::string_view arg : args) {
    if (arg == "--") {
      break;
    }
    if (arg == "-h" || arg == "--help") {
      return parse_status::exit_success;
    }
  }
  const std::string hint = "\n(run '" + std::string(command) + " --help' to list the options)";
  std::vector<std::string_view> names;
  for (const option_spec& spec : specs) {
    names.push_back(spec.name);
  }
  uses.clear();
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string_view arg = args[i];
    if (arg == "--") {
      if (i + 1 < args.size()) {
        why = "unexpected argument '" + std::string(args[i + 1]) + "'" + hint;
        return parse_status::error;
      }
      break;
    }
    if (arg.size() < 2 || arg[0] != '-') {
      why = "unexpected argument '" + std::string(arg) + "'" + hint;
      return parse_status::error;
    }
    // "-listen" is taken for a long option with one dash missing, for the suggestion.
    const bool long_form = arg.starts_with("--");
    const std::string_view body = arg.substr(long_form ? 2 : 1);
    const std::size_t eq = body.find('=');
    const std::string_view name = body.substr(0, eq);
    const std::string spelled = (long_form ? "--" : "-") + std::string(name);
    std::size_t row = specs.size();
    if (long_form) {
      for (std::size_t r = 0; r < specs.size(); ++r) {
        if (specs[r].name == name) {
          row = r;
          break;
        }
      }
    }
    if (row == specs.size()) {
      for (const refused_option& no : refused) {
        if (no.name == name) {
          why = spelled + ": " + std::string(no.reason);
          return parse_status::error;
        }
      }
      why = "unknown option '" + spelled + "'";
      const std::string_view guess = closest_name(name, names);
      if (!guess.empty()) {
        why += " (did you mean --" + std::string(guess) + "?)";
      }
      why += hint;
      return parse_status::error;
    }
    option_use use;
    use.row = row;
    use.spelled = spelled;
    if (eq != std::string_view::npos) {
      use.value = body.substr(eq + 1);
    } else if (!specs[row].takes_value) {
      use.value = "true";
    } else if (i + 1 >= args.size()) {
      why = "missing value for " + spelled + hint;
      return parse_status::error;
    } else if (args[i + 1].starts_with("--")) {
      // Most likely a forgotten value; a value that really starts with "--" can be given
      // as --name=--value.
      why = "missing value for " + spelled + " (the next word, '" + std::string(args[i + 1]) +
            "', is an option; write " + spelled + "=VALUE for a value starting with --)";
      return parse_status::error;
    } else {
      use.value = args[++i];
    }
    uses.push_back(std::move(use));
  }
  return parse_status::ok;
}

}  // namespace wsa

// The wsagent command line on CLI11. See command_line.h.
//
// CLI11 reads the words and the WSAGENT_* variables; three things are done around it (see
// docs/architecture.md, "Options"): --help is looked for first, so that it wins over bad
// values; the config file is applied after the parse, below flags and variables (CLI11 2.1
// ranks a config file above the environment); errors are reworded to name where the bad
// value came from and the closest option name.
#include "cli/command_line.h"

#include <CLI/CLI.hpp>

#include <utility>

#include "cli/help.h"
#include "cli/option_set.h"
#include "cli/serve.h"
#include "cli/tool_options.h"

namespace wsa {
namespace {

constexpr std::string_view commands[] = {"serve", "keygen", "token", "version"};

// The CLI11 apps of one parse, writing into an invocation.
struct command_tree {
  CLI::App app{"", "wsagent"};
  CLI::App* serve = nullptr;
  CLI::App* keygen = nullptr;
  CLI::App* token = nullptr;
  CLI::App* version = nullptr;
  CLI::App* help = nullptr;
  std::string config_file;  // --config / WSAGENT_CONFIG
  std::string help_topic;   // `wsagent help TOPIC`

  explicit command_tree(invocation& out) {
    set_help(app, "");
    app.set_help_flag("-h,--help")->group("");
    app.add_flag("-V,--version")->group("");
    app.require_subcommand(0, 1);

    serve = add("serve");
    option_set serve_options(*serve, true);
    declare_serve_options(serve_options, out.serve, config_file);
    keygen = add("keygen");
    option_set keygen_options(*keygen, false);
    declare_keygen_options(keygen_options, out.keygen);
    token = add("token");
    option_set token_options(*token, false);
    declare_token_options(token_options, out.token);
    version = add("version");
    help = add("help");
    help->add_option("command", help_topic);
    // After the options, so that it is listed last in its group ("": not listed).
    for (auto [sub, group] : {std::pair{serve, "General"}, {keygen, "Other"}, {token, "Other"},
                              {version, ""}, {help, ""}}) {
      sub->set_help_flag("-h,--help", "Print this help.")->group(group);
    }
  }

  CLI::App* add(std::string_view name) {
    CLI::App* sub = app.add_subcommand(std::string(name), std::string(command_summary(name)));
    set_help(*sub, name);
    return sub;
  }

  CLI::App* find(std::string_view name) {
    for (CLI::App* sub : {serve, keygen, token, version}) {
      if (sub->get_name() == name) {
        return sub;
      }
    }
    return nullptr;
  }

  CLI::App* parsed() {
    for (CLI::App* sub : {serve, keygen, token, version, help}) {
      if (sub->parsed()) {
        return sub;
      }
    }
    return nullptr;
  }
};

std::string closest_of(std::string_view word, const std::vector<std::string>& names,
                       std::string_view prefix) {
  const std::vector<std::string_view> candidates(names.begin(), names.end());
  const std::string_view guess = closest_name(word, candidates);
  return guess.empty() ? "" : " (did you mean " + std::string(prefix) + std::string(guess) + "?)";
}

std::string unknown_command(std::string_view word) {
  std::string why;
  if (word.starts_with("-")) {
    why = "wsagent: unknown option '" + std::string(word.substr(0, word.find('='))) +
          "' (options go after the command, e.g. wsagent serve --listen :8080)";
  } else {
    why = "wsagent: unknown command '" + std::string(word) + "'" +
          closest_of(word, {std::begin(commands), std::end(commands)}, "");
  }
  return why + "\n(run 'wsagent --help' to list the commands)";
}

std::span<const refused_option> refused_options(const CLI::App* sub, const command_tree& tree) {
  if (sub == tree.serve) {
    return serve_refused_options();
  }
  return sub == tree.token ? token_refused_options() : std::span<const refused_option>();
}

// A word CLI11 left over: an unknown option (never repeating its value, which may be a
// secret) or a stray argument.
std::string leftover_word(const CLI::App* sub, const command_tree& tree, const std::string& word,
                          const std::string& hint) {
  if (word.size() < 2 || word[0] != '-') {
    return "unexpected argument '" + word + "'" + hint;
  }
  const bool long_form = word.starts_with("--");
  const std::string name = word.substr(long_form ? 2 : 1, word.find('=') - (long_form ? 2 : 1));
  const std::string spelled = (long_form ? "--" : "-") + name;
  for (const refused_option& refused : refused_options(sub, tree)) {
    if (refused.name == name) {
      return spelled + ": " + std::string(refused.reason);
    }
  }
  std::vector<std::string> names;
  for (const CLI::Option* option : sub->get_options()) {
    if (!option->get_lnames().empty()) {
      names.push_back(option->get_lnames().front());
    }
  }
  return "unknown option '" + spelled + "'" + closest_of(name, names, "--") + hint;
}

// "--listen --no-auth": CLI11 would take "--no-auth" as the address; most likely the value
// was forgotten. A value that really starts with "--" can be given as --listen=--value.
bool forgotten_value(const CLI::App& sub, std::span<const std::string> args, std::string& why) {
  for (std::size_t i = 0; i + 1 < args.size() && args[i] != "--"; ++i) {
    const CLI::Option* option =
        args[i].starts_with("--") ? sub.get_option_no_throw(args[i]) : nullptr;
    if (option != nullptr && option->get_expected_min() > 0 && args[i + 1].starts_with("--")) {
      why = "wsagent " + sub.get_name() + ": missing value for " + args[i] + " (the next word, '" +
            args[i + 1] + "', is an option; write " + args[i] +
            "=VALUE for a value starting with --)";
      return true;
    }
  }
  return false;
}

std::string describe_error(command_tree& tree, std::span<const std::string> args,
                           const CLI::ParseError& e) {
  // The top level has no options of its own: words left there belong to the command, if
  // the first word is one (e.g. `serve -- x`).
  std::vector<std::string> leftover = tree.app.remaining(false);
  CLI::App* sub = tree.parsed();
  if (sub == nullptr || (!leftover.empty() && tree.find(args[0]) == nullptr)) {
    return leftover.empty() ? "wsagent: " + std::string(e.what()) : unknown_command(leftover.front());
  }
  const std::string name = sub->get_name();
  const std::string prefix = "wsagent " + name + ": ";
  const std::string hint = sub == tree.version || sub == tree.help
                               ? ""
                               : "\n(run 'wsagent " + name + " --help' to list the options)";
  const std::span<const std::string> sub_args = args.subspan(1);
  const std::string what = e.what();
  const std::string flag = what.substr(0, what.find(':'));
  const std::vector<std::string> sub_leftover = sub->remaining();
  leftover.insert(leftover.begin(), sub_leftover.begin(), sub_leftover.end());
  if (dynamic_cast<const CLI::ExtrasError*>(&e) != nullptr && !leftover.empty()) {
    return prefix + leftover_word(sub, tree, leftover.front(), hint);
  }
  if (dynamic_cast<const CLI::ArgumentMismatch*>(&e) != nullptr && flag.starts_with("--")) {
    return prefix + "missing value for " + flag + hint;
  }
  if (dynamic_cast<const CLI::ValidationError*>(&e) != nullptr && sub == tree.serve &&
      flag.starts_with("--")) {
    // The value came from the flag, or else from its WSAGENT_* variable.
    return prefix + value_source(sub_args, flag.substr(2)) + what.substr(flag.size());
  }
  return prefix + what;
}

// `-h`/`--help` anywhere before a `--` wins over everything else: the command's help.
const CLI::App* help_asked(command_tree& tree, std::span<const std::string> args) {
  const CLI::App* command = &tree.app;
  for (const std::string& arg : args) {
    if (arg == "--") {
      return nullptr;
    }
    if (arg == "-h" || arg == "--help") {
      return command;
    }
    if (command == &tree.app) {
      const CLI::App* sub = tree.find(arg);
      command = sub != nullptr ? sub : command;
    }
  }
  return nullptr;
}

// `args` in the reverse order CLI11 pops them in, with "--name=" given as "--name" "" (CLI11
// would take the word after it as the value).
std::vector<std::string> words_for_cli11(command_tree& tree, std::span<const std::string> args) {
  std::vector<std::string> words;
  const CLI::App* command = tree.find(args[0]);
  bool options_ended = false;
  for (const std::string& arg : args) {
    options_ended |= arg == "--";
    const CLI::Option* option = command != nullptr && !options_ended && arg.ends_with('=')
                                    ? command->get_option_no_throw(arg.substr(0, arg.size() - 1))
                                    : nullptr;
    if (option != nullptr && option->get_expected_min() > 0) {
      words.push_back(arg.substr(0, arg.size() - 1));
      words.emplace_back();
    } else {
      words.push_back(arg);
    }
  }
  return {words.rbegin(), words.rend()};
}

cli_status after_parse(command_tree& tree, std::span<const std::string> args, invocation& parsed,
                         std::string& message) {
  if (tree.help->parsed()) {
    const CLI::App* topic = tree.help_topic.empty() ? &tree.app : tree.find(tree.help_topic);
    if (topic == nullptr) {
      message = unknown_command(tree.help_topic);
      return cli_status::error;
    }
    message = topic->help();
    return cli_status::exit_success;
  }
  if (tree.version->parsed() || tree.app.count("--version") > 0) {
    parsed.command = subcommand::version;
    return cli_status::ok;
  }
  std::string why;
  if (tree.serve->parsed()) {
    parsed.command = subcommand::serve;
    if (!finish_serve(*tree.serve, args.subspan(1), tree.config_file, parsed.serve, why,
                      parsed.warnings)) {
      message = "wsagent serve: " + why;
      return cli_status::error;
    }
  } else if (tree.keygen->parsed()) {
    parsed.command = subcommand::keygen;
    if (!check_keygen(parsed.keygen, why)) {
      message = "wsagent keygen: " + why;
      return cli_status::error;
    }
  } else if (tree.token->parsed()) {
    parsed.command = subcommand::token;
    if (!check_token(parsed.token, why)) {
      message = "wsagent token: " + why;
      return cli_status::error;
    }
  } else {
    message = "wsagent: missing command\n\n" + tree.app.help();
    return cli_status::error;
  }
  return cli_status::ok;
}

}  // namespace

cli_status parse_command_line(std::span<const std::string> args, invocation& out,
                                std::string& message) {
  invocation parsed;
  command_tree tree(parsed);
  if (args.empty()) {
    message = "wsagent: missing command\n\n" + tree.app.help();
    return cli_status::error;
  }
  if (const CLI::App* command = help_asked(tree, args)) {
    message = command->help();
    return cli_status::exit_success;
  }
  if (const CLI::App* command = tree.find(args[0]);
      command != nullptr && forgotten_value(*command, args.subspan(1), message)) {
    return cli_status::error;
  }
  try {
    std::vector<std::string> reversed = words_for_cli11(tree, args);
    tree.app.parse(reversed);
  } catch (const CLI::ParseError& e) {
    message = describe_error(tree, args, e);
    return cli_status::error;
  }
  const cli_status status = after_parse(tree, args, parsed, message);
  if (status == cli_status::ok) {
    message.clear();
    out = std::move(parsed);
  }
  return status;
}

cli_status parse_command_line(int argc, char** argv, invocation& out, std::string& message) {
  const std::vector<std::string> args(argv + (argc > 0 ? 1 : 0), argv + argc);
  return parse_command_line(args, out, message);
}

std::string help_text(std::string_view command) {
  invocation unused;
  command_tree tree(unused);
  const CLI::App* app = command.empty() ? &tree.app : tree.find(command);
  return app != nullptr ? app->help() : std::string();
}

std::vector<option_info> list_options(std::string_view command) {
  invocation unused;
  command_tree tree(unused);
  std::vector<option_info> out;
  const CLI::App* app = tree.find(command);
  if (app == nullptr) {
    return out;
  }
  for (const CLI::Option* option : app->get_options()) {
    if (option == app->get_help_ptr() || option->get_lnames().empty()) {
      continue;
    }
    out.push_back({option->get_lnames().front(),
                   option->get_expected_min() > 0 ? option->get_type_name() : "",
                   option->get_group(), option->get_description(), option->get_default_str(),
                   option->get_envname(),
                   option->get_multi_option_policy() == CLI::MultiOptionPolicy::TakeAll});
  }
  return out;
}

}  // namespace wsa

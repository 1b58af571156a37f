// Options as CLI11 options. See option_set.h.
#include "cli/option_set.h"

#include <CLI/CLI.hpp>

namespace wsa {

std::string env_name(std::string_view option_name) {
  std::string name = "WSAGENT_";
  for (char c : option_name) {
    name.push_back(c == '-' ? '_' : (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c);
  }
  return name;
}

option_set::option_set(CLI::App& app, bool with_environment)
    : app_(app), with_environment_(with_environment) {}

void option_set::group(std::string_view heading) { group_ = std::string(heading); }

CLI::Option* option_set::add(const option_doc& doc, option_setter set, std::string default_text) {
  const std::string flag = "--" + std::string(doc.name);
  // Our parsers give the messages ("--shards: '2000' is out of range (0..1024)"); CLI11
  // only collects the words. The last use wins unless the option is a list.
  CLI::callback_t callback = [flag, set = std::move(set)](const CLI::results_t& results) {
    for (const std::string& value : results) {
      std::string why;
      if (!set(value, why)) {
        throw CLI::ValidationError(flag, why);
      }
    }
    return true;
  };
  CLI::Option* option = app_.add_option(flag, std::move(callback), std::string(doc.help));
  option->type_name(std::string(doc.value_name))
      ->group(group_)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast)
      ->default_str(std::move(default_text));
  if (with_environment_) {
    option->envname(env_name(doc.name));
  }
  return option;
}

void option_set::value(const option_doc& doc, option_setter set, std::string default_text) {
  add(doc, std::move(set), std::move(default_text));
}

void option_set::list(const option_doc& doc, option_setter add_one) {
  add(doc, std::move(add_one), {})->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
}

void option_set::flag(const option_doc& doc, bool& field, bool inverted) {
  option_setter set = [&field, inverted](std::string_view v, std::string& why) {
    bool on = false;
    if (!parse_bool(v, on, why)) {
      return false;
    }
    field = on != inverted;
    return true;
  };
  // expected(0): a bare --name gives "true"; --name=VALUE gives VALUE.
  add({doc.name, "", doc.help}, std::move(set), field != inverted ? "true" : "false")
      ->expected(0);
}

void option_set::path(const option_doc& doc, std::string& field) {
  value(doc, [&field](std::string_view v, std::string& why) {
    if (v.empty()) {
      why = "empty file name";
      return false;
    }
    field = std::string(v);
    return true;
  });
}

}  // namespace wsa

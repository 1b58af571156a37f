// How subcommands declare their options: one call per option, in help order, under the
// current group heading. Each call creates a CLI11 option (src/cli is the only code that
// sees CLI11) whose value goes through our own parser into a typed field, so the help
// text, the WSAGENT_* variable and the config-file key can never disagree with the flag.
// Startup only, one thread.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "cli/values.h"

namespace CLI {
class App;
class Option;
}  // namespace CLI

namespace wsa {

/// One option as the user sees it: `--name VALUE_NAME` and its help text.
struct option_doc {
  std::string_view name;        ///< long name without dashes: "max-message-bytes"
  std::string_view value_name;  ///< "SIZE"; ignored for flags
  std::string_view help;        ///< one or more sentences, wrapped when printed
};

/// Parses one value into the settings; on failure sets `why` (without the option's name).
using option_setter = std::function<bool(std::string_view value, std::string& why)>;

class option_set {
 public:
  /// `with_environment`: every option also reads WSAGENT_<NAME> (see env_name).
  option_set(CLI::App& app, bool with_environment);

  /// Heading in the help text for the options declared next.
  void group(std::string_view heading);

  /// The general form. `default_text` is shown as [default: ...] (empty: nothing shown).
  void value(const option_doc& doc, option_setter set, std::string default_text = {});
  /// Each use adds one value; the help says "Repeatable.".
  void list(const option_doc& doc, option_setter add);
  /// `--name` alone means true; `--name=false`, WSAGENT_NAME=off and `name = no` work too.
  /// `inverted`: the field holds the opposite (--no-pin sets pin_shards = false).
  void flag(const option_doc& doc, bool& field, bool inverted = false);

  /// A whole decimal number in [min, max].
  template <class T>
  void count(const option_doc& doc, T& field, uint64_t min, uint64_t max,
             std::string default_text = {}) {
    value(doc, numeric_setter(field, [=](std::string_view v, uint64_t& n, std::string& why) {
            return parse_count(v, min, max, n, why);
          }),
          default_text.empty() ? std::to_string(field) : default_text);
  }
  /// Bytes with an optional k/m/g suffix, in [min, max].
  template <class T>
  void size(const option_doc& doc, T& field, uint64_t min, uint64_t max) {
    value(doc, numeric_setter(field, [=](std::string_view v, uint64_t& n, std::string& why) {
            return parse_size(v, min, max, n, why);
          }),
          format_size(field));
  }
  /// "250ms", "1m30s"...; the field and a bare number are in `unit`; [min, max] in `unit`.
  template <class T>
  void duration(const option_doc& doc, T& field, time_unit unit, uint64_t min, uint64_t max) {
    value(doc, numeric_setter(field, [=](std::string_view v, uint64_t& n, std::string& why) {
            return parse_duration(v, unit, min, max, n, why);
          }),
          format_duration(field, unit));
  }
  /// A file name (not empty); no default shown.
  void path(const option_doc& doc, std::string& field);

 private:
  template <class T, class Parse>
  static option_setter numeric_setter(T& field, Parse parse) {
    return [&field, parse](std::string_view v, std::string& why) {
      uint64_t n = 0;
      if (!parse(v, n, why)) {
        return false;
      }
      field = static_cast<T>(n);
      return true;
    };
  }

  CLI::Option* add(const option_doc& doc, option_setter set, std::string default_text);

  CLI::App& app_;
  bool with_environment_;
  std::string group_;
};

/// "max-message-bytes" -> "WSAGENT_MAX_MESSAGE_BYTES".
std::string env_name(std::string_view option_name);

}  // namespace wsa

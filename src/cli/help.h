// Help texts of the `wsagent` binary: the top level, `serve`, `keygen` and `token`. Option
// lists are rendered from the option tables, so every option is explained, with its default
// and (for serve) its environment variable. Startup only.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "cli/option_table.h"

namespace wsa {

/// `wsagent --help`: usage, the subcommands, where to read more.
std::string top_level_help();
/// `wsagent serve --help`.
std::string serve_help();
/// `wsagent keygen --help`.
std::string keygen_help();
/// `wsagent token --help`.
std::string token_help();

/// One option as the help text shows it.
struct option_help {
  std::string_view name;
  std::string_view value_name;
  std::string_view group;
  std::string_view help;
  std::string default_text;  ///< empty: none shown
  std::string env;           ///< empty: none shown
  bool repeatable = false;
};

/// Options grouped under their headings, each with its help wrapped to 80 columns.
/// "-h, --help" is listed last in `help_group` (a heading of its own at the end if no
/// option has that group).
std::string render_options(std::span<const option_help> options, std::string_view help_group);

/// `text` wrapped to `width` columns, every line indented by `indent` spaces.
std::string wrap_text(std::string_view text, std::size_t indent, std::size_t width);

template <class Target>
std::string render_table(std::span<const option_row<Target>> rows, const Target& defaults,
                         bool with_env, std::string_view help_group) {
  std::vector<option_help> options;
  for (const auto& row : rows) {
    option_help h{row.name, row.value_name, row.group, row.help};
    if (row.show_default != nullptr) {
      h.default_text = row.show_default(defaults);
    }
    if (with_env) {
      h.env = env_name(row.name);
    }
    h.repeatable = row.repeatable;
    options.push_back(std::move(h));
  }
  return render_options(options, help_group);
}

}  // namespace wsa

// Help texts of the `wsagent` binary. Each command's help is its header (usage and what it
// does), its options under their group headings, each with its default and (for serve) its
// environment variable, then its footer. Options are rendered from what the command
// declared, so every option is explained. Startup only.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace CLI {
class App;
}  // namespace CLI

namespace wsa {

/// Gives `app` the help layout and the texts of `command` ("" for the top level, "serve",
/// "keygen", "token", "version").
void set_help(CLI::App& app, std::string_view command);

/// One line about `command` for the top-level list.
std::string_view command_summary(std::string_view command);

/// `text` wrapped to `width` columns, every line indented by `indent` spaces.
std::string wrap_text(std::string_view text, std::size_t indent, std::size_t width);

}  // namespace wsa

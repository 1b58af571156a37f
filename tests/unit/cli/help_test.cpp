// Help texts: every option of every table is explained, with its default and variable.
#include "cli/help.h"

#include <gtest/gtest.h>

#include "cli/options.h"
#include "cli/tool_args.h"
#include "cli_test_support.h"

namespace wsa {
namespace {

using testing_cli::contains;

// Collapses runs of spaces and newlines so that wrapped text can be searched for.
std::string flatten(std::string_view text) {
  std::string out;
  bool space = false;
  for (char c : text) {
    if (c == ' ' || c == '\n') {
      space = true;
      continue;
    }
    if (space && !out.empty()) {
      out += ' ';
    }
    space = false;
    out += c;
  }
  return out;
}

void expect_lines_fit(const std::string& text, std::size_t width) {
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) {
      end = text.size();
    }
    EXPECT_LE(end - start, width) << "'" << text.substr(start, end - start) << "'";
    start = end + 1;
  }
}

TEST(ServeHelp, ExplainsEveryOptionWithDefaultAndVariable) {
  const std::string help = serve_help();
  const std::string flat = flatten(help);
  const config defaults;
  for (const auto& row : serve_options()) {
    std::string head = "\n  --" + std::string(row.name);
    if (!row.value_name.empty()) {
      head += " " + std::string(row.value_name);
    }
    EXPECT_TRUE(contains(help, head + "\n")) << head;
    EXPECT_TRUE(contains(flat, flatten(row.help))) << row.name;
    EXPECT_TRUE(contains(flat, "[env: " + env_name(row.name) + "]")) << row.name;
    if (row.show_default != nullptr) {
      EXPECT_TRUE(contains(flat, "[default: " + row.show_default(defaults) + "]")) << row.name;
    }
  }
  EXPECT_TRUE(contains(help, "  -h, --help\n"));
}

TEST(ServeHelp, GroupsInOrderAndEachOptionUnderItsHeading) {
  const std::string help = serve_help();
  std::size_t last = 0;
  for (const char* group :
       {"General:", "Network:", "Limits:", "Broker:", "Authentication:", "Observability:"}) {
    const std::size_t at = help.find(std::string("\n") + group + "\n");
    ASSERT_NE(at, std::string::npos) << group;
    EXPECT_GT(at, last) << group;
    last = at;
  }
  for (const auto& row : serve_options()) {
    const std::size_t heading = help.find("\n" + std::string(row.group) + ":\n");
    std::string head = "\n  --" + std::string(row.name);
    head += row.value_name.empty() ? "\n" : " ";
    const std::size_t option = help.find(head);
    ASSERT_NE(option, std::string::npos) << row.name;
    ASSERT_LT(heading, option) << row.name;
    // Groups are separated by a blank line: none between the heading and the option.
    const std::string between = help.substr(heading + 1, option - heading - 1);
    EXPECT_EQ(between.find("\n\n"), std::string::npos) << row.name << " is not under " << row.group;
  }
}

TEST(ServeHelp, DocumentsValueSyntaxPrecedenceAndTheFileFormat) {
  const std::string flat = flatten(serve_help());
  EXPECT_TRUE(contains(flat,
                       "Command-line flags win over environment variables, which win over "
                       "the config file, which wins over the defaults."));
  EXPECT_TRUE(contains(flat,
                       "A bare number means milliseconds, except for --history-max-age and "
                       "--token-leeway, where it means seconds."));
  EXPECT_TRUE(contains(flat, "64k (= 64KiB = 65536 bytes)"));
  EXPECT_TRUE(contains(flat, "true/false, 1/0, yes/no or on/off"));
  EXPECT_TRUE(contains(flat, "listen = 0.0.0.0:8080"));
}

TEST(ServeHelp, TheConfigFileExampleParses) {
  const std::string help = serve_help();
  const std::size_t at = help.find("Config file example");
  ASSERT_NE(at, std::string::npos);
  std::string example;
  std::size_t line = help.find('\n', at) + 1;
  while (line < help.size()) {
    const std::size_t end = help.find('\n', line);
    example += help.substr(line, end - line) + "\n";
    line = end + 1;
  }
  config cfg;
  std::string why;
  ASSERT_TRUE(apply_config_text(example, "example", cfg, why)) << why << "\n" << example;
  EXPECT_EQ(cfg.max_message_bytes, 256u * 1024);
  EXPECT_EQ(cfg.idle_timeout_ms, 120000u);
}

template <class Target>
void expect_every_option(const std::string& help, std::span<const option_row<Target>> rows) {
  const std::string flat = flatten(help);
  const Target defaults{};
  for (const auto& row : rows) {
    EXPECT_TRUE(contains(help, "\n  --" + std::string(row.name))) << row.name;
    EXPECT_TRUE(contains(flat, flatten(row.help))) << row.name;
    if (row.show_default != nullptr) {
      EXPECT_TRUE(contains(flat, "[default: " + row.show_default(defaults) + "]")) << row.name;
    }
    if (row.repeatable) {
      EXPECT_TRUE(contains(flat, flatten(row.help) + " Repeatable.")) << row.name;
    }
    EXPECT_FALSE(contains(help, "WSAGENT_")) << "tools read no environment";
  }
}

TEST(ToolHelp, KeygenAndTokenExplainEveryOption) {
  expect_every_option(keygen_help(), keygen_options());
  expect_every_option(token_help(), token_options());
  EXPECT_TRUE(contains(token_help(), "  -h, --help\n"));
  EXPECT_TRUE(contains(keygen_help(), "  -h, --help\n"));
}

TEST(TopLevelHelp, ListsTheCommandsAndWhereToReadMore) {
  const std::string help = top_level_help();
  EXPECT_TRUE(contains(help, "Usage:\n  wsagent <command> [options]"));
  for (const char* command : {"serve", "keygen", "token", "version"}) {
    EXPECT_TRUE(contains(help, "\n  " + std::string(command) + " ")) << command;
  }
  EXPECT_TRUE(contains(help, "wsagent <command> --help"));
  EXPECT_TRUE(contains(help, "README.md"));
}

TEST(AllHelp, FitsEightyColumns) {
  expect_lines_fit(top_level_help(), 80);
  expect_lines_fit(serve_help(), 80);
  expect_lines_fit(keygen_help(), 80);
  expect_lines_fit(token_help(), 80);
}

TEST(WrapText, WrapsAtWordsAndIndents) {
  EXPECT_EQ(wrap_text("aaa bbb ccc", 2, 9), "  aaa bbb\n  ccc\n");
  EXPECT_EQ(wrap_text("a  b", 0, 80), "a b\n");
  EXPECT_EQ(wrap_text("averyveryverylongword x", 2, 10), "  averyveryverylongword\n  x\n")
      << "a word longer than the line stays whole";
}

}  // namespace
}  // namespace wsa

// Help texts: every option of every table is explained, with its default and variable.
#include "cli/help.h"

#include <gtest/gtest.h>

#include "cli/command_line.h"
#include "cli/option_set.h"
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

const std::string serve_help = help_text("serve");

TEST(ServeHelp, ExplainsEveryOptionWithDefaultAndVariable) {
  const std::string flat = flatten(serve_help);
  for (const option_info& option : list_options("serve")) {
    std::string head = "\n  --" + option.name;
    if (!option.value_name.empty()) {
      head += " " + option.value_name;
    }
    EXPECT_TRUE(contains(serve_help, head + "\n")) << head;
    EXPECT_TRUE(contains(flat, flatten(option.help))) << option.name;
    EXPECT_TRUE(contains(flat, "[env: " + env_name(option.name) + "]")) << option.name;
    if (!option.default_text.empty()) {
      EXPECT_TRUE(contains(flat, "[default: " + option.default_text + "]")) << option.name;
    }
  }
  EXPECT_TRUE(contains(serve_help, "  -h, --help\n"));
}

TEST(ServeHelp, ShowsTheDefaultsOfConfig) {
  const std::string flat = flatten(serve_help);
  for (const char* shown :
       {"[default: 0.0.0.0:8080]", "[default: 0 (one per CPU)]", "[default: 64KiB]",
        "[default: 1m]", "[default: embedded]", "[default: 30s]", "[default: info]",
        "[default: the host name]", "[default: false]"}) {
    EXPECT_TRUE(contains(flat, shown)) << shown;
  }
}

TEST(ServeHelp, GroupsInOrderAndEachOptionUnderItsHeading) {
  std::size_t last = 0;
  for (const char* group :
       {"General:", "Network:", "Limits:", "Broker:", "Authentication:", "Observability:"}) {
    const std::size_t at = serve_help.find(std::string("\n") + group + "\n");
    ASSERT_NE(at, std::string::npos) << group;
    EXPECT_GT(at, last) << group;
    last = at;
  }
  for (const option_info& option : list_options("serve")) {
    const std::size_t heading = serve_help.find("\n" + option.group + ":\n");
    std::string head = "\n  --" + option.name;
    head += option.value_name.empty() ? "\n" : " ";
    const std::size_t at = serve_help.find(head);
    ASSERT_NE(at, std::string::npos) << option.name;
    ASSERT_LT(heading, at) << option.name;
    // Groups are separated by a blank line: none between the heading and the option.
    const std::string between = serve_help.substr(heading + 1, at - heading - 1);
    EXPECT_EQ(between.find("\n\n"), std::string::npos)
        << option.name << " is not under " << option.group;
  }
}

TEST(ServeHelp, DocumentsValueSyntaxPrecedenceAndTheFileFormat) {
  const std::string flat = flatten(serve_help);
  EXPECT_TRUE(contains(flat,
                       "Command-line flags win over environment variables, which win over "
                       "the config file, which wins over the defaults."));
  EXPECT_TRUE(contains(flat,
                       "A bare number means milliseconds, except for --history-max-age, "
                       "--redis-key-ttl and --token-leeway, where it means seconds."));
  EXPECT_TRUE(contains(flat, "64k (= 64KiB = 65536 bytes)"));
  EXPECT_TRUE(contains(flat, "true/false, 1/0, yes/no or on/off"));
  EXPECT_TRUE(contains(flat, "listen = 0.0.0.0:8080"));
}

TEST(ServeHelp, TheConfigFileExampleParses) {
  const std::size_t at = serve_help.find("Config file example");
  ASSERT_NE(at, std::string::npos);
  std::string example;
  std::size_t line = serve_help.find('\n', at) + 1;
  while (line < serve_help.size()) {
    const std::size_t end = serve_help.find('\n', line);
    example += serve_help.substr(line, end - line) + "\n";
    line = end + 1;
  }
  testing_cli::temp_file file(example);
  const testing_cli::serve_run r = testing_cli::run_serve({"--config", file.path()});
  ASSERT_EQ(r.status, cli_status::ok) << r.message << "\n" << example;
  EXPECT_EQ(r.cfg.max_message_bytes, 256u * 1024);
  EXPECT_EQ(r.cfg.idle_timeout_ms, 120000u);
  EXPECT_EQ(r.cfg.broker.redis.host, "10.0.0.5");
}

void expect_every_option(std::string_view command) {
  const std::string help = help_text(command);
  const std::string flat = flatten(help);
  const std::vector<option_info> options = list_options(command);
  ASSERT_FALSE(options.empty()) << command;
  for (const option_info& option : options) {
    EXPECT_TRUE(contains(help, "\n  --" + option.name)) << option.name;
    EXPECT_TRUE(contains(flat, flatten(option.help))) << option.name;
    if (!option.default_text.empty()) {
      EXPECT_TRUE(contains(flat, "[default: " + option.default_text + "]")) << option.name;
    }
    if (option.repeatable) {
      EXPECT_TRUE(contains(flat, flatten(option.help) + " Repeatable.")) << option.name;
    }
    EXPECT_TRUE(option.env.empty()) << option.name;
  }
  EXPECT_FALSE(contains(help, "WSAGENT_")) << "tools read no environment";
  EXPECT_TRUE(contains(help, "  -h, --help\n")) << command;
}

TEST(ToolHelp, KeygenAndTokenExplainEveryOption) {
  expect_every_option("keygen");
  expect_every_option("token");
  EXPECT_TRUE(contains(flatten(help_text("token")), "[default: 1h]"));
}

TEST(TopLevelHelp, ListsTheCommandsAndWhereToReadMore) {
  const std::string help = help_text("");
  EXPECT_TRUE(contains(help, "Usage:\n  wsagent <command> [options]"));
  for (const char* command : {"serve", "keygen", "token", "version"}) {
    EXPECT_TRUE(contains(help, "\n  " + std::string(command) + " ")) << command;
  }
  EXPECT_TRUE(contains(help, "wsagent <command> --help"));
  EXPECT_TRUE(contains(help, "README.md"));
}

TEST(AllHelp, FitsEightyColumns) {
  for (const char* command : {"", "serve", "keygen", "token", "version"}) {
    expect_lines_fit(help_text(command), 80);
  }
}

TEST(WrapText, WrapsAtWordsAndIndents) {
  EXPECT_EQ(wrap_text("aaa bbb ccc", 2, 9), "  aaa bbb\n  ccc\n");
  EXPECT_EQ(wrap_text("a  b", 0, 80), "a b\n");
  EXPECT_EQ(wrap_text("averyveryverylongword x", 2, 10), "  averyveryverylongword\n  x\n")
      << "a word longer than the line stays whole";
}

}  // namespace
}  // namespace wsa

// The top-level command line: subcommand dispatch, help, version, usage errors.
#include "cli/command_line.h"

#include <gtest/gtest.h>

#include "cli_test_support.h"

namespace wsa {
namespace {

using testing_cli::contains;
using testing_cli::run;
using outcome = testing_cli::run_result;

std::string top_level_help() { return help_text(""); }
std::string serve_help() { return help_text("serve"); }
std::string keygen_help() { return help_text("keygen"); }
std::string token_help() { return help_text("token"); }

TEST(CommandLine, ServeFillsTheConfigFromFlagsAndEnvironment) {
  const outcome o =
      run({"serve", "--listen", "127.0.0.1:0"}, {"WSAGENT_NO_AUTH=1", "WSAGENT_NOPE=1"});
  ASSERT_EQ(o.status, cli_status::ok) << o.message;
  EXPECT_EQ(o.inv.command, subcommand::serve);
  EXPECT_EQ(o.inv.serve.listen.text(), "127.0.0.1:0");
  EXPECT_TRUE(o.inv.serve.no_auth);
  ASSERT_EQ(o.inv.warnings.size(), 1u);
  EXPECT_TRUE(contains(o.inv.warnings[0], "WSAGENT_NOPE"));
}

TEST(CommandLine, KeygenAndToken) {
  outcome o = run({"keygen", "--out-private", "k", "--out-jwks", "j"});
  ASSERT_EQ(o.status, cli_status::ok) << o.message;
  EXPECT_EQ(o.inv.command, subcommand::keygen);
  EXPECT_EQ(o.inv.keygen.out_jwks, "j");

  o = run({"token", "--key", "k", "--sub", "alice", "--pub", "a.*"});
  ASSERT_EQ(o.status, cli_status::ok) << o.message;
  EXPECT_EQ(o.inv.command, subcommand::token);
  EXPECT_EQ(o.inv.token.sub, "alice");
}

TEST(CommandLine, Version) {
  for (const char* word : {"version", "--version", "-V"}) {
    const outcome o = run({word});
    ASSERT_EQ(o.status, cli_status::ok) << word;
    EXPECT_EQ(o.inv.command, subcommand::version);
  }
  const outcome o = run({"version", "extra"});
  ASSERT_EQ(o.status, cli_status::error);
  EXPECT_EQ(o.message, "wsagent version: unexpected argument 'extra'");
}

TEST(CommandLine, HelpInEveryForm) {
  EXPECT_EQ(run({"--help"}).message, top_level_help());
  EXPECT_EQ(run({"-h"}).message, top_level_help());
  EXPECT_EQ(run({"help"}).message, top_level_help());
  EXPECT_EQ(run({"help", "serve"}).message, serve_help());
  EXPECT_EQ(run({"serve", "--help"}).message, serve_help());
  EXPECT_EQ(run({"help", "keygen"}).message, keygen_help());
  EXPECT_EQ(run({"keygen", "-h"}).message, keygen_help());
  EXPECT_EQ(run({"help", "token"}).message, token_help());
  EXPECT_EQ(run({"token", "--help"}).message, token_help());
  EXPECT_TRUE(contains(run({"help", "version"}).message, "Usage: wsagent version"));
  EXPECT_TRUE(contains(run({"version", "--help"}).message, "Usage: wsagent version"));
  for (auto args : std::vector<std::vector<std::string>>{
           {"--help"}, {"help", "serve"}, {"serve", "-h"}, {"token", "-h"}}) {
    EXPECT_EQ(run(args).status, cli_status::exit_success);
  }
}

TEST(CommandLine, UsageErrors) {
  outcome o = run({});
  ASSERT_EQ(o.status, cli_status::error);
  EXPECT_TRUE(o.message.starts_with("wsagent: missing command\n\n")) << o.message;
  EXPECT_TRUE(contains(o.message, top_level_help()));

  o = run({"serv"});
  ASSERT_EQ(o.status, cli_status::error);
  EXPECT_EQ(o.message,
            "wsagent: unknown command 'serv' (did you mean serve?)\n"
            "(run 'wsagent --help' to list the commands)");

  o = run({"help", "tokne"});
  ASSERT_EQ(o.status, cli_status::error);
  EXPECT_TRUE(contains(o.message, "unknown command 'tokne' (did you mean token?)")) << o.message;

  o = run({"--listen=:80", "serve"});
  ASSERT_EQ(o.status, cli_status::error);
  EXPECT_TRUE(contains(o.message,
                       "wsagent: unknown option '--listen' (options go after the "
                       "command, e.g. wsagent serve --listen :8080)"))
      << o.message;
}

TEST(CommandLine, SubcommandErrorsArePrefixedWithTheCommand) {
  outcome o = run({"serve", "--shards", "x", "--no-auth"});
  ASSERT_EQ(o.status, cli_status::error);
  EXPECT_EQ(o.message, "wsagent serve: --shards: bad number 'x' (expected a whole decimal number)");

  o = run({"keygen"});
  EXPECT_TRUE(o.message.starts_with("wsagent keygen: missing --out-private FILE")) << o.message;

  o = run({"token", "--key", "k"});
  EXPECT_EQ(o.message, "wsagent token: missing --sub ID (the client's identity)");
}

TEST(CommandLine, ArgcArgvOverloadSkipsTheProgramNameAndReadsTheEnvironment) {
  char a0[] = "wsagent";
  char a1[] = "serve";
  char a2[] = "--no-auth";
  char a3[] = "--shards=2";
  char* argv[] = {a0, a1, a2, a3, nullptr};
  testing_cli::scoped_env env({"WSAGENT_LOG_LEVEL=warn"});
  invocation inv;
  std::string message;
  ASSERT_EQ(parse_command_line(4, argv, inv, message), cli_status::ok) << message;
  EXPECT_EQ(inv.serve.shards, 2u);
  EXPECT_EQ(inv.serve.log_level, log_level::warn);

  char* only_name[] = {a0, nullptr};
  EXPECT_EQ(parse_command_line(1, only_name, inv, message), cli_status::error);
  EXPECT_TRUE(message.starts_with("wsagent: missing command")) << message;
}

TEST(CommandLine, TheConfigIsTypedOnce) {
  const outcome o = run({"serve", "--no-auth", "--listen", "[::1]:0", "--log-level", "error",
                         "--broker", "redis://u:p%40ss@cache:6380/4"});
  ASSERT_EQ(o.status, cli_status::ok) << o.message;
  const config& c = o.inv.serve;
  EXPECT_EQ(c.listen.host, "::1");
  EXPECT_TRUE(c.listen.ipv6);
  EXPECT_EQ(c.listen.port, 0);
  EXPECT_EQ(c.log_level, log_level::error);
  EXPECT_EQ(c.broker.type, broker_url::kind::redis);
  EXPECT_EQ(c.broker.redis.host, "cache");
  EXPECT_EQ(c.broker.redis.port, 6380);
  EXPECT_EQ(c.broker.redis.username, "u");
  EXPECT_EQ(c.broker.redis.password, "p@ss");
  EXPECT_EQ(c.broker.redis.db, 4u);
  EXPECT_EQ(c.broker.shown, "redis://u:***@cache:6380/4");
}

TEST(CommandLine, TwoCommandsAreOneTooMany) {
  const outcome o = run({"serve", "--no-auth", "token"});
  ASSERT_EQ(o.status, cli_status::error);
  EXPECT_TRUE(contains(o.message, "wsagent serve: unexpected argument 'token'")) << o.message;
}

}  // namespace
}  // namespace wsa

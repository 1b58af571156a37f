// Arguments of `wsagent keygen` and `wsagent token`.
#include "cli/tool_options.h"

#include <gtest/gtest.h>

#include "cli_test_support.h"

namespace wsa {
namespace {

using testing_cli::contains;

// Runs `wsagent <command> ARGS...`; on ok copies the settings into `out`; `message` is
// without the "wsagent <command>: " prefix.
template <class Args>
cli_status run_tool(std::string command, std::vector<std::string> args, Args invocation::*field,
                      Args& out, std::string& message) {
  args.insert(args.begin(), command);
  const testing_cli::run_result r = testing_cli::run(args);
  const std::string prefix = "wsagent " + command + ": ";
  message = r.message.starts_with(prefix) ? r.message.substr(prefix.size()) : r.message;
  if (r.status == cli_status::ok) {
    out = r.inv.*field;
  }
  return r.status;
}

cli_status keygen(std::vector<std::string> args, keygen_args& out, std::string& message) {
  return run_tool("keygen", std::move(args), &invocation::keygen, out, message);
}

cli_status token(std::vector<std::string> args, token_args& out, std::string& message) {
  return run_tool("token", std::move(args), &invocation::token, out, message);
}

TEST(KeygenArgs, AllOptions) {
  keygen_args a;
  std::string m;
  ASSERT_EQ(
      keygen({"--out-private", "k.jwk", "--out-jwks=jwks.json", "--kid", "2026-11", "--force"}, a,
             m),
      cli_status::ok)
      << m;
  EXPECT_EQ(a.out_private, "k.jwk");
  EXPECT_EQ(a.out_jwks, "jwks.json");
  EXPECT_EQ(a.kid, "2026-11");
  EXPECT_TRUE(a.force);

  ASSERT_EQ(keygen({"--out-private", "k.jwk", "--out-jwks", "j.json"}, a, m), cli_status::ok);
  EXPECT_EQ(a.kid, "") << "default: derived by keygen";
  EXPECT_FALSE(a.force);
}

TEST(KeygenArgs, Errors) {
  keygen_args a;
  a.kid = "untouched";
  std::string m;
  EXPECT_EQ(keygen({}, a, m), cli_status::error);
  EXPECT_TRUE(contains(m, "missing --out-private FILE")) << m;
  EXPECT_EQ(keygen({"--out-private", "k"}, a, m), cli_status::error);
  EXPECT_TRUE(contains(m, "missing --out-jwks FILE")) << m;
  EXPECT_EQ(keygen({"--out-private", "same", "--out-jwks", "same"}, a, m), cli_status::error);
  EXPECT_EQ(m, "--out-private and --out-jwks name the same file 'same'");
  EXPECT_EQ(keygen({"--out-private", "k", "--out-jwks", "j", "--kid", "a b"}, a, m),
            cli_status::error);
  EXPECT_TRUE(contains(m, "--kid: bad key id 'a b'")) << m;
  EXPECT_EQ(keygen({"--out-private", "k", "--out-jwks", "j", "--kid", "q\""}, a, m),
            cli_status::error);
  EXPECT_EQ(keygen({"--out-private", "k", "--out-jwks", "j", "--kid="}, a, m), cli_status::error);
  EXPECT_TRUE(contains(m, "--kid: a key id must be 1..128 characters")) << m;
  EXPECT_EQ(keygen({"--out-privat", "k"}, a, m), cli_status::error);
  EXPECT_TRUE(contains(m, "unknown option '--out-privat' (did you mean --out-private?)")) << m;
  EXPECT_TRUE(contains(m, "(run 'wsagent keygen --help' to list the options)")) << m;
  EXPECT_EQ(keygen({"--out-jwks"}, a, m), cli_status::error);
  EXPECT_TRUE(contains(m, "missing value for --out-jwks")) << m;
  EXPECT_EQ(keygen({"--out-private", "k", "--out-jwks", "j", "--force=sometimes"}, a, m),
            cli_status::error);
  EXPECT_TRUE(contains(m, "--force: bad boolean 'sometimes'")) << m;
  EXPECT_EQ(a.kid, "untouched") << "the output is left alone on error";
}

TEST(KeygenArgs, Help) {
  keygen_args a;
  std::string m;
  ASSERT_EQ(keygen({"--help"}, a, m), cli_status::exit_success);
  EXPECT_TRUE(contains(m, "Usage: wsagent keygen")) << m;
}

TEST(TokenArgs, AllOptionsAndRepeatedPatternsInOrder) {
  token_args a;
  std::string m;
  ASSERT_EQ(token({"--key", "k.jwk", "--sub", "alice", "--pub", "chat.*", "--pub=news",
                   "--subscribe", "chat.>", "--subscribe", "alerts", "--ttl", "2h", "--kid", "k1",
                   "--iss", "https://auth.example", "--aud", "wss://rt.example"},
                  a, m),
            cli_status::ok)
      << m;
  EXPECT_EQ(a.key_file, "k.jwk");
  EXPECT_EQ(a.hmac_secret_file, "");
  EXPECT_EQ(a.sub, "alice");
  EXPECT_EQ(a.pub, (std::vector<std::string>{"chat.*", "news"}));
  EXPECT_EQ(a.subscribe, (std::vector<std::string>{"chat.>", "alerts"}));
  EXPECT_EQ(a.ttl_s, 7200u);
  EXPECT_EQ(a.kid, "k1");
  EXPECT_EQ(a.iss, "https://auth.example");
  EXPECT_EQ(a.aud, "wss://rt.example");
}

TEST(TokenArgs, HmacDefaultsAndBareTtlInSeconds) {
  token_args a;
  std::string m;
  ASSERT_EQ(token({"--hmac-secret-file", "/s", "--sub", "bob"}, a, m), cli_status::ok) << m;
  EXPECT_EQ(a.hmac_secret_file, "/s");
  EXPECT_EQ(a.ttl_s, 3600u) << "default 1h";
  EXPECT_TRUE(a.pub.empty());
  EXPECT_TRUE(a.subscribe.empty());

  ASSERT_EQ(token({"--key", "k", "--sub", "b", "--ttl", "90"}, a, m), cli_status::ok) << m;
  EXPECT_EQ(a.ttl_s, 90u);
  ASSERT_EQ(token({"--key", "k", "--sub", "b", "--ttl", "1d12h"}, a, m), cli_status::ok) << m;
  EXPECT_EQ(a.ttl_s, 129600u);
}

TEST(TokenArgs, Errors) {
  token_args a;
  std::string m;
  EXPECT_EQ(token({"--sub", "a"}, a, m), cli_status::error);
  EXPECT_EQ(m, "missing --key FILE (EdDSA) or --hmac-secret-file FILE (HS256)");
  EXPECT_EQ(token({"--key", "k", "--hmac-secret-file", "s", "--sub", "a"}, a, m),
            cli_status::error);
  EXPECT_EQ(m, "--key and --hmac-secret-file exclude each other: sign with one key");
  EXPECT_EQ(token({"--key", "k"}, a, m), cli_status::error);
  EXPECT_EQ(m, "missing --sub ID (the client's identity)");
  EXPECT_EQ(token({"--key", "k", "--sub="}, a, m), cli_status::error);
  EXPECT_TRUE(contains(m, "--sub: empty subject")) << m;
  EXPECT_EQ(token({"--key", "k", "--sub", "a", "--pub="}, a, m), cli_status::error);
  EXPECT_TRUE(contains(m, "--pub: empty pattern")) << m;
  EXPECT_EQ(token({"--key", "k", "--sub", "a", "--ttl", "0"}, a, m), cli_status::error);
  EXPECT_TRUE(contains(m, "--ttl: '0' is out of range (1s..366d)")) << m;
  EXPECT_EQ(token({"--key", "k", "--sub", "a", "--ttl", "500ms"}, a, m), cli_status::error);
  EXPECT_TRUE(contains(m, "--ttl: '500ms' is not a whole number of seconds")) << m;
  EXPECT_EQ(token({"--key", "k", "--sub", "a", "--ttl", "1 hour"}, a, m), cli_status::error);
  EXPECT_EQ(token({"--key", "k", "--sub", "a", "--subscrib", "x"}, a, m), cli_status::error);
  EXPECT_TRUE(contains(m, "(did you mean --subscribe?)")) << m;
  EXPECT_EQ(token({"--key", "k", "--sub", "a", "stray"}, a, m), cli_status::error);
  EXPECT_TRUE(contains(m, "unexpected argument 'stray'")) << m;
}

TEST(TokenArgs, SecretOnTheCommandLineIsRefused) {
  token_args a;
  std::string m;
  EXPECT_EQ(token({"--hmac-secret=hunter2", "--sub", "a"}, a, m), cli_status::error);
  EXPECT_TRUE(contains(m, "--hmac-secret: secrets are not accepted on the command line")) << m;
  EXPECT_FALSE(contains(m, "hunter2")) << m;
}

TEST(TokenArgs, Help) {
  token_args a;
  std::string m;
  ASSERT_EQ(token({"--sub", "a", "-h"}, a, m), cli_status::exit_success);
  EXPECT_TRUE(contains(m, "Usage: wsagent token")) << m;
}

}  // namespace
}  // namespace wsa

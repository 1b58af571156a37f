// The tool subcommands `wsagent keygen` and `wsagent token`: the signing side of tokens, kept
// out of src/auth (which only verifies). src/cli fills their settings (tools/tool_args.h).
//
// Each has two layers: keygen()/make_token() do the work and return what to print and the
// exit status, so tests can check every path without capturing stdio; run_keygen()/
// run_token() print that (stdout for results, one "wsagent <command>: ..." line per error or
// warning on stderr) and return the status for main to return. Nothing here exits.
// Exit statuses: 0 done, 1 failure (a file cannot be read or written, a key is malformed,
// an output exists), 2 usage error (arguments that can never work, e.g. a bad pattern).
// Startup only, one thread; crypto_init() is called here (it is idempotent).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tools/tool_args.h"

namespace wsa {

inline constexpr int tool_ok = 0;
inline constexpr int tool_failure = 1;
inline constexpr int tool_usage_error = 2;

struct tool_result {
  int status = tool_ok;
  std::string out;                    ///< for stdout (the token, or what keygen wrote)
  std::vector<std::string> messages;  ///< for stderr, one line each, without "\n"
};

/// Writes a new key pair: the private JWK (mode 0600) and the public JWKS (mode 0644).
/// Without `force`, refuses when either file exists and writes neither. If the second
/// file cannot be written, a private key file created by this call is removed again.
tool_result keygen(const keygen_args& args);

/// Signs a token for `args` with iat = `now_s`, exp = `now_s` + ttl. `out` is the token
/// plus "\n"; `messages` may hold warnings (e.g. a short HMAC secret) even on success.
tool_result make_token(const token_args& args, int64_t now_s);

/// Prints `r` (out to stdout, messages to stderr) and returns its status.
int print_tool_result(const tool_result& r);

/// `wsagent keygen` and `wsagent token` as main runs them (token: the current time).
int run_keygen(const keygen_args& args);
int run_token(const token_args& args);

}  // namespace wsa

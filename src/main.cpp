// wsagent: the binary. Subcommands: serve, keygen, token, version (src/cli parses them).
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "auth/keys.h"
#include "cli/command_line.h"
#include "obs/log.h"
#include "server/node.h"
#include "tools/commands.h"
#include "wsa/version.h"

namespace {

// The keys that verify client tokens: the JWKS and/or the HS256 secret (the option parser
// has already refused auth without either, unless --no-auth).
bool load_keys(const wsa::config& cfg, wsa::key_set& keys) {
  std::string error;
  std::vector<std::string> warnings;
  if (!cfg.jwks_file.empty() && !keys.add_jwks_file(cfg.jwks_file, error, warnings)) {
    WSA_LOG(error, "cannot load the JWKS").kv("file", cfg.jwks_file).kv("why", error);
    return false;
  }
  if (!cfg.hmac_secret_file.empty() &&
      !keys.set_hmac_secret_file(cfg.hmac_secret_file, error, warnings)) {
    WSA_LOG(error, "cannot load the HS256 secret").kv("file", cfg.hmac_secret_file).kv("why", error);
    return false;
  }
  for (const std::string& warning : warnings) {
    WSA_LOG(warn, warning);
  }
  if (keys.empty()) {
    WSA_LOG(error, "no key to verify tokens: give --jwks or --hmac-secret-file, or --no-auth");
    return false;
  }
  return true;
}

int run_serve(const wsa::config& cfg) {
  wsa::key_set keys;
  if (!wsa::crypto_init()) {
    WSA_LOG(error, "libsodium cannot start (no randomness source)");
    return 1;
  }
  if (!cfg.no_auth && !load_keys(cfg, keys)) {
    return wsa::usage_error_exit;
  }
  wsa::node n(cfg, std::move(keys));
  return n.run();
}

}  // namespace

int main(int argc, char** argv) {
  wsa::invocation inv;
  std::string message;
  switch (wsa::parse_command_line(argc, argv, inv, message)) {
    case wsa::cli_status::exit_success:
      std::fputs(message.c_str(), stdout);
      return 0;
    case wsa::cli_status::error:
      std::fprintf(stderr, "%s\n", message.c_str());
      return wsa::usage_error_exit;
    case wsa::cli_status::ok:
      break;
  }
  wsa::set_log_level(inv.serve.log_level);
  wsa::set_log_format(inv.serve.log_format);
  for (const std::string& warning : inv.warnings) {
    WSA_LOG(warn, warning);
  }
  switch (inv.command) {
    case wsa::subcommand::serve:
      return run_serve(inv.serve);
    case wsa::subcommand::keygen:
      return wsa::run_keygen(inv.keygen);
    case wsa::subcommand::token:
      return wsa::run_token(inv.token);
    case wsa::subcommand::version:
      std::printf("wsagent %s\n", wsa::version);
      return 0;
  }
  return 0;
}

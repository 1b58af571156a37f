// wsagent: the binary. Subcommands: serve, keygen, token, version (src/cli parses them).
#include <cstdio>
#include <string>

#include "cli/command_line.h"
#include "obs/log.h"
#include "server/node.h"
#include "wsa/version.h"

extern char** environ;

namespace {

int run_serve(const wsa::config& cfg) {
  wsa::node n(cfg);
  return n.run();
}

}  // namespace

int main(int argc, char** argv) {
  wsa::invocation inv;
  std::string message;
  switch (wsa::parse_command_line(argc, argv, environ, inv, message)) {
    case wsa::parse_status::exit_success:
      std::fputs(message.c_str(), stdout);
      return 0;
    case wsa::parse_status::error:
      std::fprintf(stderr, "%s\n", message.c_str());
      return wsa::usage_error_exit;
    case wsa::parse_status::ok:
      break;
  }
  wsa::log_level level = wsa::log_level::info;
  wsa::parse_log_level(inv.serve.log_level, level);
  wsa::set_log_level(level);
  for (const std::string& warning : inv.warnings) {
    WSA_LOG(warn, warning);
  }
  switch (inv.command) {
    case wsa::subcommand::serve:
      if (!inv.serve.no_auth) {
        WSA_LOG(error, "token authentication is not available in this build yet: use --no-auth");
        return 2;
      }
      return run_serve(inv.serve);
    case wsa::subcommand::keygen:
    case wsa::subcommand::token:
      std::fprintf(stderr, "wsagent: keygen and token are not available in this build yet\n");
      return 2;
    case wsa::subcommand::version:
      std::printf("wsagent %s\n", wsa::version);
      return 0;
  }
  return 0;
}

// wsagent: the binary. Subcommands: serve (more arrive with the cli module).
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "obs/log.h"
#include "server/node.h"
#include "wsa/config.h"

namespace {

// Interim flag parsing, replaced by src/cli (table-driven, env vars, config file, help).
bool parse_interim(int argc, char** argv, wsa::config& cfg) {
  for (int i = 2; i < argc; ++i) {
    std::string arg = argv[i];
    std::string value;
    const auto eq = arg.find('=');
    if (eq != std::string::npos) {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
    }
    auto take = [&]() -> const char* {
      if (!value.empty()) {
        return value.c_str();
      }
      return i + 1 < argc ? argv[++i] : "";
    };
    if (arg == "--no-auth") {
      cfg.no_auth = true;
    } else if (arg == "--listen") {
      cfg.listen = take();
    } else if (arg == "--shards") {
      cfg.shards = static_cast<unsigned>(std::atoi(take()));
    } else if (arg == "--max-message-bytes") {
      cfg.max_message_bytes = static_cast<uint32_t>(std::atoll(take()));
    } else if (arg == "--max-outbound-bytes") {
      cfg.max_outbound_bytes = static_cast<uint32_t>(std::atoll(take()));
    } else if (arg == "--max-tags-per-connection") {
      cfg.max_tags_per_connection = static_cast<uint32_t>(std::atoll(take()));
    } else if (arg == "--max-connections") {
      cfg.max_connections = static_cast<uint32_t>(std::atoll(take()));
    } else if (arg == "--history-size") {
      cfg.history_size = static_cast<uint32_t>(std::atoll(take()));
    } else if (arg == "--handshake-timeout") {
      cfg.handshake_timeout_ms = static_cast<uint32_t>(std::atoll(take()));
    } else if (arg == "--drain-timeout") {
      cfg.drain_timeout_ms = static_cast<uint32_t>(std::atoll(take()));
    } else if (arg == "--idle-timeout") {
      cfg.idle_timeout_ms = static_cast<uint32_t>(std::atoll(take()));
    } else if (arg == "--node-id") {
      cfg.node_id = take();
    } else {
      std::fprintf(stderr, "wsagent: unknown option %s\n", arg.c_str());
      return false;
    }
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || std::strcmp(argv[1], "serve") != 0) {
    std::fprintf(stderr, "usage: wsagent serve [options]\n");
    return 2;
  }
  wsa::config cfg;
  if (!parse_interim(argc, argv, cfg)) {
    return 2;
  }
  if (!cfg.no_auth) {
    WSA_LOG(error, "authentication is not built yet: run with --no-auth");
    return 2;
  }
  wsa::node n(cfg);
  return n.run();
}

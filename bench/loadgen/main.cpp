// wsagent-loadgen: entry point. Parses the command line and hands the run to the
// coordinator (which forks the workers).
#include <csignal>
#include <cstdio>
#include <string>

#include "coordinator.h"
#include "options.h"

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  wsa::loadgen::options opt;
  std::string err;
  int rc = wsa::loadgen::parse_options(argc, argv, opt, err);
  if (rc == 1) {
    std::fputs(wsa::loadgen::help_text(), stdout);
    return 0;
  }
  if (rc < 0) {
    std::fprintf(stderr, "wsagent-loadgen: %s\n", err.c_str());
    return 2;
  }
  return wsa::loadgen::run_coordinator(opt);
}

// wsagent: the binary. Subcommands: serve, keygen, token.
#include <cstdio>

int main() {
  std::puts("wsagent: not built yet");
  return 1;
}

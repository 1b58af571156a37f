// Invariant checks. The error policy (docs/style.md guideline 9):
// - bad input from the network is never checked with these: it gets an error frame or a
//   close code, a counter, and the shard goes on;
// - WSA_CHECK: a library or system call that "cannot fail" after startup, or running out of
//   memory. Aborts with a message in every build.
// - WSA_ASSERT: an invariant of our own code. Checked in debug builds only.
#pragma once

#include <cstdio>
#include <cstdlib>

namespace wsa::detail {
[[noreturn]] inline void check_failed(const char* expr, const char* file, int line,
                                      const char* what) {
  std::fprintf(stderr, "wsagent: fatal: %s:%d: check failed: %s%s%s\n", file, line, expr,
               what[0] ? ": " : "", what);
  std::abort();
}
}  // namespace wsa::detail

#define WSA_CHECK(expr, ...)                                                              \
  do {                                                                                    \
    if (!(expr)) [[unlikely]] {                                                           \
      ::wsa::detail::check_failed(#expr, __FILE__, __LINE__, "" __VA_ARGS__);             \
    }                                                                                     \
  } while (0)

#ifdef NDEBUG
#define WSA_ASSERT(expr) \
  do {                   \
  } while (0)
#else
#define WSA_ASSERT(expr) WSA_CHECK(expr)
#endif

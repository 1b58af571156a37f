// Reads what a running process costs the machine, from /proc: the abuse tests measure the
// server under attack with it (memory, CPU, open files) instead of trusting its own word.
#pragma once

#include <sys/types.h>

#include <cstdint>

namespace wsa::test {

/// Resident set size now (VmRSS) in KiB; -1 if the process is gone.
int64_t rss_kib(pid_t pid);
/// The highest resident set size so far (VmHWM) in KiB; -1 if the process is gone.
int64_t peak_rss_kib(pid_t pid);
/// User + system CPU time consumed so far, in seconds (all threads); -1 if gone.
double cpu_seconds(pid_t pid);
/// Open file descriptors; -1 if gone.
int open_fds(pid_t pid);

/// Under AddressSanitizer freed memory waits in a quarantine (256 MiB by default) before it
/// is reused, which would hide any bound on a server's RSS: servers started after this call
/// keep it small (ASAN_OPTIONS quarantine_size_mb=8, unless already set). No effect on other
/// builds.
void small_sanitizer_quarantine();

/// CPU used by a process over an interval: construct, do the work, read used().
class cpu_meter {
 public:
  explicit cpu_meter(pid_t pid);
  /// CPU seconds consumed since construction divided by the wall seconds elapsed (1.0 = one
  /// core busy for the whole interval).
  double cores_used() const;

 private:
  pid_t pid_;
  double start_cpu_;
  int64_t start_ns_;
};

}  // namespace wsa::test

// Samples of another process's memory and CPU time from /proc (CPU time from task-clock
// counters when given and allowed), for --server-pid, and the load generator's own rusage.
// Called by the parent (server) and by workers (own CPU).
#pragma once

#include <cstdint>

#include "task_clock.h"

namespace wsa::loadgen {

struct proc_sample {
  bool ok = false;
  uint64_t rss_kib = 0;  // VmRSS
  uint64_t hwm_kib = 0;  // VmHWM: peak RSS over the process's life
  uint64_t cpu_ns = 0;   // utime + stime of all threads
  bool has_task_clock = false;  // task_clock_ns read (perf_event_open allowed)
  uint64_t task_clock_ns = 0;   // on-CPU time of all threads (a running total)
  uint64_t t_ns = 0;     // CLOCK_MONOTONIC when sampled
};

// With a task_clock, also the CPU time from its counters.
proc_sample sample_process(int pid, task_clock* clock = nullptr);

// user + system CPU time of the calling process, ns.
uint64_t own_cpu_ns();
// Peak RSS of the calling process, KiB.
uint64_t own_max_rss_kib();

}  // namespace wsa::loadgen

// On-CPU time of another process (--server-pid): a perf task-clock counter on each of its
// threads, summed. /proc/PID/stat's utime + stime follow the scheduler's rq clock, whose
// update is skipped after a wake-up preemption: when the server shares its CPU with Redis,
// the time from one waking the other until it gets the CPU is charged to the woken one,
// though the other ran it (at fixed-1k through Redis, about a third of a core moved from the
// server to Redis). task-clock counts from the context switches themselves, as `perf stat
// -e task-clock` does.
#pragma once

#include <cstdint>
#include <vector>

namespace wsa::loadgen {

class task_clock {
 public:
  explicit task_clock(int pid) : pid_(pid) {}
  ~task_clock();
  task_clock(const task_clock&) = delete;
  task_clock& operator=(const task_clock&) = delete;

  // Nanoseconds on a CPU of the process's threads since the first call, which opens one
  // counter per thread (threads started later count in their starter's counter). False
  // when perf_event_open was refused (perf_event_paranoid, containers): that is for good,
  // so a run's samples all come from one source.
  bool read_ns(uint64_t& ns);

 private:
  void open_counters();

  int pid_;
  bool opened_ = false;
  std::vector<int> fds_;
};

}  // namespace wsa::loadgen

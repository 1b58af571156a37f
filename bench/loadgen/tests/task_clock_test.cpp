// --server-pid's CPU time: task-clock counters on a busy child process count its time on a
// CPU (in ns, at most the wall time); a process that is gone gives no reading.
// bench/compare/task_clock_test.py checks the figures against wall time on an idle machine.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "proc_stats.h"
#include "task_clock.h"

namespace wsa::loadgen {
namespace {

pid_t spinning_child() {
  pid_t pid = fork();
  if (pid == 0) {
    volatile uint64_t spins = 0;
    for (;;) {
      spins = spins + 1;
    }
  }
  return pid;
}

void stop(pid_t pid) {
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
}

TEST(task_clock, busy_child_counts_its_time_on_a_cpu) {
  pid_t pid = spinning_child();
  ASSERT_GT(pid, 0);
  task_clock clock(pid);
  proc_sample a = sample_process(pid, &clock);
  usleep(500 * 1000);
  proc_sample b = sample_process(pid, &clock);
  stop(pid);
  ASSERT_TRUE(a.ok && b.ok);
  if (!a.has_task_clock) {
    GTEST_SKIP() << "perf_event_open refused here";
  }
  ASSERT_TRUE(b.has_task_clock);
  double wall = static_cast<double>(b.t_ns - a.t_ns);
  double on_cpu = static_cast<double>(b.task_clock_ns - a.task_clock_ns);
  EXPECT_GT(on_cpu, 0.01 * wall);  // ns, not µs
  EXPECT_LE(on_cpu, 1.02 * wall);
}

TEST(task_clock, gone_process_gives_no_reading) {
  pid_t pid = spinning_child();
  ASSERT_GT(pid, 0);
  stop(pid);
  task_clock clock(pid);
  uint64_t ns = 0;
  EXPECT_FALSE(clock.read_ns(ns));
  EXPECT_FALSE(sample_process(pid, &clock).ok);
}

}  // namespace
}  // namespace wsa::loadgen

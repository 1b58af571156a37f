#!/usr/bin/python3
"""task_clock.ProcessCpu on real child processes: a busy loop's task-clock is its on-CPU time,
threads started later are counted, and a refused perf_event_open falls back to /proc/PID/stat.
Run directly (ctest runs it as compare_task_clock)."""
import errno
import os
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import task_clock  # noqa: E402

SPIN = "while True: pass"
# The main thread sleeps; after 0.5 s a second thread starts spinning.
LATE_THREAD = ("import threading, time\ndef spin():\n    while True: pass\n"
               "time.sleep(0.5)\nthreading.Thread(target=spin, daemon=True).start()\n"
               "time.sleep(60)")


def child(code):
    return subprocess.Popen([sys.executable, "-c", code])


def run_delay(pid):
    """Seconds the process's main thread waited for a CPU (field 2 of /proc/PID/schedstat)."""
    with open("/proc/%d/schedstat" % pid) as f:
        return int(f.read().split()[1]) / 1e9


def refuse(tid):
    raise OSError(errno.EACCES, "refused for the test (tid %d)" % tid)


class ProcessCpuTest(unittest.TestCase):
    def setUp(self):
        self.procs = []

    def tearDown(self):
        for p in self.procs:
            p.kill()
            p.wait()

    def start(self, code):
        p = child(code)
        self.procs.append(p)
        return p

    def test_busy_loop_counts_its_wall_time(self):
        p = self.start(SPIN)
        time.sleep(0.2)
        with task_clock.ProcessCpu(p.pid) as cpu:
            c0, s0, w0, t0 = (cpu.seconds(), task_clock.proc_stat_seconds(p.pid),
                              run_delay(p.pid), time.monotonic())
            time.sleep(1.0)
            c1, s1, w1, t1 = (cpu.seconds(), task_clock.proc_stat_seconds(p.pid),
                              run_delay(p.pid), time.monotonic())
            self.assertEqual(cpu.source, task_clock.TASK_CLOCK)
        wall, on_cpu, ticks, waited = t1 - t0, c1 - c0, s1 - s0, w1 - w0
        # A busy loop runs or waits for the CPU: its wall time on an idle machine, less the
        # wait on a busy one (other work, or a niced test run).
        self.assertGreater(on_cpu, 0)
        self.assertAlmostEqual(on_cpu + waited, wall, delta=0.05 + 0.05 * wall)
        # /proc agrees for a process that wakes nobody (within its 10 ms ticks).
        self.assertAlmostEqual(on_cpu, ticks, delta=0.05 + 0.1 * ticks)

    def test_threads_started_later_are_counted(self):
        p = self.start(LATE_THREAD)
        time.sleep(0.2)
        with task_clock.ProcessCpu(p.pid) as cpu:
            before = cpu.seconds()
            time.sleep(0.6)  # the spinning thread has started; this read opens its counter
            cpu.seconds()
            time.sleep(0.5)
            spun = cpu.seconds() - before
            self.assertGreaterEqual(len(cpu._fds), 2)
        self.assertGreater(spun, 0.1)

    def test_refusal_falls_back_to_proc_stat(self):
        p = self.start(SPIN)
        time.sleep(0.2)
        with task_clock.ProcessCpu(p.pid, opener=refuse) as cpu:
            first = cpu.seconds()
            self.assertEqual(cpu.source, task_clock.PROC_STAT)
            self.assertIn("refused for the test", cpu.refusal)
            time.sleep(0.3)
            self.assertGreater(cpu.seconds(), first)  # running total of utime + stime
            self.assertAlmostEqual(cpu.seconds(), task_clock.proc_stat_seconds(p.pid),
                                   delta=0.05)

    def test_close_releases_the_counters(self):
        p = self.start(SPIN)
        cpu = task_clock.ProcessCpu(p.pid)
        cpu.seconds()
        fds = list(cpu._fds.values())
        self.assertTrue(fds)
        cpu.close()
        for fd in fds:
            with self.assertRaises(OSError):
                os.fstat(fd)

    def test_gone_process_raises(self):
        p = self.start(SPIN)
        cpu = task_clock.ProcessCpu(p.pid)
        cpu.seconds()
        p.kill()
        p.wait()
        with self.assertRaises(OSError):
            cpu.seconds()
        cpu.close()


if __name__ == "__main__":
    unittest.main()

#!/usr/bin/python3
"""task_clock.ProcessCpu on real child processes: a busy loop's task-clock is its on-CPU time,
threads started later are counted (even when they end between two reads), and a refused
perf_event_open falls back to /proc/PID/stat.
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
# The main thread sleeps; after 0.3 s it starts ten threads one after another, each
# spinning for 30 ms.
SHORT_THREADS = ("import threading, time\ndef spin():\n    end = time.monotonic() + 0.03\n"
                 "    while time.monotonic() < end: pass\ntime.sleep(0.3)\nfor _ in range(10):\n"
                 "    t = threading.Thread(target=spin)\n    t.start()\n    t.join()\n"
                 "time.sleep(60)")


def child(code):
    return subprocess.Popen([sys.executable, "-c", code])


def idle_seconds():
    """Idle time of all CPUs together, from /proc/stat (idle + iowait)."""
    with open("/proc/stat") as f:
        fields = f.readline().split()  # the "cpu" line: sums over CPUs
    return (int(fields[4]) + int(fields[5])) / os.sysconf("SC_CLK_TCK")


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
            c0, s0, i0, t0 = (cpu.seconds(), task_clock.proc_stat_seconds(p.pid), idle_seconds(),
                              time.monotonic())
            time.sleep(1.0)
            c1, s1, i1, t1 = (cpu.seconds(), task_clock.proc_stat_seconds(p.pid), idle_seconds(),
                              time.monotonic())
            self.assertEqual(cpu.source, task_clock.TASK_CLOCK)
        wall, on_cpu, ticks, idle = t1 - t0, c1 - c0, s1 - s0, i1 - i0
        self.assertGreater(on_cpu, 0.01 * wall)  # seconds, not ms or µs
        self.assertLessEqual(on_cpu, 1.02 * wall)
        if idle < 0.8 * ((os.cpu_count() or 1) - 1) * wall:
            self.skipTest("other work competed for the CPUs: on-CPU %.2f s of %.2f s" % (
                on_cpu, wall))
        # The other CPUs idle: nothing took the child's, so it ran all the time, and /proc
        # agrees (no wake-ups on its CPU; within its 10 ms ticks).
        self.assertAlmostEqual(on_cpu, wall, delta=0.1 * wall)
        self.assertAlmostEqual(on_cpu, ticks, delta=0.05 + 0.1 * ticks)

    def test_threads_started_later_are_counted(self):
        p = self.start(SHORT_THREADS)
        time.sleep(0.1)
        with task_clock.ProcessCpu(p.pid) as cpu:
            c0, s0 = cpu.seconds(), task_clock.proc_stat_seconds(p.pid)
            self.assertEqual(len(cpu._fds), 1)
            time.sleep(1.0)  # every thread has started, spun and ended: no read saw one
            c1, s1 = cpu.seconds(), task_clock.proc_stat_seconds(p.pid)
        self.assertGreater(c1 - c0, 0.1)
        self.assertAlmostEqual(c1 - c0, s1 - s0, delta=0.05 + 0.1 * (s1 - s0))

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

    def test_exited_process_reads_its_total(self):
        p = self.start(SPIN)
        time.sleep(0.1)
        with task_clock.ProcessCpu(p.pid) as cpu:
            cpu.seconds()
            time.sleep(0.3)
            p.kill()
            p.wait()
            total = cpu.seconds()
            time.sleep(0.1)
            self.assertEqual(cpu.seconds(), total)
        self.assertGreater(total, 0)


if __name__ == "__main__":
    unittest.main()

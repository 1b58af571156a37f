"""One point of the table: start a server, put one workload on it with wsagent-loadgen, sample
the server side's CPU (perf task-clock, see task_clock.py) and memory (/proc), stop it."""
import json
import os
import subprocess
import threading
import time

import servers as servers_mod
import task_clock

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")  # /proc's unit of CPU time


def loadavg():
    """The 1-minute load average: on a shared machine, how much else competed for the CPUs
    (a load generator starved by other work reads little of its core and is not flagged)."""
    try:
        with open("/proc/loadavg") as f:
            return float(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def softirq_seconds(cpu):
    """Softirq time of one CPU, from /proc/stat (field 7 of its line, in clock ticks). On
    loopback the TCP input of a segment runs as softirq on the CPU that sent it: the load
    generator's CPU thus does the server socket's processing of every ACK it sends. With
    tick-based accounting this time is also in the process's stime."""
    with open("/proc/stat") as f:
        for line in f:
            fields = line.split()
            if fields[0] == "cpu%d" % cpu:
                return int(fields[7]) / CLOCK_TICKS
    raise OSError("cpu%d not in /proc/stat" % cpu)


def status_kib(pid, key):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return None


class CpuSampler:
    """Samples CPU seconds every 100 ms (label -> function returning seconds), so that
    CPU% over the load generator's measured window can be read afterwards."""

    def __init__(self, sources):
        self.sources = sources
        self.samples = []  # (monotonic, {label: cpu_seconds})
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _take(self):
        try:
            self.samples.append((time.monotonic(),
                                 {k: read() for k, read in self.sources.items()}))
        except OSError:
            pass

    def _loop(self):
        while not self._stop.is_set():
            self._take()
            self._stop.wait(0.1)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self._take()

    def _at(self, t, label):
        prev = None
        for ts, values in self.samples:
            if ts >= t:
                if prev is None or ts == prev[0]:
                    return values[label]
                frac = (t - prev[0]) / (ts - prev[0])
                return prev[1][label] + frac * (values[label] - prev[1][label])
            prev = (ts, values)
        return self.samples[-1][1][label] if self.samples else 0.0

    def percent(self, label, start, end):
        if end <= start:
            return None
        return 100.0 * (self._at(end, label) - self._at(start, label)) / (end - start)


def _start_profile(ctx, workload, pid, workdir):
    """With --profile: perf/profile.sh on the server during the measured window (from 1 s
    after the warmup to 1 s before the end), in a thread; the point's figures then include
    the profiler's cost."""
    if not ctx.profile or workload.scenario != "fanout":
        return None
    warmup, duration = (1, 3) if ctx.quick else (2, 10)

    def record():
        time.sleep(warmup + 1.5)  # connection setup (well under a second here) and warmup
        with open(os.path.join(workdir, "profile.log"), "w") as log:
            subprocess.run([os.path.join(ctx.root, "perf", "profile.sh"), "--pid", str(pid),
                            "--seconds", str(max(1, duration - 2)),
                            "--out", os.path.join(workdir, "perf")],
                           stdout=log, stderr=subprocess.STDOUT)

    thread = threading.Thread(target=record, daemon=True)
    thread.start()
    return thread


def run_point(ctx, server, workload, workdir):
    """Returns a result dict; `error` is set when the point could not be measured."""
    point = {"server": server.key, "label": server.label, "transport": server.transport,
             "workload": workload.key, "workload_label": workload.label,
             "loadavg_before": loadavg()}
    os.makedirs(workdir, exist_ok=True)
    try:
        running = server.start(ctx, workdir)
    except servers_mod.NotAvailable as e:
        point["error"] = "not available: %s" % e
        return point
    counters = {}  # label -> task_clock.ProcessCpu
    try:
        pids = {"main": running.main.pid}
        pids.update({k: p.pid for k, p in running.helpers.items()})
        cmd = (["taskset", "-c", str(ctx.loadgen_cpu), ctx.loadgen] +
               workload.loadgen_args(ctx.quick) +
               ["--proto", running.proto, "--url", running.url,
                "--server-pid", str(running.main.pid), "--json"] +
               ctx.loadgen_extra)  # --loadgen-arg's, [] without
        point["command"] = cmd
        counters = {k: task_clock.ProcessCpu(pid) for k, pid in pids.items()}
        sources = {k: c.seconds for k, c in counters.items()}
        # /proc/PID/stat as well, for comparison only (JSON): on a shared core it charges a
        # woken process for the time until it gets the CPU, which another ran (task_clock.py).
        sources.update({k + "@proc": (lambda pid=pid: task_clock.proc_stat_seconds(pid))
                        for k, pid in pids.items()})
        sources["loadgen_softirq"] = lambda: softirq_seconds(ctx.loadgen_cpu)
        with CpuSampler(sources) as sampler:
            t0 = time.monotonic()
            lg_proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                       text=True)
            profiler = _start_profile(ctx, workload, running.main.pid, workdir)
            try:
                out, err = lg_proc.communicate(timeout=600)
            except subprocess.TimeoutExpired:
                lg_proc.kill()
                out, err = lg_proc.communicate()
            proc = subprocess.CompletedProcess(cmd, lg_proc.returncode, out, err)
            if profiler is not None:
                profiler.join()
                point["profile"] = os.path.join(workdir, "perf")
        with open(os.path.join(workdir, "loadgen.json"), "w") as f:
            f.write(proc.stdout)
        with open(os.path.join(workdir, "loadgen.err"), "w") as f:
            f.write(proc.stderr)
        if running.main.poll() is not None:
            point["error"] = "server exited (status %d)" % running.main.returncode
            return point
        point["server_peak_rss_kib"] = status_kib(running.main.pid, "VmHWM")
        for label, pid in pids.items():
            if label != "main":
                point["%s_peak_rss_kib" % label] = status_kib(pid, "VmHWM")
        if proc.returncode != 0 or not proc.stdout.strip():
            point["error"] = "loadgen failed: " + (proc.stderr.strip().splitlines() or ["?"])[-1]
            return point
        lg = json.loads(proc.stdout)
        point["loadgen"] = lg
        # The measured window, on this process's clock: after setup and warmup.
        start = t0 + lg.get("setup_s", 0) + lg.get("warmup_s", 0)
        end = start + lg.get("window_s", lg.get("duration_s", 0))
        for label in pids:
            if label != "main":
                point["%s_cpu_pct" % label] = sampler.percent(label, start, end)
        point["main_cpu_pct_sampled"] = sampler.percent("main", start, end)  # the table's
        point["cpu_source"] = {k: c.source for k, c in counters.items()}
        refused = {k: c.refusal for k, c in counters.items() if c.refusal}
        if refused:
            point["cpu_source_refusal"] = refused
        point["cpu_pct_proc_stat"] = {k: sampler.percent(k + "@proc", start, end) for k in pids}
        point["loadgen_softirq_pct"] = sampler.percent("loadgen_softirq", start, end)
        if running.redis_ports:
            # Only rows that went through Redis count (every master of a cluster summed).
            calls = {}
            for port in running.redis_ports:
                for name, n in servers_mod.redis_commands(port).items():
                    calls[name] = calls.get(name, 0) + n
            point["redis_calls"] = calls
            if not set(calls) - {"info", "ping", "hello", "client", "auth", "select"}:
                point["error"] = ("not available: the server sent no command to Redis "
                                  "(--broker redis:// not wired in yet)")
                point["loadgen_unverified"] = point.pop("loadgen")
    finally:
        for counter in counters.values():
            counter.close()
        running.stop()
        point["loadavg_after"] = loadavg()
    return point

"""Running scripts/cluster.sh from a test: started in a session of its own with a test key
pair and a run directory, its cluster.env read once everything is up, the processes it
started tracked by pid and start time (a pid alone may be reused), stopped with a Ctrl-C
(SIGINT to its process group, as a terminal sends it), and everything killed and its logs
printed on a failure."""
import asyncio
import contextlib
import glob
import json
import os
import shutil
import signal
import subprocess
import sys
import re
import tempfile
import time

import websockets

from deploy_support import REPO, clean_env, http_get

HERE = os.path.dirname(os.path.abspath(__file__))
TIMEOUT = 15


def wait_for(predicate, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()


def start_time(pid):
    """The process's start time (field 22 of /proc/PID/stat), or None when it is gone; with
    the pid it names one process, even if the pid is reused later."""
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as f:
            return f.read().rsplit(")", 1)[1].split()[19]
    except (FileNotFoundError, ProcessLookupError):
        return None


def read_env(path):
    values = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            name, _, value = line.strip().partition("=")
            values[name] = value.strip('"')
    return values


def pubsub(args):
    return subprocess.run(["/usr/bin/python3", os.path.join(HERE, "pubsub_check.py"), *args],
                          capture_output=True, text=True, timeout=60)


class cluster_run:
    """One run of scripts/cluster.sh: `env` (cluster.env), `pids` (in start order), `out`
    (what the script printed, a file), `script` (its Popen)."""

    def __init__(self, c, binary, tmp, args):
        self.c = c
        self.run_dir = os.path.join(tmp, "run")
        self.env_file = os.path.join(self.run_dir, "cluster.env")
        self.out = open(os.path.join(tmp, "cluster.out"), "w+", encoding="utf-8")
        self.script = subprocess.Popen(
            [os.path.join(REPO, "scripts", "cluster.sh"), "--binary", binary, "--port", "0",
             "--keys", os.path.join(tmp, "keys"), "--dir", self.run_dir, *args],
            stdout=self.out, stderr=subprocess.STDOUT, env=clean_env(), start_new_session=True)
        self.env = {}
        self.pids = []
        self.started = {}

    def wait_up(self, seconds=90):
        """True once cluster.env is written (everything up and printed)."""
        if not wait_for(lambda: os.path.exists(self.env_file) or self.script.poll() is not None,
                        seconds):
            self.c.check(False, f"the cluster did not come up within {seconds} s")
        if not self.c.check(os.path.exists(self.env_file), "cluster.sh wrote no cluster.env"):
            return False
        self.env = read_env(self.env_file)
        self.pids = [int(p) for p in self.env["PIDS"].split()]
        self.started = {p: start_time(p) for p in self.pids}
        return True

    def alive(self, pid):
        return start_time(pid) is not None and start_time(pid) == self.started.get(pid)

    def printed(self):
        self.out.seek(0)
        return self.out.read()

    def ctrl_c(self):
        """Stops the cluster as a terminal's Ctrl-C would; checks that it exits 0 and that
        nothing it started is left."""
        os.killpg(self.script.pid, signal.SIGINT)
        try:
            status = self.script.wait(timeout=60)
        except subprocess.TimeoutExpired:
            status = None
        c = self.c
        c.check(status == 0, f"cluster.sh exited with {status} after Ctrl-C")
        c.check(wait_for(lambda: not any(self.alive(p) for p in self.pids), 5),
                f"processes left after Ctrl-C: {[p for p in self.pids if self.alive(p)]}")
        left = subprocess.run(["pgrep", "-f", self.run_dir], capture_output=True,
                              text=True).stdout
        c.check(not left.strip(), f"processes still name the cluster's directory: {left}")
        c.check(not os.path.exists(self.env_file), "cluster.env outlived the cluster")

    def cleanup(self):
        if self.script.poll() is None:
            os.killpg(self.script.pid, signal.SIGTERM)
            try:
                self.script.wait(timeout=40)
            except subprocess.TimeoutExpired:
                os.killpg(self.script.pid, signal.SIGKILL)
                self.script.wait()
        for pid in self.pids:
            if self.alive(pid):
                os.kill(pid, signal.SIGKILL)
        if self.c.failures:
            print(self.printed()[-3000:], file=sys.stderr)
            for log in sorted(glob.glob(os.path.join(self.run_dir, "*.log"))):
                with open(log, encoding="utf-8", errors="replace") as f:
                    print(f"--- {os.path.basename(log)} ---\n{f.read()[-2000:]}", file=sys.stderr)
        self.out.close()


@contextlib.contextmanager
def cluster(c, binary, *args):
    """Runs scripts/cluster.sh ARGS for the block; always cleaned up after."""
    tmp = tempfile.mkdtemp(prefix="wsagent-cluster-test-")
    run = cluster_run(c, binary, tmp, args)
    try:
        yield run
    finally:
        run.cleanup()
        shutil.rmtree(tmp, ignore_errors=True)


def skip_without(*tools):
    for tool in tools:
        if shutil.which(tool) is None:
            print(f"SKIPPED: {tool} is not installed (apt-get install {tool})")
            sys.exit(77)


def port_of(url):
    return int(url.split(":")[2].split("/")[0])


def metric_sum(port, name):
    """The sum of every sample of `name` in a node's /metrics (0 if absent)."""
    status, text = http_get(port, "/metrics")
    if status != 200:
        return None
    total = 0
    for line in text.splitlines():
        m = re.match(rf"{name}(?:{{[^}}]*}})? (\S+)$", line)
        if m:
            total += float(m.group(1))
    return total


async def connect(url, token):
    """A protocol v1 WebSocket to `url` with the token in a header, and its hello's node
    (the whole hello is kept as ws.hello)."""
    ws = await asyncio.wait_for(
        websockets.connect(url, subprotocols=["wsagent.v1"], max_size=1 << 20,
                           extra_headers={"Authorization": f"Bearer {token}"}), TIMEOUT)
    hello = json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))
    assert hello["op"] == "hello", hello
    ws.hello = hello
    return ws, hello["node"]

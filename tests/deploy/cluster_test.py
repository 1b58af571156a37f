#!/usr/bin/python3
"""scripts/cluster.sh end to end: it starts Redis, three nodes and HAProxy on loopback; a
message published on one node reaches a subscriber on another (directly, and through
HAProxy with the token in the query string, which HAProxy's log must not show); HAProxy
answers health but not /metrics, and stops sending clients to a node that went away; a
Ctrl-C (SIGINT to the script's process group, as a terminal sends it) stops everything,
with exit status 0 and no process left.

Usage: cluster_test.py PATH/TO/wsagent
Exits 77 (ctest: skipped) when haproxy or redis-server is not installed.
"""
import asyncio
import glob
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from deploy_support import REPO, checks, clean_env, http_get  # noqa: E402
from pubsub_check import connect  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


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


started = {}  # pid -> start time, of the processes the cluster script started


def alive(pid):
    return start_time(pid) is not None and start_time(pid) == started.get(pid, start_time(pid))


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


async def nodes_of_new_clients(url, token, count):
    nodes = []
    for _ in range(count):
        ws, node = await connect(url, token)
        nodes.append(node)
        await ws.close()
    return nodes


def main():
    binary = os.path.realpath(sys.argv[1])
    for tool in ("haproxy", "redis-server"):
        if shutil.which(tool) is None:
            print(f"cluster_test: SKIPPED: {tool} is not installed (apt-get install {tool})")
            sys.exit(77)
    c = checks("cluster_test")
    tmp = tempfile.mkdtemp(prefix="wsagent-cluster-test-")
    run_dir = os.path.join(tmp, "run")
    out = open(os.path.join(tmp, "cluster.out"), "w+", encoding="utf-8")
    script = subprocess.Popen(
        [os.path.join(REPO, "scripts", "cluster.sh"), "--binary", binary, "--port", "0",
         "--keys", os.path.join(tmp, "keys"), "--dir", run_dir],
        stdout=out, stderr=subprocess.STDOUT, env=clean_env(), start_new_session=True)
    pids = []
    try:
        env_file = os.path.join(run_dir, "cluster.env")
        if not wait_for(lambda: os.path.exists(env_file) or script.poll() is not None, 90):
            c.check(False, "the cluster did not come up within 90 s")
        if not c.check(os.path.exists(env_file), "cluster.sh wrote no cluster.env"):
            return
        env = read_env(env_file)
        pids = [int(p) for p in env["PIDS"].split()]
        started.update({p: start_time(p) for p in pids})
        node_urls = env["NODE_URLS"].split()
        url, token = env["URL"], env["TOKEN"]
        c.check(len(pids) == 5 and len(node_urls) == 3, f"cluster.env: {env}")
        out.seek(0)
        printed = out.read()
        c.check(url in printed and token in printed, "the script did not print the URL and token")

        # Publish on one node, receive on another: directly, then through HAProxy.
        r = pubsub(["--sub", node_urls[0], "--pub", node_urls[2], "--token", token])
        c.check(r.returncode == 0 and "sub_node=node-1 pub_node=node-3" in r.stdout,
                f"node-3 -> node-1 failed: {r.stdout} {r.stderr}")
        r = pubsub(["--sub", url, "--token", token, "--token-in-query", "--distinct-nodes",
                    "--tag", "cluster.haproxy"])
        c.check(r.returncode == 0, f"through HAProxy failed: {r.stdout} {r.stderr}")

        http_base = url.replace("ws://", "").split("/")[0]
        port = int(http_base.split(":")[1])
        for path, expected in (("/healthz", 200), ("/readyz", 200), ("/metrics", 404)):
            status, _ = http_get(port, path)
            c.check(status == expected, f"HAProxy {path} answered {status}, not {expected}")
        node_port = int(node_urls[0].split(":")[2].split("/")[0])
        c.check(http_get(node_port, "/metrics")[0] == 200, "a node's own /metrics is not served")

        haproxy_log = os.path.join(run_dir, "haproxy.log")
        with open(haproxy_log, encoding="utf-8") as f:
            log = f.read()
        c.check('"/ws"' in log, f"HAProxy logged no WebSocket request: {log[-1000:]}")
        c.check(token not in log and "token=" not in log, "HAProxy's log shows the token")

        # A node that goes away: HAProxy's health check takes it out, the script keeps the
        # others running.
        os.kill(pids[2], signal.SIGTERM)  # node-2 (Redis, node-1, node-2, node-3, haproxy)
        c.check(wait_for(lambda: not alive(pids[2]), 30), "node-2 did not stop on SIGTERM")

        def marked_down():
            with open(haproxy_log, encoding="utf-8") as f:
                return "nodes/node-2 is DOWN" in f.read()
        c.check(wait_for(marked_down, 30), "HAProxy did not mark node-2 down")
        nodes = asyncio.run(nodes_of_new_clients(url, token, 6))
        c.check("node-2" not in nodes and set(nodes) == {"node-1", "node-3"},
                f"new clients went to {nodes}")
        c.check(all(alive(p) for i, p in enumerate(pids) if i != 2),
                "the other processes did not keep running")
        def reported():
            out.seek(0)
            return "node-2 (pid" in out.read()
        c.check(wait_for(reported, 10), "the script did not report node-2's exit")

        # Ctrl-C: the terminal signals the whole process group.
        os.killpg(script.pid, signal.SIGINT)
        try:
            status = script.wait(timeout=60)
        except subprocess.TimeoutExpired:
            status = None
        c.check(status == 0, f"cluster.sh exited with {status} after Ctrl-C")
        c.check(wait_for(lambda: not any(alive(p) for p in pids), 5),
                f"processes left after Ctrl-C: {[p for p in pids if alive(p)]}")
        left = subprocess.run(["pgrep", "-f", run_dir], capture_output=True, text=True).stdout
        c.check(not left.strip(), f"processes still name the cluster's directory: {left}")
        c.check(not os.path.exists(env_file), "cluster.env outlived the cluster")
    finally:
        if script.poll() is None:
            os.killpg(script.pid, signal.SIGTERM)
            try:
                script.wait(timeout=40)
            except subprocess.TimeoutExpired:
                os.killpg(script.pid, signal.SIGKILL)
                script.wait()
        for pid in pids:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
        if c.failures:
            out.seek(0)
            print(out.read()[-3000:], file=sys.stderr)
            for log in sorted(glob.glob(os.path.join(run_dir, "*.log"))):
                with open(log, encoding="utf-8", errors="replace") as f:
                    print(f"--- {os.path.basename(log)} ---\n{f.read()[-2000:]}", file=sys.stderr)
        out.close()
        shutil.rmtree(tmp, ignore_errors=True)
    c.report()


if __name__ == "__main__":
    main()

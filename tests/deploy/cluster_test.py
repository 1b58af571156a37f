#!/usr/bin/python3
"""scripts/cluster.sh end to end: it starts Redis, three nodes and HAProxy on loopback; a
message published on one node reaches a subscriber on another (directly, and through
HAProxy with the token in the query string, which HAProxy's log must not show); HAProxy
answers health but not /metrics, and stops sending clients to a node that went away; a
Ctrl-C (SIGINT to the script's process group, as a terminal sends it) stops everything,
with exit status 0 and no process left. The other Redis modes: cluster_modes.py.

Usage: cluster_test.py PATH/TO/wsagent
Exits 77 (ctest: skipped) when haproxy or redis-server is not installed.
"""
import asyncio
import os
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cluster_support import cluster, pubsub, skip_without, wait_for  # noqa: E402
from deploy_support import checks, http_get  # noqa: E402
from pubsub_check import connect  # noqa: E402


async def nodes_of_new_clients(url, token, count):
    nodes = []
    for _ in range(count):
        ws, node = await connect(url, token)
        nodes.append(node)
        await ws.close()
    return nodes


def main():
    binary = os.path.realpath(sys.argv[1])
    skip_without("haproxy", "redis-server")
    c = checks("cluster_test")
    with cluster(c, binary) as run:
        if not run.wait_up():
            c.report()
        env, pids = run.env, run.pids
        node_urls = env["NODE_URLS"].split()
        url, token = env["URL"], env["TOKEN"]
        c.check(len(pids) == 5 and len(node_urls) == 3, f"cluster.env: {env}")
        printed = run.printed()
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

        haproxy_log = os.path.join(run.run_dir, "haproxy.log")
        with open(haproxy_log, encoding="utf-8") as f:
            log = f.read()
        c.check('"/ws"' in log, f"HAProxy logged no WebSocket request: {log[-1000:]}")
        c.check(token not in log and "token=" not in log, "HAProxy's log shows the token")

        # A node that goes away: HAProxy's health check takes it out, the script keeps the
        # others running.
        os.kill(pids[2], signal.SIGTERM)  # node-2 (Redis, node-1, node-2, node-3, haproxy)
        c.check(wait_for(lambda: not run.alive(pids[2]), 30), "node-2 did not stop on SIGTERM")

        def marked_down():
            with open(haproxy_log, encoding="utf-8") as f:
                return "nodes/node-2 is DOWN" in f.read()
        c.check(wait_for(marked_down, 30), "HAProxy did not mark node-2 down")
        nodes = asyncio.run(nodes_of_new_clients(url, token, 6))
        c.check("node-2" not in nodes and set(nodes) == {"node-1", "node-3"},
                f"new clients went to {nodes}")
        c.check(all(run.alive(p) for i, p in enumerate(pids) if i != 2),
                "the other processes did not keep running")
        c.check(wait_for(lambda: "node-2 (pid" in run.printed(), 10),
                "the script did not report node-2's exit")

        run.ctrl_c()
    c.report()


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""A node drained behind HAProxy under a publisher loses nothing acknowledged
(docs/protocol.md "Draining"): scripts/cluster.sh starts Redis, three nodes (--drain-spread
1s, and cluster.sh's --drain-delay 2s) and HAProxy; subscribers connect through HAProxy
(leastconn spreads them over the nodes), a publisher on node-1 publishes without pause, and
node-2 gets SIGTERM. First its /readyz answers 503 while it still serves, HAProxy's health
check marks it down on that 503 (Layer 7, not a refused connection) and sends new clients
to the others, all before node-2 tells anyone to go. Then its subscribers are sent {"op":"reconnect","within_ms":1000} and then closed with 1001; each
reconnects through HAProxy, which no longer sends anyone to node-2 (its listener is gone,
its health check fails), and resumes with `since` from the last seq and epoch it saw.
Every subscriber ends with every acknowledged message exactly once, in order, live or
replayed; node-2 exits 0.

Usage: cluster_drain_test.py PATH/TO/wsagent
Exits 77 (ctest: skipped) when haproxy or redis-server is not installed.
"""
import asyncio
import json
import os
import signal
import sys

import websockets

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cluster_support import cluster, port_of, skip_without, wait_for  # noqa: E402
from deploy_support import checks, http_get  # noqa: E402

TAG = "drain.t"
SUBSCRIBERS = 6
TIMEOUT = 15


async def connect(url, token):
    """A connection through HAProxy and its hello; retried while HAProxy has no server for
    it (a 503 while it learns that the drained node is gone)."""
    for _ in range(100):
        try:
            ws = await asyncio.wait_for(
                websockets.connect(url, subprotocols=["wsagent.v1"],
                                   extra_headers={"Authorization": f"Bearer {token}"}),
                TIMEOUT)
        except (OSError, websockets.exceptions.InvalidStatusCode):
            await asyncio.sleep(0.1)
            continue
        hello = json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))
        assert hello["op"] == "hello", hello
        return ws, hello["node"]
    raise AssertionError(f"could not connect through {url}")


class subscriber:
    def __init__(self):
        self.seqs = []        # every msg's seq, in the order received
        self.epoch = None
        self.nodes = []       # the node of each connection
        self.reconnect = None  # the reconnect frame of the drain, if it got one
        self.close_code = None

    async def subscribe(self, ws, since):
        request = {"op": "sub", "id": 1, "tags": [TAG]}
        if since is not None:
            request["since"] = {TAG: since}
        await ws.send(json.dumps(request))
        while True:
            m = json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))
            if m["op"] == "msg":  # a replay may precede nothing: ok comes first
                self.seqs.append(m["seq"])
            elif m["op"] == "ok":
                assert "gaps" not in m, f"recovery reported a gap: {m}"
                self.epoch = m["epoch"][TAG]
                return
            else:
                raise AssertionError(f"unexpected answer to sub: {m}")

    async def run(self, url, token, ready, stop):
        ws, node = await connect(url, token)
        self.nodes.append(node)
        await self.subscribe(ws, None)
        ready.set()
        while True:
            try:
                raw = await asyncio.wait_for(ws.recv(), 0.5)
            except asyncio.TimeoutError:
                if stop.is_set():
                    await ws.close()
                    return
                continue
            except websockets.exceptions.ConnectionClosed:
                self.close_code = ws.close_code
                # Told to go: back through HAProxy, resuming where the stream stopped.
                ws, node = await connect(url, token)
                self.nodes.append(node)
                last = self.seqs[-1] if self.seqs else 0
                await self.subscribe(ws, {"seq": last, "epoch": self.epoch})
                continue
            m = json.loads(raw)
            if m["op"] == "msg" and m["tag"] == TAG:
                self.seqs.append(m["seq"])
            elif m["op"] == "reconnect":
                self.reconnect = m
            else:
                raise AssertionError(f"unexpected frame: {m}")


def haproxy_down_line(run, server):
    with open(os.path.join(run.run_dir, "haproxy.log"), encoding="utf-8") as f:
        for line in f:
            if f"nodes/{server} is DOWN" in line:
                return line.strip()
    return None


async def while_leaving(c, run, url, token, on_node_2):
    """node-2 has just got SIGTERM: its /readyz turns 503 while it still answers; HAProxy
    marks it down on that 503; new clients through HAProxy avoid it, all before node-2
    tells its subscribers to go (cluster.sh: --drain-delay 2s, checks every 500 ms, fall 2)."""
    node_2 = run.env["NODE_URLS"].split()[1]
    port_2 = port_of(node_2)
    answer = (None, "")
    for _ in range(50):
        answer = http_get(port_2, "/readyz")
        if answer[0] != 200:
            break
        await asyncio.sleep(0.02)
    c.check(answer == (503, '{"status":"draining"}\n'),
            f"node-2's /readyz after SIGTERM answered {answer}, not 503 draining")
    down = None
    for _ in range(100):
        down = haproxy_down_line(run, "node-2")
        if down:
            break
        await asyncio.sleep(0.05)
    told = [s.reconnect for s in on_node_2 if s.reconnect is not None]
    c.check(down is not None and not told,
            f"HAProxy did not mark node-2 down before it told its clients to go: {down}, {told}")
    c.check(down is not None and "Layer7 wrong status" in down and "503" in down,
            f"HAProxy did not take node-2 out on its 503: {down}")
    nodes = []
    for _ in range(4):
        ws, node = await connect(url, token)
        nodes.append(node)
        await ws.close()
    c.check("node-2" not in nodes, f"new clients through HAProxy went to {nodes}")
    ws, node = await connect(node_2, token)  # still accepting
    await ws.close()
    c.check(node == "node-2" and not [s for s in on_node_2 if s.reconnect is not None],
            "node-2 stopped accepting before HAProxy had stopped sending it new clients")


async def scenario(c, run):
    env = run.env
    url, token = env["URL"], env["TOKEN"]
    node_1 = env["NODE_URLS"].split()[0]
    node_2_pid = run.pids[2]  # Redis, node-1, node-2, node-3, HAProxy

    subs = [subscriber() for _ in range(SUBSCRIBERS)]
    stop = asyncio.Event()
    readies = [asyncio.Event() for _ in subs]
    tasks = [asyncio.create_task(s.run(url, token, r, stop)) for s, r in zip(subs, readies)]
    await asyncio.wait_for(asyncio.gather(*(r.wait() for r in readies)), 3 * TIMEOUT)
    on_node_2 = [s for s in subs if s.nodes[0] == "node-2"]
    c.check(on_node_2, f"HAProxy sent no subscriber to node-2: {[s.nodes for s in subs]}")

    publisher, _ = await connect(node_1, token)
    acked = []
    drained_at = None
    leaving = None
    for i in range(1, 100000):
        await publisher.send(json.dumps({"op": "pub", "id": i, "tag": TAG, "data": i}))
        reply = json.loads(await asyncio.wait_for(publisher.recv(), TIMEOUT))
        if reply["op"] == "ok":
            acked.append(reply["seq"])
        if i == 20:
            os.kill(node_2_pid, signal.SIGTERM)
            drained_at = i
            leaving = asyncio.create_task(while_leaving(c, run, url, token, on_node_2))
        # Once node-2 is gone and its subscribers are back, a few more.
        if drained_at and not run.alive(node_2_pid) and \
                all(len(s.nodes) > 1 for s in on_node_2):
            if i >= drained_at + 40 or len(acked) > 400:
                break
        if i > 3000:
            c.check(False, "node-2 did not finish draining while publishing")
            break
        await asyncio.sleep(0.01)
    await publisher.close()
    if leaving:
        await leaving
    # Every subscriber has the last acknowledged message before it stops.
    last = acked[-1] if acked else 0
    for _ in range(3 * TIMEOUT * 10):
        if all(s.seqs and s.seqs[-1] >= last for s in subs):
            break
        await asyncio.sleep(0.1)
    stop.set()
    await asyncio.gather(*tasks)

    c.check(len(acked) >= 60, f"only {len(acked)} publishes were acknowledged")
    for n, s in enumerate(subs):
        c.check(s.seqs == sorted(set(s.seqs)), f"subscriber {n}: duplicates or disorder")
        missing = sorted(set(acked) - set(s.seqs))
        c.check(not missing, f"subscriber {n} on {s.nodes}: acknowledged seqs lost: {missing}")
    for s in on_node_2:
        c.check(s.reconnect == {"op": "reconnect", "within_ms": 1000},
                f"a drained subscriber got no reconnect frame: {s.reconnect}")
        c.check(s.close_code == 1001, f"a drained subscriber was closed with {s.close_code}")
        c.check(len(s.nodes) == 2 and s.nodes[1] != "node-2",
                f"a drained subscriber went to {s.nodes}")
    for s in subs:
        if s not in on_node_2:
            c.check(len(s.nodes) == 1, f"a subscriber of another node reconnected: {s.nodes}")


def main():
    binary = os.path.realpath(sys.argv[1])
    skip_without("haproxy", "redis-server")
    c = checks("cluster_drain_test")
    with cluster(c, binary, "--", "--drain-spread", "1s", "--drain-timeout", "10s") as run:
        if run.wait_up():
            asyncio.run(scenario(c, run))
            exit_status = "node-2 (pid"
            c.check(wait_for(lambda: exit_status in run.printed(), 10),
                    "the script did not report node-2's exit")
            c.check(f"node-2 (pid {run.pids[2]}) exited with status 0" in run.printed(),
                    "node-2 did not exit 0 after its drain")
            run.ctrl_c()
    c.report()


if __name__ == "__main__":
    main()

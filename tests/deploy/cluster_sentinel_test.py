#!/usr/bin/python3
"""scripts/cluster.sh --redis sentinel: the basics of cluster_modes.py, then a failover under
a publisher. The master is stopped (SIGTERM: it exits 0, so the script's Ctrl-C still ends
cleanly; to the sentinels it is as gone as a killed one). Every node's /readyz turns 503
while it has no master and 200 again once it follows the promoted replica; a publish meanwhile
is answered `ok` or `err unavailable`, never left hanging, and at least one is
`unavailable`; afterwards a subscriber on node-3 gets what node-1 publishes, and every node
counts the switch in /metrics (wsagent_redis_master_switches_total). Before the failover,
presence (protocol 1.1) across two nodes: join, counts, leave.

Usage: cluster_sentinel_test.py PATH/TO/wsagent
"""
import asyncio
import json
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cluster_modes import check_mode  # noqa: E402
from cluster_support import TIMEOUT, connect, metric_sum, port_of  # noqa: E402
from deploy_support import http_get  # noqa: E402

TAG = "failover.e2e"
ROOM = "room.e2e"


async def publish(ws, n):
    await ws.send(json.dumps({"op": "pub", "id": n, "tag": TAG, "data": n}))
    return json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))


async def recv_op(ws, op):
    """The next frame of this op (others skipped)."""
    while True:
        m = json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))
        if m["op"] == op:
            return m


async def presence_across_nodes(c, member, watcher_url, token):
    """Protocol 1.1 presence through Sentinel: a watcher on node-3 sees node-1's member join
    and leave; both nodes count the members alike."""
    watcher, _ = await connect(watcher_url, token)
    await watcher.send(json.dumps({"op": "sub", "id": 1, "tags": [ROOM], "presence": True}))
    c.check((await recv_op(watcher, "ok"))["op"] == "ok", "presence watcher's sub")
    await member.send(json.dumps({"op": "sub", "id": 90, "tags": [ROOM]}))
    c.check((await recv_op(member, "ok")).get("id") == 90, "member's sub")
    join = await recv_op(watcher, "join")
    c.check(join["who"]["conn"] == member.hello["conn"], f"join seen on node-3: {join}")
    for ws in (watcher, member):
        await ws.send(json.dumps({"op": "presence", "id": 91, "tag": ROOM}))
        count = (await recv_op(ws, "ok")).get("count")
        c.check(count == 2, f"presence count on either node: {count}")
    await member.send(json.dumps({"op": "unsub", "id": 92, "tags": [ROOM]}))
    c.check((await recv_op(member, "ok")).get("id") == 92, "member's unsub")
    leave = await recv_op(watcher, "leave")
    c.check(leave["who"]["conn"] == member.hello["conn"], f"leave seen on node-3: {leave}")
    await watcher.close()


async def failover(c, run):
    token = run.env["TOKEN"]
    urls = run.env["NODE_URLS"].split()
    ports = [port_of(u) for u in urls]
    master_pid = run.pids[0]  # redis-master, redis-replica, sentinel-1..3, node-1..3, haproxy
    sub, _ = await connect(urls[2], token)
    await sub.send(json.dumps({"op": "sub", "id": 1, "tags": [TAG]}))
    ok = json.loads(await asyncio.wait_for(sub.recv(), TIMEOUT))
    c.check(ok["op"] == "ok", f"sub on node-3: {ok}")
    pub, _ = await connect(urls[0], token)
    c.check("pattern-since" in pub.hello.get("features", []),
            f"hello features on Sentinel: {pub.hello}")
    c.check((await publish(pub, 1))["op"] == "ok", "a publish before the failover")
    await presence_across_nodes(c, pub, urls[2], token)

    os.kill(master_pid, signal.SIGTERM)
    down, back, answers = set(), set(), {}
    n = 1
    deadline = time.monotonic() + 45
    while len(back) < len(ports) and time.monotonic() < deadline:
        for i, port in enumerate(ports):
            status = (await asyncio.to_thread(http_get, port, "/readyz"))[0]
            if status == 503:
                down.add(i)
            elif status == 200 and i in down:
                back.add(i)
        n += 1
        reply = await publish(pub, n)
        answer = reply["op"] if reply["op"] == "ok" else reply.get("code")
        answers[answer] = answers.get(answer, 0) + 1
        await asyncio.sleep(0.05)
    print(f"failover: /readyz 503 on nodes {sorted(down)}, 200 again on {sorted(back)}; "
          f"publishes meanwhile: {answers}")
    c.check(down == {0, 1, 2}, f"/readyz was not 503 on every node: {sorted(down)}")
    c.check(back == {0, 1, 2}, f"/readyz did not come back on every node: {sorted(back)}")
    c.check(set(answers) <= {"ok", "unavailable"}, f"publish answers during it: {answers}")
    c.check(answers.get("unavailable", 0) >= 1, f"no publish was refused: {answers}")

    # Live again through the new master, from node-1 to node-3.
    for _ in range(100):
        reply = await publish(pub, n + 1)
        if reply["op"] == "ok":
            break
        await asyncio.sleep(0.1)
    c.check(reply["op"] == "ok", f"no publish acknowledged after the failover: {reply}")
    got = None
    for _ in range(100):
        m = json.loads(await asyncio.wait_for(sub.recv(), TIMEOUT))
        if m["op"] == "msg" and m["data"] == n + 1:
            got = m
            break
    c.check(got is not None, "node-3's subscriber did not get the publish after the failover")
    await pub.close()
    await sub.close()
    for i, port in enumerate(ports, 1):
        switches = metric_sum(port, "wsagent_redis_master_switches_total")
        c.check(switches is not None and switches >= 1,
                f"node-{i}: wsagent_redis_master_switches_total {switches}")


def then(c, run):
    asyncio.run(failover(c, run))


if __name__ == "__main__":
    check_mode("sentinel", os.path.realpath(sys.argv[1]), then)

"""Interop client for python_websockets_test.sh: Debian's python3-websockets (10.4), a
WebSocket implementation nobody here wrote, drives wsagent through protocol v1: sub, pub,
receive, disconnect, more pubs, reconnect with `since`, and exactly the missed messages.

Usage: /usr/bin/python3 python_websockets_client.py PORT
Exits non-zero (with a message) on the first failed check.
"""
import asyncio
import json
import sys

import websockets

TIMEOUT = 5.0
TAG = "interop.chat"


class CheckFailed(Exception):
    pass


def check(condition, what):
    if not condition:
        raise CheckFailed(what)


async def recv_json(ws):
    text = await asyncio.wait_for(ws.recv(), TIMEOUT)
    check(isinstance(text, str), f"expected a text frame, got {text!r}")
    return json.loads(text)


async def call(ws, request):
    """Sends a request with an id; returns its ok/err, checking nothing else came first."""
    await ws.send(json.dumps(request))
    reply = await recv_json(ws)
    check(reply.get("id") == request["id"], f"reply to {request} is {reply}")
    return reply


async def connect(uri):
    ws = await asyncio.wait_for(websockets.connect(uri, subprotocols=["wsagent.v1"]), TIMEOUT)
    check(ws.subprotocol == "wsagent.v1", f"subprotocol {ws.subprotocol!r} not selected")
    hello = await recv_json(ws)
    check(hello.get("op") == "hello", f"first frame is not hello: {hello}")
    check(all(k in hello for k in ("node", "conn", "version")), f"hello lacks fields: {hello}")
    return ws


async def expect_msgs(ws, seqs, data_of):
    for seq in seqs:
        m = await recv_json(ws)
        check(m.get("op") == "msg" and m.get("tag") == TAG, f"expected msg on {TAG}, got {m}")
        check(m.get("seq") == seq, f"expected seq {seq}, got {m}")
        check(m.get("data") == data_of(seq), f"seq {seq}: data {m.get('data')!r}")


async def expect_nothing_more(ws, ping_id):
    reply = await call(ws, {"op": "ping", "id": ping_id})
    check(reply.get("op") == "ok", f"ping answered with {reply}")


def data_of(seq):
    return {"n": seq, "text": f"message {seq} \u00e9\u263a\U0001F600", "list": [seq, None, True]}


async def main(port):
    uri = f"ws://127.0.0.1:{port}/ws"
    publisher = await connect(uri)
    subscriber = await connect(uri)

    ok = await call(subscriber, {"op": "sub", "id": 1, "tags": [TAG]})
    check(ok.get("op") == "ok" and ok["seq"].get(TAG) == 0, f"sub answered {ok}")
    epoch = ok["epoch"][TAG]

    for seq in range(1, 4):
        ok = await call(publisher, {"op": "pub", "id": f"p{seq}", "tag": TAG, "data": data_of(seq)})
        check(ok.get("op") == "ok" and ok.get("seq") == seq, f"pub {seq} answered {ok}")
    await expect_msgs(subscriber, range(1, 4), data_of)

    # A fragmented message (websockets sends an iterable as fragments) works too.
    fragments = ['{"op":"pub","id":"frag",', f'"tag":"{TAG}",', '"data":{"n":4,"text":"message 4 \u00e9\u263a\U0001F600","list":[4,null,true]}}']
    await publisher.send(fragments)
    ok = await recv_json(publisher)
    check(ok.get("op") == "ok" and ok.get("seq") == 4, f"fragmented pub answered {ok}")
    await expect_msgs(subscriber, [4], data_of)

    # Disconnect cleanly: websockets checks the server echoes the close.
    await asyncio.wait_for(subscriber.close(), TIMEOUT)
    check(subscriber.close_code == 1000, f"close code {subscriber.close_code}")

    for seq in range(5, 9):  # missed while away; fire-and-forget
        await publisher.send(json.dumps({"op": "pub", "tag": TAG, "data": data_of(seq)}))
    await expect_nothing_more(publisher, "sync")

    # Reconnect and recover exactly what was missed, then live messages.
    subscriber = await connect(uri)
    ok = await call(subscriber, {"op": "sub", "id": 2, "tags": [TAG],
                                 "since": {TAG: {"seq": 4, "epoch": epoch}}})
    check(ok.get("op") == "ok", f"recovery sub answered {ok}")
    check(ok["seq"].get(TAG) == 8, f"top seq {ok['seq']}")
    check(ok["epoch"].get(TAG) == epoch, f"epoch changed: {ok['epoch']}")
    check("gaps" not in ok, f"unexpected gaps: {ok}")
    await expect_msgs(subscriber, range(5, 9), data_of)

    ok = await call(publisher, {"op": "pub", "id": "live", "tag": TAG, "data": data_of(9)})
    check(ok.get("seq") == 9, f"live pub answered {ok}")
    await expect_msgs(subscriber, [9], data_of)
    await expect_nothing_more(subscriber, "end")

    # Ping/pong at the WebSocket level.
    pong = await subscriber.ping(b"interop")
    await asyncio.wait_for(pong, TIMEOUT)

    await asyncio.wait_for(subscriber.close(), TIMEOUT)
    await asyncio.wait_for(publisher.close(), TIMEOUT)
    print("python-websockets interop: all checks passed")


if __name__ == "__main__":
    try:
        asyncio.run(main(int(sys.argv[1])))
    except (CheckFailed, asyncio.TimeoutError, websockets.exceptions.WebSocketException,
            OSError, ValueError, KeyError) as e:
        print(f"python-websockets interop FAILED: {type(e).__name__}: {e}", file=sys.stderr)
        sys.exit(1)

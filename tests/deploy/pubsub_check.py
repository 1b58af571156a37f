"""One subscriber, one publisher, protocol v1 over real WebSockets (Debian's
python3-websockets): the subscriber must receive every message the publisher got an `ok`
for, in order, with consecutive `seq`.

Usage: /usr/bin/python3 pubsub_check.py --sub URL [--pub URL] [--token TOKEN] [--token-in-query]
                                        [--distinct-nodes] [--count N] [--tag TAG]
The token goes in an Authorization header, or with --token-in-query as ?token= (as browsers
send it). --distinct-nodes reconnects the publisher (through a balancer) until its `hello` names a
node other than the subscriber's, so that the message must cross nodes through the broker.
Prints "ok sub_node=... pub_node=..." and exits 0, or exits 1 with what went wrong.
"""
import argparse
import asyncio
import json
import os
import sys

import websockets

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "interop"))
from python_websockets_client import TIMEOUT, CheckFailed, check, recv_json  # noqa: E402


async def connect(url, token, in_query=False):
    headers = None
    if token and in_query:
        url = f"{url}?token={token}"
    elif token:
        headers = {"Authorization": f"Bearer {token}"}
    ws = await asyncio.wait_for(
        websockets.connect(url, subprotocols=["wsagent.v1"], extra_headers=headers,
                           open_timeout=TIMEOUT),
        TIMEOUT)
    hello = await recv_json(ws)
    check(hello.get("op") == "hello", f"first frame is not hello: {hello}")
    return ws, hello["node"]


async def call(ws, request):
    await ws.send(json.dumps(request))
    reply = await recv_json(ws)
    check(reply.get("id") == request["id"], f"reply to {request} is {reply}")
    check(reply.get("op") == "ok", f"{request['op']} refused: {reply}")
    return reply


async def main(args):
    sub, sub_node = await connect(args.sub, args.token, args.token_in_query)
    ok = await call(sub, {"op": "sub", "id": 1, "tags": [args.tag]})
    first = ok["seq"][args.tag] + 1

    pub, pub_node = await connect(args.pub or args.sub, args.token, args.token_in_query)
    attempts = 1
    while args.distinct_nodes and pub_node == sub_node:
        check(attempts < 12, f"every publisher connection landed on {sub_node}")
        await pub.close()
        pub, pub_node = await connect(args.pub or args.sub, args.token, args.token_in_query)
        attempts += 1

    for i in range(args.count):
        reply = await call(pub, {"op": "pub", "id": i + 1, "tag": args.tag,
                                 "data": {"n": i, "from": pub_node}})
        check(reply.get("seq") == first + i, f"pub {i} got seq {reply.get('seq')}, "
                                             f"expected {first + i}")
    for i in range(args.count):
        m = await recv_json(sub)
        check(m.get("op") == "msg" and m.get("tag") == args.tag, f"expected a msg, got {m}")
        check(m.get("seq") == first + i and m.get("data") == {"n": i, "from": pub_node},
              f"message {i}: {m}")
    await pub.close()
    await sub.close()
    print(f"ok sub_node={sub_node} pub_node={pub_node}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--sub", required=True)
    parser.add_argument("--pub")
    parser.add_argument("--token")
    parser.add_argument("--token-in-query", action="store_true")
    parser.add_argument("--tag", default="deploy.check")
    parser.add_argument("--count", type=int, default=5)
    parser.add_argument("--distinct-nodes", action="store_true")
    try:
        asyncio.run(main(parser.parse_args()))
    except (CheckFailed, OSError, asyncio.TimeoutError,
            websockets.exceptions.WebSocketException) as e:
        print(f"pubsub_check: {type(e).__name__}: {e}", file=sys.stderr)
        sys.exit(1)

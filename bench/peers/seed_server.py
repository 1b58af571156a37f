#!/usr/bin/python3
"""The seed paper's design, written as the benchmark baseline.

"A WebSocket-based Real-Time Messaging Platform" (summarised in docs/paper.md): Python asyncio, the
`websockets` library, Redis as the message broker with each tag mapped directly to a Redis
channel. This is that design in its plainest reasonable form, with Debian's
python3-websockets (10.4) and python3-redis (4.3, its asyncio client), speaking enough of
protocol v1 (docs/protocol.md) for wsagent-loadgen:

- `hello` on connect; `sub` / `unsub` of exact tags; `pub` with or without `id` (`ok` with
  the `seq`); `ping`; `msg` frames `{"op":"msg","tag":...,"seq":N,"data":...}`.
- `seq` per tag comes from Redis `INCR seq:<tag>`, then the whole `msg` frame is published
  on the tag's channel. The process holds ONE Redis pub/sub connection, subscribes to a
  tag's channel while any local client wants it, and fans each message out to its local
  clients with `websockets.broadcast` (the library's one-write-per-connection fan-out).
  One subscription per process rather than per client is the kind choice: a pub/sub
  connection per client would make Redis do the fan-out and Python read every copy back.
- No authentication (the benchmark runs every server without it), no wildcards and no
  history: `since` is answered with `gaps`, as Redis pub/sub keeps nothing.
- One deviation for safety, the same rule wsagent applies by default: `broadcast` has no
  backpressure, so a client whose unsent bytes pass 1 MiB is disconnected (checked every
  100 ms) instead of growing memory without bound.

Usage: seed_server.py --port P [--redis-port R]; prints "listening <port>" when ready.
"""
import argparse
import asyncio
import json
import logging

import redis.asyncio as aioredis
import websockets

SLOW_CONSUMER_BYTES = 1 << 20


def dumps(obj):
    return json.dumps(obj, separators=(",", ":"))


class Hub:
    """Local subscribers per tag and the process's single Redis pub/sub subscription."""

    def __init__(self, redis_port):
        self.redis = aioredis.Redis(host="127.0.0.1", port=redis_port, decode_responses=True)
        self.pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
        self.subscribers = {}  # tag -> set of websockets

    async def start(self):
        # redis-py's listen() needs an open subscription before it reads anything.
        await self.pubsub.subscribe("seed:control")
        asyncio.get_running_loop().create_task(self.fan_out())
        asyncio.get_running_loop().create_task(self.close_slow_consumers())

    async def fan_out(self):
        try:
            async for message in self.pubsub.listen():
                if message["type"] != "message":
                    continue
                subs = self.subscribers.get(message["channel"])
                if subs:
                    websockets.broadcast(subs, message["data"])
        except Exception:
            # E.g. Redis closed the subscription for passing its pub/sub output buffer limit
            # (client-output-buffer-limit pubsub): from here on nothing is delivered.
            logging.exception("fan-out from Redis stopped")
            raise

    async def close_slow_consumers(self):
        while True:
            await asyncio.sleep(0.1)
            for subs in self.subscribers.values():
                for ws in list(subs):
                    if ws.transport is not None and \
                            ws.transport.get_write_buffer_size() > SLOW_CONSUMER_BYTES:
                        subs.discard(ws)
                        ws.transport.abort()  # a close frame would queue behind the backlog

    async def subscribe(self, ws, tag):
        subs = self.subscribers.setdefault(tag, set())
        first = not subs
        subs.add(ws)
        if first:
            await self.pubsub.subscribe(tag)

    async def unsubscribe(self, ws, tag):
        subs = self.subscribers.get(tag)
        if subs is None or ws not in subs:
            return
        subs.discard(ws)
        if not subs:
            del self.subscribers[tag]
            await self.pubsub.unsubscribe(tag)

    async def publish(self, tag, data):
        seq = await self.redis.incr("seq:" + tag)
        frame = dumps({"op": "msg", "tag": tag, "seq": seq, "data": data})
        await self.redis.publish(tag, frame)
        return seq


def valid_tag(tag):
    return isinstance(tag, str) and 0 < len(tag) <= 255 and "*" not in tag and ">" not in tag


async def serve_client(hub, ws):
    mine = set()
    await ws.send(dumps({"op": "hello", "node": "seed", "conn": "c-%x" % id(ws),
                         "version": "seed"}))
    try:
        async for raw in ws:
            try:
                req = json.loads(raw)
                op = req["op"]
            except (ValueError, KeyError, TypeError):
                await ws.send(dumps({"op": "err", "code": "bad_request", "reason": "not JSON"}))
                continue
            rid = req.get("id")
            if op == "pub":
                tag = req.get("tag")
                if not valid_tag(tag):
                    await ws.send(dumps({"op": "err", "id": rid, "code": "bad_tag",
                                         "reason": "pub needs an exact tag"}))
                    continue
                seq = await hub.publish(tag, req.get("data"))
                if rid is not None:
                    await ws.send(dumps({"op": "ok", "id": rid, "seq": seq}))
            elif op == "sub":
                tags = req.get("tags") or []
                if not all(valid_tag(t) for t in tags):
                    await ws.send(dumps({"op": "err", "id": rid, "code": "bad_tag",
                                         "reason": "exact tags only"}))
                    continue
                for tag in tags:
                    await hub.subscribe(ws, tag)
                    mine.add(tag)
                tops = {t: int(await hub.redis.get("seq:" + t) or 0) for t in tags}
                reply = {"op": "ok", "id": rid, "seq": tops}
                since = req.get("since") or {}
                gaps = [t for t in tags if t in since]  # nothing is retained to replay
                if gaps:
                    reply["gaps"] = gaps
                if rid is not None:
                    await ws.send(dumps(reply))
            elif op == "unsub":
                for tag in req.get("tags") or []:
                    await hub.unsubscribe(ws, tag)
                    mine.discard(tag)
                if rid is not None:
                    await ws.send(dumps({"op": "ok", "id": rid}))
            elif op == "ping":
                if rid is not None:
                    await ws.send(dumps({"op": "ok", "id": rid}))
            else:
                await ws.send(dumps({"op": "err", "id": rid, "code": "bad_request",
                                     "reason": "unknown op"}))
    except websockets.ConnectionClosed:
        pass
    finally:
        for tag in mine:
            await hub.unsubscribe(ws, tag)


async def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--redis-port", type=int, default=6379)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    hub = Hub(args.redis_port)
    await hub.start()
    async with websockets.serve(lambda ws, path=None: serve_client(hub, ws), "127.0.0.1",
                                args.port, subprotocols=["wsagent.v1"], compression=None,
                                max_size=1 << 20):
        print("listening %d" % args.port, flush=True)
        await asyncio.Future()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass

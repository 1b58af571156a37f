#!/usr/bin/python3
"""A tiny interactive wsagent client (Debian's python3-websockets), for trying a server.

  /usr/bin/python3 scripts/try_client.py ws://127.0.0.1:8080/ws [--token TOKEN]

Type commands: `sub TAG [TAG...]`, `pub TAG JSON`, `unsub TAG`, `ping`, or a raw JSON frame.
Everything the server sends is printed as it arrives.
"""
import asyncio
import json
import sys

import websockets


async def main(url, token):
    headers = {"Authorization": f"Bearer {token}"} if token else None
    async with websockets.connect(url, subprotocols=["wsagent.v1"],
                                  extra_headers=headers) as ws:
        async def printer():
            async for frame in ws:
                print("<", frame, flush=True)

        reader = asyncio.create_task(printer())
        loop = asyncio.get_running_loop()
        next_id = 1
        while True:
            line = await loop.run_in_executor(None, sys.stdin.readline)
            if not line:
                break
            words = line.strip().split(maxsplit=2)
            if not words:
                continue
            op = words[0]
            if op.startswith("{"):
                frame = line.strip()
            elif op in ("sub", "unsub"):
                frame = json.dumps({"op": op, "id": next_id, "tags": line.split()[1:]})
            elif op == "pub" and len(words) == 3:
                frame = json.dumps({"op": "pub", "id": next_id, "tag": words[1],
                                    "data": json.loads(words[2])})
            elif op == "ping":
                frame = json.dumps({"op": "ping", "id": next_id})
            else:
                print("commands: sub TAG.. | unsub TAG.. | pub TAG JSON | ping | {raw json}")
                continue
            next_id += 1
            await ws.send(frame)
        reader.cancel()


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    token = sys.argv[3] if len(sys.argv) > 3 and sys.argv[2] == "--token" else None
    asyncio.run(main(sys.argv[1], token))

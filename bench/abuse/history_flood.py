#!/usr/bin/python3
"""Issue 8's retained-history flood, reproduced against a running wsagent.

Publishes one message of --bytes to each of --tags fresh tags over one WebSocket (plain
sockets, standard library only), waits until the server counted them all, and prints the
server's resident memory (VmRSS) before and after, and its history metrics.

  build/wsagent serve --no-auth --shards 1 --listen 127.0.0.1:8080 &
  bench/abuse/history_flood.py --port 8080 --pid $! --tags 20000 --bytes 55000
"""
import argparse
import base64
import os
import re
import socket
import struct
import sys
import time


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1


def http_get(port, path):
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    return data.decode(errors="replace")


def metric_sum(text, name):
    total = 0
    for m in re.finditer(r"^" + re.escape(name) + r"\{[^}]*\} (\d+)", text, re.M):
        total += int(m.group(1))
    return total


def ws_connect(port):
    s = socket.create_connection(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall((f"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
    head = b""
    while b"\r\n\r\n" not in head:
        head += s.recv(4096)
    if b" 101 " not in head.split(b"\r\n")[0]:
        sys.exit("upgrade refused: " + head.decode(errors="replace"))
    return s


def text_frame(payload):
    # Masked with the all-zero key (valid; keeps the payload as is, so no XOR in Python).
    n = len(payload)
    if n < 126:
        head = struct.pack("!BB", 0x81, 0x80 | n)
    elif n <= 0xFFFF:
        head = struct.pack("!BBH", 0x81, 0x80 | 126, n)
    else:
        head = struct.pack("!BBQ", 0x81, 0x80 | 127, n)
    return head + b"\0\0\0\0" + payload


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--pid", type=int, required=True)
    ap.add_argument("--tags", type=int, default=20000)
    ap.add_argument("--bytes", type=int, default=55000)
    ap.add_argument("--prefix", default="flood")
    args = ap.parse_args()

    before = rss_kib(args.pid)
    start_count = metric_sum(http_get(args.port, "/metrics"), "wsagent_publishes_total")
    s = ws_connect(args.port)
    s.setblocking(True)
    filler = b'"' + b"x" * (args.bytes - 2) + b'"'
    started = time.time()
    batch = []
    for i in range(args.tags):
        body = b'{"op":"pub","tag":"' + f"{args.prefix}.{i}".encode() + b'","data":' + filler + b"}"
        batch.append(text_frame(body))
        if len(batch) == 64:
            s.sendall(b"".join(batch))
            batch = []
    if batch:
        s.sendall(b"".join(batch))
    while True:
        done = metric_sum(http_get(args.port, "/metrics"), "wsagent_publishes_total")
        if done - start_count >= args.tags:
            break
        time.sleep(0.2)
    time.sleep(0.5)
    metrics = http_get(args.port, "/metrics")
    after = rss_kib(args.pid)
    sent = args.tags * args.bytes
    print(f"published {args.tags} x {args.bytes} B = {sent / 1e9:.2f} GB "
          f"in {time.time() - started:.1f} s")
    print(f"VmRSS before {before / 1024:.0f} MiB, after {after / 1024:.0f} MiB, "
          f"growth {(after - before) / 1024:.0f} MiB")
    for name in ("wsagent_tags_owned", "wsagent_history_bytes", "wsagent_history_messages",
                 "wsagent_history_evictions_total", "wsagent_tags_forgotten_total"):
        if name in metrics:
            print(f"{name} {metric_sum(metrics, name)}")
    s.close()


if __name__ == "__main__":
    main()

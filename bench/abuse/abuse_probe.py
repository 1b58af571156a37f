#!/usr/bin/env python3
"""Replays the attacks of issue 8 against a wsagent binary and prints what they cost it.

    bench/abuse/abuse_probe.py BINARY ATTACK [--bytes N] [-- SERVER FLAGS...]

ATTACK is one of:
  metrics   pipelined `GET /metrics` from a client that never reads
  pings     WebSocket pings (empty, masked) from a client that never reads
  requests  `{"op":"ping","id":1}` frames from a client that never reads

It starts `BINARY serve --no-auth --shards 1 --listen 127.0.0.1:0 --no-pin` (plus the flags
after `--`), writes up to --bytes (default 6.6 MB, the issue's figure) as fast as the server
takes them (stopping when it has taken nothing for 3 s), then prints the bytes the server
took and its VmRSS growth from /proc. The integration tests (tests/integration/abuse_*)
assert bounds; this prints numbers for docs and notes, nothing more.
"""
import os
import re
import select
import signal
import socket
import struct
import subprocess
import sys
import time

from history_flood import http_get, rss_kib  # this directory


def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def settle(pid):
    # Until the server has used no CPU for half a second (at most 30 s).
    deadline = time.time() + 30
    last = cpu_ticks(pid)
    while time.time() < deadline:
        time.sleep(0.5)
        now = cpu_ticks(pid)
        if now == last:
            return
        last = now


def start(binary, flags):
    proc = subprocess.Popen([binary, "serve", "--no-auth", "--shards", "1", "--listen",
                             "127.0.0.1:0", "--no-pin", *flags],
                            stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 20
    while time.time() < deadline:
        line = proc.stderr.readline()
        m = re.search(r"listening.*addr[=\":]+\"?([0-9.]+):(\d+)", line)
        if m:
            return proc, int(m.group(2))
    proc.kill()
    sys.exit("server did not start")


def websocket(port):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
              b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
    data = b""
    while b"\r\n\r\n" not in data:
        data += s.recv(4096)
    return s


def masked(opcode, payload):
    assert len(payload) < 126
    return bytes([0x80 | opcode, 0x80 | len(payload)]) + b"\0\0\0\0" + payload


def flood(sock, unit, limit):
    sock.setblocking(False)
    batch = unit * max(1, 65536 // len(unit))
    sent = 0
    last = time.time()
    offset = 0
    while sent < limit:
        try:
            n = sock.send(batch[offset:offset + min(len(batch) - offset, limit - sent)])
            sent += n
            offset = (offset + n) % len(batch)
            last = time.time()
        except BlockingIOError:
            if time.time() - last > 3.0:
                break
            select.select([], [sock], [], 0.05)
        except (BrokenPipeError, ConnectionResetError):
            break
    return sent


def main():
    args = sys.argv[1:]
    flags = []
    if "--" in args:
        flags = args[args.index("--") + 1:]
        args = args[:args.index("--")]
    limit = 6_600_000
    if "--bytes" in args:
        limit = int(float(args[args.index("--bytes") + 1]))
    binary, attack = args[0], args[1]
    proc, port = start(binary, flags)
    try:
        time.sleep(0.3)
        base = rss_kib(proc.pid)
        if attack == "metrics":
            s = socket.create_connection(("127.0.0.1", port))
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            unit = b"GET /metrics HTTP/1.1\r\nHost: a\r\n\r\n"
        elif attack == "pings":
            s = websocket(port)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            unit = masked(0x9, b"")
        elif attack == "requests":
            s = websocket(port)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            unit = masked(0x1, b'{"op":"ping","id":1}')
        else:
            sys.exit("unknown attack " + attack)
        t0 = time.time()
        sent = flood(s, unit, limit)
        settle(proc.pid)  # let the server work through what it took
        grown = (rss_kib(proc.pid) - base) / 1024
        print(f"{attack}: server took {sent / 1e6:.1f} MB in {time.time() - t0:.1f} s; "
              f"RSS grew {grown:.1f} MiB (from {base / 1024:.1f} MiB)")
        for line in http_get(port, "/metrics").splitlines():
            if re.match(r"wsagent_(input_pauses|slow_consumer_closes|pongs_replaced|"
                        r"http_requests)_total", line):
                print("  " + line)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()


if __name__ == "__main__":
    main()

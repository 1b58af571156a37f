#!/usr/bin/env python3
"""Soak test: a wsagent node under a long mixed load, watched for growth (issue 14).

Starts one node (embedded broker, or Redis with --redis), then for --duration keeps on it:
  - idle subscribed connections (wsagent-loadgen conns), the bulk of the open files;
  - connection churn: connect, subscribe with `since`, read the replay, close (loadgen churn);
  - steady publishing to subscribers (loadgen fanout);
  - chaos clients (this script, asyncio): subscribe and unsubscribe tags and patterns,
    publish with and without ids, ping, and slow consumers that stop reading a busy tag
    until the server closes them with 4008, then come back.
A bystander client (this script) publishes to its own tag four times a second and times
each message's round trip back to it: the latency a user sees while all that goes on.
Every --interval seconds it samples the server from /proc: RSS, open file descriptors and
the CPU of each thread (shards are the busy ones), and the bystander's round trips (median
and max of the interval). At the end it writes samples.csv and a plot (soak.svg: RSS, open
files, round trip and per-thread CPU over time) to --out, and fails (exit 1) when RSS, open
files or the round trip still grow after the warm-up: the median of the last quarter of
the samples against the median of the second quarter, beyond --rss-growth / --fd-growth /
--rtt-growth. The server must also survive the run and exit 0 on SIGTERM.

    bench/soak/soak.py --duration 60                  # a short check (embedded broker)
    bench/soak/soak.py --duration 30m --idle 15000    # the long run, near 20,000 files
    bench/soak/soak.py --duration 30m --idle 15000 --redis
"""
import argparse
import asyncio
import base64
import csv
import os
import random
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def parse_duration(text):
    units = {"s": 1, "m": 60, "h": 3600}
    if text[-1] in units:
        return float(text[:-1]) * units[text[-1]]
    return float(text)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---- sampling /proc ----

def clock_ticks():
    return os.sysconf(os.sysconf_names["SC_CLK_TCK"])


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def open_fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def thread_cpu_ticks(pid):
    """tid -> utime + stime (clock ticks) of every thread."""
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            out[int(tid)] = int(fields[11]) + int(fields[12])
        except (FileNotFoundError, ProcessLookupError, IndexError):
            pass
    return out


# ---- a minimal WebSocket client for the chaos clients (masked text frames) ----

class WsClient:
    def __init__(self, reader, writer):
        self.reader = reader
        self.writer = writer

    @classmethod
    async def connect(cls, port):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        key = base64.b64encode(os.urandom(16)).decode()
        writer.write((f"GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                      f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                      f"Sec-WebSocket-Version: 13\r\n\r\n").encode())
        head = await reader.readuntil(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 101"):
            raise ConnectionError(head.split(b"\r\n")[0].decode(errors="replace"))
        return cls(reader, writer)

    def send(self, text, opcode=1):
        payload = text.encode() if isinstance(text, str) else text
        mask = os.urandom(4)
        n = len(payload)
        head = bytes([0x80 | opcode])
        if n < 126:
            head += bytes([0x80 | n])
        elif n < 65536:
            head += bytes([0x80 | 126]) + struct.pack(">H", n)
        else:
            head += bytes([0x80 | 127]) + struct.pack(">Q", n)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.writer.write(head + mask + masked)

    async def recv(self):
        """(opcode, payload bytes) of the next frame; pings are answered."""
        while True:
            b0, b1 = await self.reader.readexactly(2)
            n = b1 & 0x7F
            if n == 126:
                n = struct.unpack(">H", await self.reader.readexactly(2))[0]
            elif n == 127:
                n = struct.unpack(">Q", await self.reader.readexactly(8))[0]
            payload = await self.reader.readexactly(n)
            opcode = b0 & 0x0F
            if opcode == 9:
                self.send(payload, opcode=10)
                continue
            return opcode, payload

    async def drain_for(self, seconds):
        deadline = time.monotonic() + seconds
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            try:
                opcode, _ = await asyncio.wait_for(self.recv(), left)
            except asyncio.TimeoutError:
                return
            if opcode == 8:
                raise ConnectionError("closed")

    def close(self):
        try:
            self.writer.close()
        except Exception:
            pass


async def chaos_client(port, n, stop, stats):
    """One client's life, again and again: sub/unsub, pub, ping; every few lives, a slow
    consumer of the busy tag that never reads until the server cuts it off."""
    rng = random.Random(n)
    while not stop.is_set():
        try:
            c = await WsClient.connect(port)
            stats["connects"] += 1
            if rng.random() < 0.1:
                c.send('{"op":"sub","id":1,"tags":["soak.busy"]}')
                # Never read: the server's outbound limit closes it (4008) while fanout runs.
                await asyncio.sleep(rng.uniform(2, 6))
                stats["slow"] += 1
                c.close()
                continue
            for step in range(rng.randint(5, 40)):
                tag = f"soak.c{rng.randint(0, 200)}"
                r = rng.random()
                if r < 0.3:
                    c.send(f'{{"op":"sub","id":{step},"tags":["{tag}","soak.p{n % 7}.*"],'
                           f'"since":{{"{tag}":0}}}}')
                elif r < 0.5:
                    c.send(f'{{"op":"unsub","id":{step},"tags":["{tag}","soak.p{n % 7}.*"]}}')
                elif r < 0.8:
                    c.send(f'{{"op":"pub","tag":"{tag}","data":{{"n":{step}}}}}')
                elif r < 0.9:
                    c.send(f'{{"op":"ping","id":{step}}}')
                else:
                    c.send('{"op":"pub","id":"x","tag":"bad..tag","data":1}')
                stats["requests"] += 1
                await c.drain_for(rng.uniform(0.05, 0.5))
            c.close()
        except (ConnectionError, OSError, asyncio.IncompleteReadError):
            stats["dropped"] += 1
            await asyncio.sleep(0.2)


async def bystander(port, stop, rtts, stats):
    """Publishes to its own tag every 250 ms and times the message's way back (ms)."""
    async def subscribed():
        # Publishes only once the sub is answered: a pub sent before may reach the broker
        # ahead of the subscription (Redis) and rightly never come back.
        c = await WsClient.connect(port)
        c.send('{"op":"sub","id":0,"tags":["soak.bystander"]}')
        while True:
            opcode, payload = await asyncio.wait_for(c.recv(), 10)
            if opcode == 1 and b'"op":"ok"' in payload:
                return c

    c = await subscribed()
    n = 0
    while not stop.is_set():
        n += 1
        sent = time.monotonic()
        c.send(f'{{"op":"pub","tag":"soak.bystander","data":{n}}}')
        try:
            while True:
                opcode, payload = await asyncio.wait_for(c.recv(), 10)
                if opcode == 1 and b'"op":"msg"' in payload and b"soak.bystander" in payload:
                    break
        except (asyncio.TimeoutError, ConnectionError, asyncio.IncompleteReadError):
            stats["bystander_lost"] += 1
            c.close()
            c = await subscribed()
            continue
        rtts.append(1000 * (time.monotonic() - sent))
        await asyncio.sleep(0.25)
    c.close()


async def run_chaos(port, clients, stop, stats):
    tasks = [asyncio.create_task(chaos_client(port, n, stop, stats)) for n in range(clients)]
    await stop.wait()
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


# ---- the plot ----

def write_svg(path, samples, thread_names):
    width, height, margin = 960, 900, 60
    panels = [("RSS (MiB)", [("", [s["rss_kib"] / 1024 for s in samples])]),
              ("open files", [("", [s["fds"] for s in samples])]),
              ("bystander round trip (ms)", [("median", [s["rtt_p50"] for s in samples]),
                                             ("max", [s["rtt_max"] for s in samples])])]
    cpu_series = {}
    for name in thread_names:
        cpu_series[name] = [s["cpu"].get(name, 0.0) for s in samples]
    times = [s["t"] for s in samples]
    t_max = max(times[-1], 1)
    panel_h = (height - margin) / 4
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'font-family="sans-serif" font-size="12">',
           f'<rect width="{width}" height="{height}" fill="white"/>']
    colors = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2"]

    def panel(index, title, series_list, y_max):
        top = margin / 2 + index * panel_h
        h = panel_h - 40
        left, w = margin, width - 2 * margin
        out.append(f'<text x="{left}" y="{top + 12}" font-weight="bold">{title}</text>')
        out.append(f'<rect x="{left}" y="{top + 18}" width="{w}" height="{h}" fill="none" '
                   f'stroke="#999"/>')
        for frac in (0, 0.5, 1):
            y = top + 18 + h * (1 - frac)
            out.append(f'<text x="{left - 5}" y="{y + 4}" text-anchor="end">'
                       f'{y_max * frac:.0f}</text>')
        for frac in (0, 0.25, 0.5, 0.75, 1):
            x = left + w * frac
            out.append(f'<text x="{x}" y="{top + 18 + h + 14}" text-anchor="middle">'
                       f'{t_max * frac:.0f}s</text>')
        for k, (label, values) in enumerate(series_list):
            pts = " ".join(f"{left + w * t / t_max:.1f},{top + 18 + h * (1 - v / y_max):.1f}"
                           for t, v in zip(times, values))
            color = colors[k % len(colors)]
            out.append(f'<polyline points="{pts}" fill="none" stroke="{color}" '
                       f'stroke-width="1.5"/>')
            if label:
                out.append(f'<text x="{left + w - 5}" y="{top + 32 + 14 * k}" '
                           f'text-anchor="end" fill="{color}">{label}</text>')

    for i, (title, series) in enumerate(panels):
        panel(i, title, series, max(max(max(v) for _, v in series) * 1.1, 1))
    cpu_max = max([max(v) for v in cpu_series.values()] + [10]) * 1.1
    panel(3, "CPU per thread (% of one core)",
          [(name, values) for name, values in cpu_series.items()], cpu_max)
    out.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(out))


# ---- the run ----

def growth_check(samples, key, relative, absolute):
    """(grew, second-quarter median, last-quarter median)."""
    n = len(samples)
    if n < 8:
        return False, 0, 0
    second = statistics.median(s[key] for s in samples[n // 4: n // 2])
    last = statistics.median(s[key] for s in samples[3 * n // 4:])
    return last > second * (1 + relative) + absolute, second, last


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--duration", default="60s", help="how long the load runs (s, m, h)")
    p.add_argument("--interval", type=float, default=2.0, help="seconds between samples")
    p.add_argument("--idle", type=int, default=2000, help="idle subscribed connections")
    p.add_argument("--churn-rate", type=int, default=200, help="churn cycles per second")
    p.add_argument("--fanout-subs", type=int, default=200, help="fanout subscribers")
    p.add_argument("--fanout-rate", type=int, default=500, help="fanout messages per second")
    p.add_argument("--chaos", type=int, default=50, help="chaos clients (this process)")
    p.add_argument("--shards", type=int, default=2)
    p.add_argument("--redis", action="store_true", help="Redis broker (a private redis-server)")
    p.add_argument("--rss-growth", type=float, default=0.10,
                   help="allowed relative RSS growth after warm-up (plus 8 MiB)")
    p.add_argument("--fd-growth", type=float, default=0.02,
                   help="allowed relative growth of open files after warm-up (plus 64)")
    p.add_argument("--rtt-growth", type=float, default=1.0,
                   help="allowed relative growth of the round-trip median (plus 5 ms)")
    p.add_argument("--out", default=os.path.join(ROOT, "build", "soak"), help="result folder")
    p.add_argument("--wsagent", default=os.path.join(ROOT, "build", "wsagent"))
    p.add_argument("--loadgen",
                   default=os.path.join(ROOT, "build", "bench", "loadgen", "wsagent-loadgen"))
    args = p.parse_args()
    duration = parse_duration(args.duration)
    os.makedirs(args.out, exist_ok=True)
    for exe in (args.wsagent, args.loadgen):
        if not os.access(exe, os.X_OK):
            sys.exit(f"{exe} missing: build first (cmake --build build)")

    port = free_port()
    procs = []
    tmp = tempfile.mkdtemp(prefix="wsa_soak.")
    server_args = [args.wsagent, "serve", "--no-auth", "--listen", f"127.0.0.1:{port}",
                   "--shards", str(args.shards), "--no-pin", "--max-outbound-bytes", "256KiB",
                   "--idle-timeout", "10s", "--max-connections", "100000"]
    if args.redis:
        redis_port = free_port()
        procs.append(subprocess.Popen(
            ["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", tmp], stdout=subprocess.DEVNULL))
        time.sleep(0.5)
        server_args += ["--broker", f"redis://127.0.0.1:{redis_port}/0"]
    log = open(os.path.join(args.out, "server.log"), "w")
    server = subprocess.Popen(server_args, stdout=log, stderr=subprocess.STDOUT)
    procs.append(server)
    for _ in range(100):
        if "msg=serving" in open(os.path.join(args.out, "server.log")).read():
            break
        time.sleep(0.1)
    url = f"ws://127.0.0.1:{port}/ws"
    run_for = f"{int(duration) + 5}s"
    loads = [
        [args.loadgen, "conns", "--url", url, "--conns", str(args.idle), "--tags", "50",
         "--tag-prefix", "soak.idle", "--duration", run_for],
        [args.loadgen, "churn", "--url", url, "--rate", str(args.churn_rate), "--tags", "20",
         "--tag-prefix", "soak.churn", "--pubs", "2", "--pub-rate", "100", "--warmup", "0s",
         "--duration", run_for, "--concurrency", "32"],
        [args.loadgen, "fanout", "--url", url, "--subs", str(args.fanout_subs), "--tags", "5",
         "--tag-prefix", "soak.busy", "--pubs", "5", "--rate", str(args.fanout_rate),
         "--size", "512", "--warmup", "0s", "--duration", run_for],
    ]
    for cmd in loads:
        out = open(os.path.join(args.out, f"loadgen-{cmd[1]}.txt"), "w")
        procs.append(subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT))

    # A publisher for the slow consumers' tag (soak.busy), 4 KiB messages, 100 per second.
    async def busy_publisher(stop):
        c = await WsClient.connect(port)
        filler = "x" * 4096
        while not stop.is_set():
            c.send(f'{{"op":"pub","tag":"soak.busy","data":"{filler}"}}')
            await asyncio.sleep(0.01)
        c.close()

    stats = {"connects": 0, "requests": 0, "slow": 0, "dropped": 0, "bystander_lost": 0}
    samples = []
    rtts = []
    names = {}
    ticks = clock_ticks()

    async def sampler(stop):
        start = time.monotonic()
        last_cpu, last_t = thread_cpu_ticks(server.pid), start
        while not stop.is_set():
            await asyncio.sleep(args.interval)
            now = time.monotonic()
            cpu = thread_cpu_ticks(server.pid)
            per = {}
            for tid, total in cpu.items():
                name = names.setdefault(tid, f"thread {len(names)}")
                per[name] = 100.0 * (total - last_cpu.get(tid, total)) / ticks / (now - last_t)
            last_cpu, last_t = cpu, now
            window = rtts[:] or [0.0]
            rtts.clear()
            samples.append({"t": now - start, "rss_kib": rss_kib(server.pid),
                            "fds": open_fds(server.pid), "cpu": per,
                            "rtt_p50": statistics.median(window), "rtt_max": max(window)})
            s = samples[-1]
            print(f"{s['t']:7.0f}s rss {s['rss_kib'] / 1024:7.1f} MiB  fds {s['fds']:6d}  "
                  f"rtt {s['rtt_p50']:6.1f}/{s['rtt_max']:6.1f} ms  "
                  f"cpu " + " ".join(f"{v:5.1f}" for v in sorted(per.values(), reverse=True)[:4]) +
                  f"  chaos {stats}", flush=True)
            if now - start >= duration:
                stop.set()

    async def run():
        stop = asyncio.Event()
        await asyncio.gather(sampler(stop), run_chaos(port, args.chaos, stop, stats),
                             busy_publisher(stop), bystander(port, stop, rtts, stats))

    failed = []
    try:
        time.sleep(2)  # connections being set up
        asyncio.run(run())
        if server.poll() is not None:
            failed.append(f"the server exited ({server.returncode}) during the run")
    finally:
        for proc in procs[::-1]:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                failed.append(f"{proc.args[0]} did not stop on SIGTERM")
        shutil.rmtree(tmp, ignore_errors=True)
    if server.returncode not in (0, None):
        failed.append(f"the server exited with {server.returncode} after SIGTERM")

    busy = sorted({n for s in samples for n, v in s["cpu"].items() if v > 1.0})
    with open(os.path.join(args.out, "samples.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["t_s", "rss_kib", "open_fds", "rtt_p50_ms", "rtt_max_ms"] +
                   [f"cpu_{n.replace(' ', '_')}" for n in busy])
        for s in samples:
            w.writerow([f"{s['t']:.1f}", s["rss_kib"], s["fds"], f"{s['rtt_p50']:.2f}",
                        f"{s['rtt_max']:.2f}"] +
                       [f"{s['cpu'].get(n, 0):.1f}" for n in busy])
    if samples:
        write_svg(os.path.join(args.out, "soak.svg"), samples, busy)
    for key, rel, ab, label in (("rss_kib", args.rss_growth, 8192, "RSS (KiB)"),
                                ("fds", args.fd_growth, 64, "open files"),
                                ("rtt_p50", args.rtt_growth, 5, "round trip median (ms)")):
        grew, before, after = growth_check(samples, key, rel, ab)
        print(f"{label}: median {before:.0f} in the second quarter, {after:.0f} in the last")
        if grew:
            failed.append(f"{label} still grows after the warm-up: {before:.0f} -> {after:.0f}")
    print(f"chaos clients: {stats}; results in {args.out} (samples.csv, soak.svg, server.log)")
    for f in failed:
        print("FAIL:", f)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()

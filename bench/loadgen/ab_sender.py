#!/usr/bin/python3
"""Interleaved before/after runs of two load generator builds against wsagent-loadgen-sender.

  bench/loadgen/ab_sender.py BUILD_A BUILD_B [--rounds 5] [--batch 16] [--subs 100]
                             [--proto wsagent] [--seconds 3] [--loadgen-cpu 1 --sender-cpu 0]

Each round runs A then B (then B then A in the next round, so that neither always goes
first), each against a fresh sender of its own build directory, unpaced (as fast as the
sockets take frames). Prints per run the deliveries per second and the load generator's CPU
time per delivery (its getrusage over the window / deliveries in the window), then the
median, min and max per build. CPU per delivery moves less with machine noise than the rate
does, but both move: compare the spread with the difference.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time


def run_once(build, args):
    lg_dir = os.path.join(build, "bench", "loadgen")
    sender_cmd = [os.path.join(lg_dir, "wsagent-loadgen-sender"), "--batch", str(args.batch),
                  "--size", str(args.size)]
    if args.sender_cpu is not None:
        sender_cmd = ["taskset", "-c", str(args.sender_cpu)] + sender_cmd
    sender = subprocess.Popen(sender_cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True)
    try:
        line = sender.stdout.readline()
        port = line.strip().rsplit(":", 1)[1]
        url = ("mqtt://127.0.0.1:%s" if args.proto == "mqtt" else "ws://127.0.0.1:%s/ws") % port
        cmd = [os.path.join(lg_dir, "wsagent-loadgen"), "fanout", "--proto", args.proto,
               "--url", url, "--subs", str(args.subs), "--pubs", "0", "--size", str(args.size),
               "--warmup", "1s", "--duration", "%ds" % args.seconds, "--drain", "0", "--json"]
        if args.loadgen_cpu is not None:
            cmd = ["taskset", "-c", str(args.loadgen_cpu)] + cmd
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=120 + args.seconds)
        r = json.loads(out.stdout)
    finally:
        sender.wait(timeout=30)
    delivered = r["delivered"]
    cpu_ns = r["loadgen_cpu_pct"] / 100.0 * r["window_s"] * 1e9
    bad = r["gaps"] + r["reordered"] + r["malformed"]
    return {"rate": r["delivered_per_s"], "ns_per": cpu_ns / delivered if delivered else 0,
            "cpu_pct": r["loadgen_cpu_pct"], "per_recv": r["received_total"] / max(1, r["recv_cqes"]),
            "bad": bad}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("build_a")
    ap.add_argument("build_b")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--subs", type=int, default=100)
    ap.add_argument("--proto", default="wsagent", choices=["wsagent", "mqtt", "mqtt-ws"])
    ap.add_argument("--seconds", type=int, default=3)
    ap.add_argument("--loadgen-cpu", type=int)
    ap.add_argument("--sender-cpu", type=int)
    args = ap.parse_args()
    results = {"A": [], "B": []}
    builds = {"A": args.build_a, "B": args.build_b}
    for i in range(args.rounds):
        for key in (("A", "B") if i % 2 == 0 else ("B", "A")):
            r = run_once(builds[key], args)
            results[key].append(r)
            print("round %d %s: %8.0f deliveries/s  %6.1f ns CPU per delivery  cpu %5.1f%%  "
                  "%5.1f per receive%s" % (i + 1, key, r["rate"], r["ns_per"], r["cpu_pct"],
                                           r["per_recv"], "  GAPS/MALFORMED" if r["bad"] else ""),
                  flush=True)
            time.sleep(0.5)
    for key in ("A", "B"):
        ns = [r["ns_per"] for r in results[key]]
        rate = [r["rate"] for r in results[key]]
        print("%s %s: ns CPU per delivery median %.1f (min %.1f, max %.1f); deliveries/s median "
              "%.0f (min %.0f, max %.0f)" % (key, builds[key], statistics.median(ns), min(ns),
                                             max(ns), statistics.median(rate), min(rate),
                                             max(rate)))
    return 0


if __name__ == "__main__":
    sys.exit(main())

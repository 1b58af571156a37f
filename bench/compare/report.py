"""The markdown table, the targets of issue 5 checked against it, and docs/benchmarks.md."""
import os
import platform
import subprocess

import task_clock

LOADGEN_CPU_LIMIT = 85.0

COLUMNS = ["server", "transport", "workload", "delivered msgs/s", "p50 ms", "p99 ms", "loss",
           "server CPU", "server peak RSS", "RSS / conn", "loadgen CPU"]


def _num(x):
    if x is None:
        return "—"
    if x >= 1e6:
        return "%.2fM" % (x / 1e6)
    if x >= 1e4:
        return "%.0fk" % (x / 1e3)
    if x >= 1e3:
        return "%.1fk" % (x / 1e3)
    return "%.0f" % x


def _ms(x):
    if x is None:
        return "—"
    return "%.2f" % x if x < 10 else "%.1f" % x


def _pct(x):
    return "—" if x is None else "%.0f%%" % x


def _mib(kib):
    return "—" if kib is None else "%.1f MiB" % (kib / 1024)


def server_cpu(point):
    """The server's CPU % over the window, from bench/compare's own sampler (task-clock, like
    Redis' and the other nodes'); the load generator's --server-pid figure (/proc/PID/stat)
    only for points recorded before the sampler's figure was kept."""
    if "main_cpu_pct_sampled" in point:
        return point["main_cpu_pct_sampled"]
    return ((point.get("loadgen") or {}).get("server") or {}).get("cpu_pct")


def row(point):
    cells = [point["label"] + (" (profiled)" if point.get("profile") else ""),
             point["transport"], point["workload"]]
    if "loadgen" not in point:
        return cells + [point.get("error", "?")] + [""] * (len(COLUMNS) - 4)
    lg = point["loadgen"]
    srv = lg.get("server") or {}
    lat = lg.get("latency_ms") or {}
    if lg.get("scenario") == "conns":
        delivered = p50 = p99 = loss = "—"
    else:
        delivered = _num(lg.get("delivered_per_s"))
        p50, p99 = (_ms(lat.get("p50")), _ms(lat.get("p99"))) if lat.get("count") else ("—", "—")
        if lg.get("expected"):
            loss = "0" if lg.get("loss", 0) == 0 else "%.2f%% (%d)" % (lg["loss_pct"], lg["loss"])
        elif lg.get("rate"):
            loss = "none published in the window (server stopped reading)"
        else:
            loss = "—"
        kicked = (lg.get("errors") or {}).get("disconnects", 0)
        if kicked:
            loss += ", %d disconnected" % kicked
    cpu = server_cpu(point)
    cpu_cell = _pct(cpu)
    others = sorted(k for k in point if k.startswith("node") and k.endswith("_cpu_pct"))
    if others:  # several nodes: the first one's CPU, then each other node's
        cpu_cell = " + ".join([_pct(cpu)] + [_pct(point[k]) for k in others])
    redis = [point[k] for k in sorted(point, key=lambda k: (len(k), k))
             if k.startswith("redis") and k.endswith("_cpu_pct") and point[k] is not None]
    if redis:  # one Redis, or each master of a cluster
        cpu_cell = "%s + redis %s" % (cpu_cell, " + ".join(_pct(v) for v in redis))
    per_conn = srv.get("rss_per_conn_bytes") if lg.get("scenario") == "conns" else None
    if per_conn is not None and others:
        # The load generator divides node 0's growth by every connection; node 0 holds 1/N.
        per_conn *= len(others) + 1
    per_conn = "—" if per_conn is None else "%.2f KiB" % (per_conn / 1024)
    lg_cpu = lg.get("loadgen_cpu_pct")
    lg_cell = _pct(lg_cpu)
    if lg_cpu is not None and lg_cpu >= LOADGEN_CPU_LIMIT:
        # Messages per receive say why: the load generator's cost is mostly per receive
        # (the kernel's TCP receive and ACK), so few messages per receive make it costly.
        # Of that, softirq on its CPU: mostly the server socket's input of the ACKs it sends.
        lg_cell = "**%s**" % lg_cell
        why = []
        if lg.get("recv_cqes"):
            why.append("%.0f msgs/recv" % (lg.get("received_total", 0) / lg["recv_cqes"]))
        if point.get("loadgen_softirq_pct") is not None:
            why.append("%s softirq" % _pct(point["loadgen_softirq_pct"]))
        if why:
            lg_cell += " (%s)" % ", ".join(why)
    peak = _mib(point.get("server_peak_rss_kib")) + (" (node 0)" if others else "")
    return cells + [delivered, p50, p99, loss, cpu_cell, peak,
                    per_conn, lg_cell]


def cpu_note(points):
    """How the server CPU column was measured: a reader comparing with older tables, or with
    `top`, needs to know (they differ when the server shares its core with Redis)."""
    rows = {}  # source -> row labels
    refusals = set()
    for p in points:
        for source in (p.get("cpu_source") or {}).values():
            labels = rows.setdefault(source, [])
            if p["label"] not in labels:
                labels.append(p["label"])
        refusals.update((p.get("cpu_source_refusal") or {}).values())
    head = "Server CPU (100% = one core; \"+ redis\": the Redis processes beside it): "
    skew = ("charges a process woken on a shared core for the time until it gets the CPU, "
            "which another process ran")
    proc_rows = rows.get(task_clock.PROC_STAT)
    if not rows:
        return head + "/proc/PID/stat's utime + stime over the window."
    if not proc_rows:
        return head + ("on-CPU time over the window, from a perf task-clock counter on each "
                       "thread (/proc/PID/stat's utime + stime, as `top` shows, %s: it skews "
                       "the server + Redis split)." % skew)
    refused = "perf_event_open refused: %s" % "; ".join(sorted(refusals))
    if task_clock.TASK_CLOCK not in rows:
        return head + ("/proc/PID/stat's utime + stime over the window (%s), which %s: the "
                       "server + Redis split is skewed." % (refused, skew))
    return head + ("on-CPU time over the window, from a perf task-clock counter on each "
                   "thread, except for %s: /proc/PID/stat's utime + stime (%s), which %s: "
                   "their server + Redis split is skewed." % (", ".join(proc_rows), refused,
                                                                skew))


def table(points):
    lines = ["| " + " | ".join(COLUMNS) + " |",
             "|" + "|".join("---" if i < 3 else "--:" for i in range(len(COLUMNS))) + "|"]
    for p in points:
        lines.append("| " + " | ".join(str(c) for c in row(p)) + " |")
    return "\n".join(lines)


def workload_legend(workloads):
    return "\n".join("- `%s`: %s" % (w.key, w.label) for w in workloads)


# --- targets of issue 5 ----------------------------------------------------------------------

def _find_point(points, server, workload):
    for p in points:
        if p["server"] == server and p["workload"] == workload and "loadgen" in p:
            return p
    return None


def _find(points, server, workload):
    point = _find_point(points, server, workload)
    return point["loadgen"] if point else None


def targets(points):
    """Each target of issue 5 that this run can judge: (target, verdict, numbers)."""
    out = []
    ws = _find(points, "wsagent", "sat-100")
    for peer, need in (("mosquitto-tcp", 20.0), ("seed", 50.0)):
        other = _find(points, peer, "sat-100")
        if ws and other and other.get("delivered_per_s"):
            ratio = ws["delivered_per_s"] / other["delivered_per_s"]
            zero = ws.get("loss", 1) == 0 and not (ws.get("errors") or {}).get("disconnects")
            ok = ratio >= need and zero
            out.append(("saturation 100 subs 64 B: >= %.0fx %s, zero loss" % (need, peer),
                        "met" if ok else "missed",
                        "%.1fx (%s vs %s msgs/s), loss %d" % (
                            ratio, _num(ws["delivered_per_s"]), _num(other["delivered_per_s"]),
                            ws.get("loss", 0))))
    fx = _find(points, "wsagent", "fixed-1k")
    if fx:
        p99 = (fx.get("latency_ms") or {}).get("p99")
        ok = fx.get("loss", 1) == 0 and p99 is not None and p99 < 8.0
        cpu = server_cpu(_find_point(points, "wsagent", "fixed-1k"))
        out.append(("2,000 msgs/s x 1,000 subs: all delivered, p99 < 8 ms",
                    "met" if ok else "missed",
                    "loss %d, p99 %s ms, server CPU %s" % (fx.get("loss", 0), _ms(p99), _pct(cpu))))
    lt = _find(points, "wsagent", "light-1k")
    if lt:
        p99 = (lt.get("latency_ms") or {}).get("p99")
        mq = _find(points, "mosquitto-tcp", "light-1k")
        mq_p99 = (mq.get("latency_ms") or {}).get("p99") if mq else None
        out.append(("20 msgs/s x 1,000 subs: p99 < 3 ms", "met" if p99 is not None and p99 < 3
                    else "missed", "p99 %s ms (Mosquitto MQTT/TCP %s ms)" % (_ms(p99), _ms(mq_p99))))
    idle = _find(points, "wsagent", "idle-10k")
    if idle:
        per = (idle.get("server") or {}).get("rss_per_conn_bytes")
        out.append(("idle connections: <= 2 KiB RSS each at 10k",
                    "met" if per is not None and per <= 2048 else "missed",
                    "%s bytes per connection over %d connections" % (
                        "?" if per is None else "%.0f" % per, idle.get("conns_ready", 0))))
    over = [(p["label"] + " " + p["transport"], p["workload"], p["loadgen"]["loadgen_cpu_pct"])
            for p in points if "loadgen" in p and
            (p["loadgen"].get("loadgen_cpu_pct") or 0) >= LOADGEN_CPU_LIMIT]
    out.append(("load generator CPU < 85% at every point", "met" if not over else "missed",
                "; ".join("%s %s: %.0f%%" % o for o in over) or "all below"))
    return out


def targets_table(points):
    lines = ["| target (issue 5) | verdict | measured |", "|---|---|---|"]
    lines += ["| %s | %s | %s |" % t for t in targets(points)]
    return "\n".join(lines)


# --- docs/benchmarks.md ----------------------------------------------------------------------

BEGIN = "<!-- bench/compare: generated from here -->"
END = "<!-- bench/compare: generated up to here -->"


def _first_line(cmd):
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
        return ((r.stdout or r.stderr).strip().splitlines() or ["?"])[0]
    except (OSError, subprocess.TimeoutExpired):
        return "?"


def machine():
    model = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {"nproc": os.cpu_count(), "cpu": model, "kernel": platform.release()}


def versions(ctx):
    py = ("/usr/bin/python3 -c import websockets,redis;"
          "print('websockets',websockets.__version__,'redis-py',redis.__version__)").split(" ", 2)
    ws_version = "?"
    try:
        import json
        with open(os.path.join(ctx.node_modules, "ws", "package.json")) as f:
            ws_version = json.load(f)["version"]
    except (OSError, ValueError, TypeError):
        pass
    return {
        "wsagent": _first_line(["git", "-C", ctx.root, "log", "-1", "--format=%h (%cs)"]),
        "mosquitto": _first_line(["dpkg-query", "-W", "-f=${Version}", "mosquitto"]),
        "redis-server": " ".join(_first_line(["redis-server", "--version"]).split()[:3]),
        "python": _first_line(py),
        "node": _first_line(["node", "--version"]) + ", ws " + ws_version,
    }


def load_note(points, nproc):
    """The machine's 1-minute load average over the run's points: above the CPU count, other
    work competed with the pinned processes, whose CPU shares are then of what they got
    (a starved load generator is not flagged, yet its figures say little)."""
    seen = [p[k] for p in points for k in ("loadavg_before", "loadavg_after")
            if p.get(k) is not None]
    if not seen:
        return "Load average: not recorded."
    busy = max(seen) > nproc
    return "Load average (1 min) during the points: %.1f-%.1f on %d CPUs%s." % (
        min(seen), max(seen), nproc,
        " (other work competed with the pinned processes: wall-clock figures are low and "
        "noisy)" if busy else "")


def generated_section(ctx, points, workloads, when, command, floor):
    m = machine()
    v = versions(ctx)
    redis_cpu = getattr(ctx, "redis_cpu", ctx.server_cpu)
    redis_where = ("(and its Redis) " if redis_cpu == ctx.server_cpu else "")
    return "\n".join([
        BEGIN,
        "",
        "Run %s with `%s`." % (when, command),
        "",
        "Machine: %d CPUs (%s), Linux %s. Server %spinned to CPU %d, "
        "load generator to CPU %d%s." % (
            m["nproc"], m["cpu"], m["kernel"], redis_where, ctx.server_cpu, ctx.loadgen_cpu,
            "" if redis_cpu == ctx.server_cpu else ", Redis to CPU %d" % redis_cpu),
        "",
        load_note(points, m["nproc"]),
        "",
        "Software: wsagent at `%s`; Mosquitto %s; %s; %s; Node %s." % (
            v["wsagent"], v["mosquitto"], v["redis-server"], v["python"], v["node"]),
        "",
        "Workloads:",
        "",
        workload_legend(workloads),
        "",
        table(points),
        "",
        cpu_note(points),
        "",
        "Bare sender for reference ([bench/peers/loopback_floor.c]"
        "(../bench/peers/loopback_floor.c): no server logic, one 120-byte message to each of "
        "1,000 loopback connections, io_uring sends submitted at once from the server CPU, an "
        "io_uring multishot reader on the load generator CPU, mean of 100 rounds): %s." % floor,
        "",
        "Targets of issue 5 (wsagent with the embedded broker):",
        "",
        targets_table(points),
        "",
        END,
    ])


def write_docs(path, section):
    """Replaces the generated section of PATH, keeping the hand-written text around it."""
    head = ("# Benchmarks\n\n"
            "wsagent and its peers on the same workloads, one after another, measured by\n"
            "`bench/compare/run` (see the end of this page for how to read it).\n\n")
    tail = "\n"
    if os.path.exists(path):
        with open(path) as f:
            text = f.read()
        if BEGIN in text and END in text:
            head = text[:text.index(BEGIN)]
            tail = text[text.index(END) + len(END):]
    with open(path, "w") as f:
        f.write(head + section + tail)

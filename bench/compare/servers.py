"""The servers bench/compare measures: how to start each one, pinned to the server CPU, and
how to tell that it is ready. Every point gets freshly started processes, so that peak RSS
and RSS per connection are those of that workload alone."""
import os
import socket
import subprocess
import time
import urllib.error
import urllib.request


class NotAvailable(Exception):
    """The server cannot run here (e.g. a feature not wired in yet): rows say so."""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_port(port, proc, what, timeout=15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise NotAvailable("%s exited with status %d at start" % (what, proc.returncode))
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise NotAvailable("%s did not listen on port %d within %.0f s" % (what, port, timeout))


def _http_status(url):
    try:
        with urllib.request.urlopen(url, timeout=1) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
    except OSError:
        return None


class Running:
    """Processes of one started server; `main` is the one whose RSS and CPU are the server's,
    `helpers` (Redis) also count towards the server side's CPU."""

    def __init__(self, url, proto):
        self.url, self.proto = url, proto
        self.main = None
        self.redis_port = None
        self.redis_ports = []  # every Redis (the masters of a cluster)
        self.helpers = {}  # label -> Popen
        self._all = []

    def spawn(self, cmd, log_path, env=None, cwd=None):
        log = open(log_path, "wb")
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=cwd,
                                stdin=subprocess.DEVNULL, start_new_session=True)
        log.close()
        self._all.append(proc)
        return proc

    def stop(self):
        for proc in reversed(self._all):
            if proc.poll() is None:
                proc.terminate()
        for proc in reversed(self._all):
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _pinned(cpu, cmd):
    return ["taskset", "-c", str(cpu)] + cmd


class Server:
    """One row group of the table. `start(ctx)` returns a Running or raises NotAvailable."""

    def __init__(self, key, label, transport, proto, starter):
        self.key, self.label, self.transport, self.proto = key, label, transport, proto
        self._starter = starter

    def start(self, ctx, workdir):
        return self._starter(self, ctx, workdir)


def _start_redis(run, ctx, workdir):
    port = free_port()
    proc = run.spawn(_pinned(ctx.redis_cpu, [
        "redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
        "--appendonly", "no", "--dir", workdir]),
        os.path.join(workdir, "redis.log"))
    run.helpers["redis"] = proc
    run.redis_port = port
    _wait_port(port, proc, "redis-server")
    return port


def _start_redis_cluster(run, ctx, workdir, masters=3):
    """A Redis Cluster of `masters` masters (no replicas) on the server CPU, slots split by
    redis-cli --cluster create; returns the seed list for redis-cluster://."""
    ports = []
    for k in range(masters):
        port, bus = free_port(), free_port()
        node_dir = os.path.join(workdir, "redis-%d" % k)
        os.makedirs(node_dir, exist_ok=True)
        proc = run.spawn(_pinned(ctx.redis_cpu, [
            "redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
            "--appendonly", "no", "--dir", node_dir, "--cluster-enabled", "yes",
            "--cluster-port", str(bus), "--cluster-config-file",
            os.path.join(node_dir, "nodes.conf")]),
            os.path.join(workdir, "redis-%d.log" % k))
        run.helpers["redis" if k == 0 else "redis%d" % k] = proc
        _wait_port(port, proc, "redis-server (cluster)")
        ports.append(port)
    seeds = ["127.0.0.1:%d" % p for p in ports]
    r = subprocess.run(["redis-cli", "--cluster", "create", *seeds, "--cluster-yes"],
                       capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        raise NotAvailable("redis-cli --cluster create failed: %s" % r.stdout[-300:])
    deadline = time.monotonic() + 15
    for port in ports:
        while "cluster_state:ok" not in subprocess.run(
                ["redis-cli", "-p", str(port), "cluster", "info"], capture_output=True,
                text=True, timeout=10).stdout:
            if time.monotonic() > deadline:
                raise NotAvailable("Redis Cluster not ok within 15 s")
            time.sleep(0.1)
    run.redis_ports = ports
    return ",".join(seeds)


def redis_commands(port):
    """Calls per command name that a Redis has served so far (INFO commandstats)."""
    r = subprocess.run(["redis-cli", "-p", str(port), "info", "commandstats"],
                       capture_output=True, text=True, timeout=10)
    calls = {}
    for line in r.stdout.splitlines():
        if line.startswith("cmdstat_"):
            name, rest = line[len("cmdstat_"):].split(":", 1)
            calls[name] = int(rest.split("calls=", 1)[1].split(",", 1)[0])
    return calls


def _start_wsagent(server, ctx, workdir, broker=None, nodes=1):
    """One wsagent node, or `nodes` of them sharing one Redis or Redis Cluster of three
    masters (broker "redis" or "cluster"; the load generator spreads
    its connections over them: subscriber s on node s mod N, the publisher on node 0).
    server.proto says what the load generator speaks: protocol v1 at /ws, MQTT over TCP on
    --mqtt-listen, or MQTT over WebSocket at /mqtt (--mqtt-ws)."""
    ports = [free_port() for _ in range(nodes)]
    # --pub-rate 0: the saturation workloads publish faster than the per-connection
    # limit a public node keeps (docs/limits.md); the other servers have none either.
    extra = ["--pub-rate", "0"]
    if server.proto == "mqtt":
        mqtt_port = free_port()
        extra += ["--mqtt-listen", "127.0.0.1:%d" % mqtt_port]
        url = "mqtt://127.0.0.1:%d" % mqtt_port
    elif server.proto == "mqtt-ws":
        extra += ["--mqtt-ws"]
        url = ",".join("ws://127.0.0.1:%d/mqtt" % p for p in ports)
    else:
        url = ",".join("ws://127.0.0.1:%d/ws" % p for p in ports)
    run = Running(url, server.proto)
    try:
        if broker == "redis":
            extra += ["--broker", "redis://127.0.0.1:%d" % _start_redis(run, ctx, workdir)]
            run.redis_ports = [run.redis_port]
        elif broker == "cluster":
            extra += ["--broker", "redis-cluster://" + _start_redis_cluster(run, ctx, workdir)]
        for k, port in enumerate(ports):
            cmd = [ctx.wsagent, "serve", "--no-auth", "--shards", "1",
                   "--listen", "127.0.0.1:%d" % port, "--log-level", "warn"] + extra
            log = os.path.join(workdir, "server.log" if k == 0 else "node%d.log" % k)
            proc = run.spawn(_pinned(ctx.server_cpu, cmd), log)
            if k == 0:
                run.main = proc
            else:
                run.helpers["node%d" % k] = proc
        for k, port in enumerate(ports):
            proc = run.main if k == 0 else run.helpers["node%d" % k]
            _wait_port(port, proc, "wsagent")
            deadline = time.monotonic() + 5
            while _http_status("http://127.0.0.1:%d/readyz" % port) != 200:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise NotAvailable("wsagent /readyz not 200 (broker %s)" %
                                       (broker or "embedded"))
                time.sleep(0.1)
    except BaseException:
        run.stop()
        raise
    return run


def _start_seed(server, ctx, workdir):
    port = free_port()
    run = Running("ws://127.0.0.1:%d/ws" % port, server.proto)
    try:
        redis_port = _start_redis(run, ctx, workdir)
        run.main = run.spawn(_pinned(ctx.server_cpu, [
            "/usr/bin/python3", os.path.join(ctx.root, "bench", "peers", "seed_server.py"),
            "--port", str(port), "--redis-port", str(redis_port)]),
            os.path.join(workdir, "server.log"))
        _wait_port(port, run.main, "seed_server.py")
    except BaseException:
        run.stop()
        raise
    return run


def _start_mosquitto(server, ctx, workdir):
    tcp_port, ws_port = free_port(), free_port()
    with open(os.path.join(ctx.root, "bench", "peers", "mosquitto.conf.in")) as f:
        conf = f.read().replace("@TCP_PORT@", str(tcp_port)).replace("@WS_PORT@", str(ws_port))
    conf_path = os.path.join(workdir, "mosquitto.conf")
    with open(conf_path, "w") as f:
        f.write(conf)
    url = ("mqtt://127.0.0.1:%d" % tcp_port if server.proto == "mqtt"
           else "ws://127.0.0.1:%d/" % ws_port)
    run = Running(url, server.proto)
    try:
        run.main = run.spawn(_pinned(ctx.server_cpu, ["mosquitto", "-c", conf_path]),
                             os.path.join(workdir, "server.log"))
        _wait_port(tcp_port, run.main, "mosquitto")
        _wait_port(ws_port, run.main, "mosquitto (websockets listener)")
    except BaseException:
        run.stop()
        raise
    return run


def _start_node(server, ctx, workdir):
    port = free_port()
    run = Running("ws://127.0.0.1:%d/ws" % port, server.proto)
    env = dict(os.environ, NODE_PATH=ctx.node_modules)
    try:
        run.main = run.spawn(_pinned(ctx.server_cpu, [
            "node", os.path.join(ctx.root, "bench", "loadgen", "testdata", "v1_server.js"),
            "--port", str(port)]), os.path.join(workdir, "server.log"), env=env)
        _wait_port(port, run.main, "node v1_server.js")
    except BaseException:
        run.stop()
        raise
    return run


SERVERS = [
    Server("wsagent", "wsagent (embedded)", "v1 / WS", "wsagent", _start_wsagent),
    Server("wsagent-redis", "wsagent (Redis)", "v1 / WS", "wsagent",
           lambda s, c, w: _start_wsagent(s, c, w, broker="redis")),
    Server("wsagent-redis-2", "wsagent (Redis), 2 nodes", "v1 / WS", "wsagent",
           lambda s, c, w: _start_wsagent(s, c, w, broker="redis", nodes=2)),
    Server("wsagent-redis-3", "wsagent (Redis), 3 nodes", "v1 / WS", "wsagent",
           lambda s, c, w: _start_wsagent(s, c, w, broker="redis", nodes=3)),
    Server("wsagent-cluster", "wsagent (Redis Cluster)", "v1 / WS", "wsagent",
           lambda s, c, w: _start_wsagent(s, c, w, broker="cluster")),
    Server("wsagent-cluster-2", "wsagent (Redis Cluster), 2 nodes", "v1 / WS", "wsagent",
           lambda s, c, w: _start_wsagent(s, c, w, broker="cluster", nodes=2)),
    Server("wsagent-cluster-3", "wsagent (Redis Cluster), 3 nodes", "v1 / WS", "wsagent",
           lambda s, c, w: _start_wsagent(s, c, w, broker="cluster", nodes=3)),
    Server("wsagent-mqtt-tcp", "wsagent (embedded)", "MQTT / TCP", "mqtt", _start_wsagent),
    Server("wsagent-mqtt-ws", "wsagent (embedded)", "MQTT / WS", "mqtt-ws", _start_wsagent),
    Server("seed", "seed design (Python + Redis)", "v1 / WS", "wsagent", _start_seed),
    Server("mosquitto-tcp", "Mosquitto", "MQTT / TCP", "mqtt", _start_mosquitto),
    Server("mosquitto-ws", "Mosquitto", "MQTT / WS", "mqtt-ws", _start_mosquitto),
    Server("node", "Node.js + ws", "v1 / WS", "wsagent", _start_node),
]

"""Helpers shared by the deployment tests: a real wsagent node on a free loopback port, plain
HTTP to it, the metric names of its /metrics, and a failure collector that reports every
broken invariant at once."""
import contextlib
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import types
import urllib.error
import urllib.request

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class checks:
    """Collects failed checks; report() prints them and exits 1 if there is any."""

    def __init__(self, name):
        self.name = name
        self.failures = []
        self.count = 0

    def check(self, condition, what):
        self.count += 1
        if not condition:
            self.failures.append(what)
        return condition

    def report(self):
        for failure in self.failures:
            print(f"{self.name}: FAILED: {failure}", file=sys.stderr)
        if self.failures:
            sys.exit(1)
        print(f"{self.name}: ok ({self.count} checks)")


def clean_env(extra=None):
    """The process environment without WSAGENT_* variables, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WSAGENT_")}
    env.update(extra or {})
    return env


def keygen(binary, directory):
    """Makes a key pair; returns (private key path, JWKS path)."""
    key = os.path.join(directory, "key.jwk")
    jwks = os.path.join(directory, "jwks.json")
    subprocess.run([binary, "keygen", "--out-private", key, "--out-jwks", jwks],
                   check=True, stdout=subprocess.DEVNULL)
    return key, jwks


LISTENING = re.compile(r'listening.*addr["=:]+127\.0\.0\.1:(\d+)')


@contextlib.contextmanager
def server(binary, args, env=None, timeout=10.0):
    """Runs `wsagent serve ARGS` (stderr to a file); yields a node with .port and .proc. Stops it
    with SIGTERM on exit (SIGKILL if it lingers); then node.proc.returncode is its exit status
    and node.log what it logged."""
    log = tempfile.NamedTemporaryFile(prefix="wsagent-deploy-", suffix=".log", delete=False)
    proc = subprocess.Popen([binary, "serve", *args], stdout=subprocess.DEVNULL, stderr=log,
                            env=clean_env(env))
    try:
        port = node = None
        deadline = time.monotonic() + timeout
        while port is None and time.monotonic() < deadline:
            with open(log.name, encoding="utf-8", errors="replace") as f:
                match = LISTENING.search(f.read())
            if match:
                port = int(match.group(1))
            elif proc.poll() is not None:
                break
            else:
                time.sleep(0.05)
        if port is None:
            with open(log.name, encoding="utf-8", errors="replace") as f:
                raise RuntimeError(f"wsagent did not start: {f.read()[-2000:]}")
        node = types.SimpleNamespace(port=port, proc=proc, log="")
        yield node
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        with open(log.name, encoding="utf-8", errors="replace") as f:
            if node is not None:
                node.log = f.read()
        log.close()
        os.unlink(log.name)


def http_get(port, path):
    """(status, body text) of GET http://127.0.0.1:PORT/PATH; (None, reason) when unreachable."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    except OSError as e:
        return None, str(e)


def metric_names(text):
    """Metric names in a Prometheus text exposition (from samples and TYPE lines)."""
    names = set()
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            names.add(line.split()[2])
        elif line and not line.startswith("#"):
            names.add(re.match(r"[a-zA-Z_:][a-zA-Z0-9_:]*", line).group(0))
    return names


def duration_ms(text, bare_unit_ms):
    """A wsagent duration ("25s", "500ms", "1m", "2h", "1d", or a bare number in the option's
    unit) in milliseconds."""
    match = re.fullmatch(r"(\d+)(ms|s|m|h|d)?", text.strip())
    if not match:
        raise ValueError(f"bad duration {text!r}")
    units = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}
    return int(match.group(1)) * (units[match.group(2)] if match.group(2) else bare_unit_ms)


def config_file_values(text):
    """`name = value` lines of a wsagent config file (comments and blank lines skipped)."""
    values = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, _, value = line.partition("=")
        values[name.strip()] = value.strip().strip('"')
    return values

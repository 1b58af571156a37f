#!/usr/bin/python3
"""The container files of docker/ checked where no Docker runs (container_test.sh runs the
image itself under podman): the Dockerfile's runtime stage installs every library the binary
links and runs as a numeric non-root user; compose runs the nodes with authentication, the
seccomp profile and no published port; nginx keeps tokens out of its access log and
/metrics private; the seccomp profile is an allowlist that lets io_uring through and keeps
the dangerous system calls out.

Usage: docker_files_test.py PATH/TO/wsagent
"""
import json
import os
import re
import subprocess
import sys

import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from deploy_support import REPO, checks, duration_ms  # noqa: E402

DOCKER = os.path.join(REPO, "docker")
# debian:12-slim has these (apt needs them); sanitizer runtimes come only with test builds.
BASE_PACKAGES = {"libc6", "libgcc-s1", "libstdc++6"}
SANITIZER_LIB = re.compile(r"lib(asan|ubsan|lsan|tsan)\.so")


def read(name):
    with open(os.path.join(DOCKER, name), encoding="utf-8") as f:
        return f.read()


def candidates(path):
    """The path as ldd gives it, its real path, and their /lib <-> /usr/lib twins (merged
    /usr: dpkg knows each file under one of them)."""
    out = [path, os.path.realpath(path)]
    for p in list(out):
        out.append("/usr" + p if p.startswith("/lib") else p.removeprefix("/usr"))
    return out


def packages_of(paths):
    """{library path: the Debian package that ships it} (one dpkg query for all)."""
    queries = sorted({q for p in paths for q in candidates(p)})
    listing = subprocess.run(["dpkg", "-S", *queries], capture_output=True, text=True).stdout
    owner = {}
    for line in listing.splitlines():
        package, _, file = line.partition(": ")
        owner[file.strip()] = package.split(":")[0]
    return {p: next((owner[q] for q in candidates(p) if q in owner), None) for p in paths}


def check_dockerfile(c, binary):
    text = read("Dockerfile")
    stages = re.split(r"^FROM ", text, flags=re.M)
    runtime = stages[-1]
    c.check(runtime.startswith("debian:12-slim"), "the runtime stage is not debian:12-slim")
    installed = set(re.findall(r"\b(lib[a-z0-9.+-]+)\b", runtime.split("useradd")[0]))
    ldd = subprocess.run(["ldd", binary], capture_output=True, text=True, check=True).stdout
    libs = [lib for lib in re.findall(r"=> (/\S+)", ldd) if not SANITIZER_LIB.search(lib)]
    for lib, package in packages_of(libs).items():
        c.check(package is not None, f"no Debian package ships {lib}")
        c.check(package in installed | BASE_PACKAGES,
                f"wsagent links {lib} from {package}, which the runtime stage does not install")
    users = re.findall(r"^USER\s+(\S+)", runtime, re.M)
    c.check(len(users) == 1 and re.fullmatch(r"[1-9]\d*:\d+", users[0]) is not None,
            f"the image must run as a numeric non-root user (USER uid:gid), found {users}")
    c.check("STOPSIGNAL SIGTERM" in runtime, "SIGTERM must stop (drain) the node")


def check_no_dev_shortcuts(c):
    for name in ("Dockerfile", "compose.yaml", "nginx.conf"):
        text = read(name)
        c.check("--no-auth" not in text and "NO_AUTH" not in text,
                f"docker/{name} turns authentication off")


def check_compose(c):
    compose = yaml.safe_load(read("compose.yaml"))
    nodes = {n: s for n, s in compose["services"].items() if s.get("image") == "wsagent:local"}
    c.check(len(nodes) >= 2, f"compose runs {len(nodes)} wsagent nodes")
    for name, service in nodes.items():
        env = service.get("environment", {})
        c.check(env.get("WSAGENT_BROKER", "").startswith("redis://"), f"{name}: no Redis broker")
        c.check(env.get("WSAGENT_JWKS", "").startswith("/run/secrets/"),
                f"{name}: no key set to verify tokens")
        secrets = service.get("secrets", [])
        c.check(any(env["WSAGENT_JWKS"].endswith("/" + s) for s in secrets),
                f"{name}: WSAGENT_JWKS is not one of its secrets {secrets}")
        options = service.get("security_opt", [])
        c.check("seccomp=./seccomp.json" in options and
                os.path.exists(os.path.join(DOCKER, "seccomp.json")),
                f"{name}: not run with docker/seccomp.json")
        c.check(any(o.startswith("no-new-privileges") for o in options),
                f"{name}: no-new-privileges")
        c.check(service.get("cap_drop") == ["ALL"] and service.get("read_only") is True,
                f"{name}: capabilities and root file system")
        c.check("ports" not in service, f"{name}: publishes a port (metrics would be public)")
        c.check(duration_ms(service["stop_grace_period"], 1000) > 5000,
                f"{name}: stop_grace_period shorter than the default 5 s drain")
    c.check("ports" in compose["services"]["lb"], "the balancer publishes no port")


def nginx_locations(text):
    """[(modifier, pattern, body)] of the server's location blocks."""
    return re.findall(r"location\s+(=|~\*?|\^~)?\s*(\S+)\s*\{([^}]*)\}", text)


def nginx_route(locations, uri):
    """The body of the location nginx picks for `uri`: exact, else regexes in order unless the
    longest prefix is ^~, else the longest prefix."""
    for modifier, pattern, body in locations:
        if modifier == "=" and pattern == uri:
            return body
    prefixes = [(p, m, b) for m, p, b in locations if m in ("", "^~") and uri.startswith(p)]
    longest = max(prefixes, default=None, key=lambda x: len(x[0]))
    if longest and longest[1] == "^~":
        return longest[2]
    for modifier, pattern, body in locations:
        if modifier.startswith("~") and re.search(pattern, uri,
                                                  re.I if modifier == "~*" else 0):
            return body
    return longest[2] if longest else None


def check_nginx(c):
    text = read("nginx.conf")
    formats = dict(re.findall(r"log_format\s+(\S+)\s+((?:'[^']*'\s*)+);", text))
    access_logs = re.findall(r"access_log\s+([^;]+);", text)
    c.check(access_logs, "nginx.conf sets no access_log (the default format logs ?token=)")
    for log in access_logs:
        words = log.split()
        if words[0] == "off":
            continue
        c.check(len(words) >= 2 and words[1] in formats,
                f"access_log {log} uses a format that logs the query string")
        fmt = formats.get(words[1] if len(words) > 1 else "", "")
        leaks = re.findall(r"\$(request\b|request_uri|args|query_string|arg_\w+|is_args)", fmt)
        c.check(not leaks, f"log_format {words[1:2]} logs the query string: {leaks}")
    locations = nginx_locations(text)
    for uri in ("/metrics", "/metrics/", "/Metrics", "/anything"):
        body = nginx_route(locations, uri)
        c.check(body is None or "proxy_pass" not in body, f"nginx proxies {uri}")
    ws = nginx_route(locations, "/ws") or ""
    c.check("proxy_pass" in ws and "Upgrade" in ws and "proxy_read_timeout" in ws,
            "nginx's /ws location lacks the WebSocket upgrade or its long read timeout")
    for uri in ("/api/publish", "/healthz", "/readyz"):
        c.check("proxy_pass" in (nginx_route(locations, uri) or ""), f"nginx does not proxy {uri}")


def check_seccomp(c):
    profile = json.loads(read("seccomp.json"))
    c.check(profile["defaultAction"] == "SCMP_ACT_ERRNO", "the profile must be an allowlist")
    allowed = set()
    conditional = set()
    for rule in profile["syscalls"]:
        if rule["action"] == "SCMP_ACT_ALLOW":
            (conditional if rule.get("args") else allowed).update(rule["names"])
    for name in ("io_uring_setup", "io_uring_enter", "io_uring_register"):
        c.check(name in allowed, f"{name} is not allowed: wsagent cannot run")
    for name in ("mount", "umount2", "pivot_root", "unshare", "setns", "ptrace", "bpf",
                 "keyctl", "add_key", "request_key", "init_module", "finit_module",
                 "delete_module", "kexec_load", "reboot", "userfaultfd", "perf_event_open",
                 "open_by_handle_at", "process_vm_readv", "process_vm_writev", "clone3",
                 "settimeofday", "clock_settime", "swapon", "acct", "syslog"):
        c.check(name not in allowed | conditional, f"the profile allows {name}")
    clone = [r for r in profile["syscalls"] if r["names"] == ["clone"]]
    c.check(len(clone) == 1 and clone[0]["args"][0]["op"] == "SCMP_CMP_MASKED_EQ" and
            clone[0]["args"][0]["value"] & 0x10000000 and  # CLONE_NEWUSER is in the mask
            clone[0]["args"][0]["valueTwo"] == 0,
            "clone must be allowed only without namespace flags")
    c.check({"SCMP_ARCH_X86_64", "SCMP_ARCH_AARCH64"} <= set(profile["architectures"]),
            "the profile's architectures")


def main():
    binary = os.path.realpath(sys.argv[1])
    c = checks("docker_files_test")
    check_dockerfile(c, binary)
    check_no_dev_shortcuts(c)
    check_compose(c)
    check_nginx(c)
    check_seccomp(c)
    c.report()


if __name__ == "__main__":
    main()

"""Installs the peers and builds wsagent: everything bench/compare needs before it measures."""
import os
import shutil
import subprocess
import sys


def log(msg):
    print("compare: " + msg, file=sys.stderr, flush=True)


def run(cmd, **kw):
    log("$ " + " ".join(cmd))
    subprocess.run(cmd, check=True, **kw)


def _dpkg_installed(package):
    r = subprocess.run(["dpkg-query", "-W", "-f=${Status}", package],
                       capture_output=True, text=True)
    return r.returncode == 0 and "install ok installed" in r.stdout


def _apt_install(packages):
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    run(sudo + ["apt-get", "update", "-qq"], env=env)
    run(sudo + ["apt-get", "install", "-y", "-qq", "--no-install-recommends"] + packages,
        env=env)


def install_peers(root):
    """Build dependencies (scripts/install-deps.sh), then the peers from Debian."""
    run([os.path.join(root, "scripts", "install-deps.sh")])
    missing = [p for p in ("mosquitto", "redis-server", "python3-websockets", "python3-redis")
               if not _dpkg_installed(p)]
    # Node may come from Debian or from NodeSource (whose nodejs carries npm): ask for the
    # commands, not for the package names.
    if shutil.which("node") is None:
        missing.append("nodejs")
    if shutil.which("npm") is None:
        missing.append("npm")
    if missing:
        _apt_install(missing)


def node_modules_dir(root):
    """`ws` for the Node peer, installed from the lock file of bench/loadgen/testdata into a
    cache directory outside the tree. Returns the node_modules directory (for NODE_PATH)."""
    cache = os.path.join(os.environ.get("XDG_CACHE_HOME") or
                         os.path.expanduser("~/.cache"), "wsagent-compare", "node")
    modules = os.path.join(cache, "node_modules")
    if os.path.isfile(os.path.join(modules, "ws", "package.json")):
        return modules
    os.makedirs(cache, exist_ok=True)
    testdata = os.path.join(root, "bench", "loadgen", "testdata")
    for name in ("package.json", "package-lock.json"):
        shutil.copy(os.path.join(testdata, name), os.path.join(cache, name))
    run(["npm", "ci", "--no-audit", "--no-fund", "--prefer-offline"], cwd=cache)
    return modules


def build(root, build_dir):
    """Release build of the server and the load generator."""
    gen = ["-G", "Ninja"] if shutil.which("ninja") else []
    if not os.path.isfile(os.path.join(build_dir, "CMakeCache.txt")):
        run(["cmake", "-S", root, "-B", build_dir, "-DCMAKE_BUILD_TYPE=Release"] + gen)
    else:
        with open(os.path.join(build_dir, "CMakeCache.txt")) as f:
            if "CMAKE_BUILD_TYPE:STRING=Release" not in f.read():
                raise SystemExit("compare: %s is not a Release build; give --build-dir" %
                                 build_dir)
    jobs = str(min(2, os.cpu_count() or 1))
    run(["nice", "cmake", "--build", build_dir, "-j", jobs,
         "--target", "wsagent", "wsagent-loadgen"])


def loopback_floor(root, work, server_cpu, loadgen_cpu, connections=1000):
    """Runs bench/peers/loopback_floor.c: the time the cheapest possible sender needs to put
    one message on each of `connections` loopback TCP connections here. Returns its line."""
    binary = os.path.join(work, "loopback_floor")
    try:
        subprocess.run(["cc", "-O2", "-o", binary,
                        os.path.join(root, "bench", "peers", "loopback_floor.c"), "-luring", "-lpthread"],
                       check=True, capture_output=True)
        r = subprocess.run([binary, str(connections), "100", str(server_cpu), str(loadgen_cpu)],
                           check=True, capture_output=True, text=True, timeout=120)
        return r.stdout.strip()
    except (OSError, subprocess.SubprocessError) as e:
        return "not measured (%s)" % e

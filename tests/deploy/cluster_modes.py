"""scripts/cluster.sh --redis sentinel and --redis cluster, one ctest each
(cluster_sentinel_test.py, cluster_rediscluster_test.py): the mode comes up (a master, a
replica and three sentinels; three Redis Cluster masters), the nodes use it (their broker URL
has the mode's scheme), a message published through HAProxy reaches a subscriber on another
node, and a Ctrl-C stops everything with exit status 0 and no process left. Exits 77 (ctest:
skipped) when haproxy, redis-server or redis-cli is not installed.
"""
from cluster_support import cluster, pubsub, skip_without
from deploy_support import checks

# --redis KIND: its broker URL's scheme, and how many processes it starts beside the three
# nodes and HAProxy.
MODES = {"sentinel": ("redis-sentinel://", 5), "cluster": ("redis-cluster://", 3)}


def check_mode(mode, binary, then=None):
    """The mode's basic checks; then(c, run), if given, with the cluster still up."""
    skip_without("haproxy", "redis-server", "redis-cli")
    scheme, redis_processes = MODES[mode]
    c = checks("cluster_rediscluster_test" if mode == "cluster" else f"cluster_{mode}_test")
    with cluster(c, binary, "--redis", mode) as run:
        if run.wait_up():
            env = run.env
            c.check(env["REDIS_URL"].startswith(scheme), f"{mode}: REDIS_URL {env['REDIS_URL']}")
            c.check(len(run.pids) == redis_processes + 4, f"{mode}: PIDS {env['PIDS']}")
            c.check(f"Redis ({mode})" in run.printed(), f"{mode}: the mode was not printed")
            r = pubsub(["--sub", env["URL"], "--token", env["TOKEN"], "--distinct-nodes",
                        "--tag", f"cluster.{mode}"])
            c.check(r.returncode == 0, f"{mode}: through HAProxy failed: {r.stdout} {r.stderr}")
            if then:
                then(c, run)
            run.ctrl_c()
    c.report()

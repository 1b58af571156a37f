"""The capacity model of docs/capacity.md: what a node's core and a Redis instance spend per
event, fitted to 1-node calibration runs, and its prediction for several nodes.

Node CPU (cores) = pubs_in * pub + rx * rx_redis + deliveries * delivery
Redis CPU (cores) = publishes * redis_publish + node_messages * redis_per_node

Events (constants are CPU microseconds per event):

  pub_embedded   a node with the embedded broker takes one `pub` from a client
  pub_redis      a node with the Redis broker takes one `pub` (EVALSHA out, reply in)
  rx_redis       a node receives one message from Redis' pub/sub for its subscribers
  delivery       a node sends one message to one subscriber: the frame, the TCP send, and,
                 on loopback, the subscriber side's TCP receive, which runs on the sender's core
  redis_publish  Redis runs the publish script once (seq, stream append, expiry, PUBLISH)
  redis_per_node Redis writes one published message to one subscribed node

A constant includes the loop turns its event causes: at a low rate each publish wakes the
node from idle, which costs far more than the work itself on a virtual machine, and that
cost is shared by more events per turn as the load grows. So constants are only valid near
the per-publisher rate and fan-out they were fitted at; check calibrates and predicts at
the same ones.
"""

NODE_TERMS = ("pub_embedded", "pub_redis", "rx_redis", "delivery")
REDIS_TERMS = ("redis_publish", "redis_per_node")


def least_squares(rows, values):
    """x minimising |rows x - values| (normal equations, Gauss-Jordan with pivoting); terms
    that no row uses come out as 0."""
    n = len(rows[0])
    used = [j for j in range(n) if any(r[j] for r in rows)]
    a = [[sum(r[i] * r[j] for r in rows) for j in used] +
         [sum(r[i] * v for r, v in zip(rows, values))] for i in used]
    m = len(used)
    for col in range(m):
        pivot = max(range(col, m), key=lambda r: abs(a[r][col]))
        a[col], a[pivot] = a[pivot], a[col]
        if a[col][col] == 0:
            raise ValueError("calibration runs do not determine every constant")
        for r in range(m):
            if r != col:
                f = a[r][col] / a[col][col]
                a[r] = [x - f * y for x, y in zip(a[r], a[col])]
    x = [0.0] * n
    for k, j in enumerate(used):
        x[j] = a[k][m] / a[k][k]
    return x


def node_row(broker, node):
    """Event rates of one node (per second) in the order of NODE_TERMS."""
    return [node["pubs_in"] if broker == "embedded" else 0,
            node["pubs_in"] if broker == "redis" else 0, node["rx"], node["deliveries"]]


def redis_row(redis):
    return [redis["publishes"], redis["node_messages"]]


def calibrate(runs):
    """Constants (microseconds) from calibration runs: each has `broker`, `nodes` (a list of
    dicts with the event rates and the measured `cpu`) and, with Redis, `redis` (the same)."""
    rows, values = [], []
    for run in runs:
        for node in run["nodes"]:
            rows.append(node_row(run["broker"], node))
            values.append(node["cpu"])
    c = dict(zip(NODE_TERMS, least_squares(rows, values)))
    red = [r["redis"] for r in runs if r.get("redis")]
    c.update(zip(REDIS_TERMS, least_squares([redis_row(r) for r in red],
                                            [r["cpu"] for r in red])))
    return {k: v * 1e6 for k, v in c.items()}


def predict_node(c, broker, node):
    """CPU (cores) of a node with these event rates."""
    return sum(x * c[k] for x, k in zip(node_row(broker, node), NODE_TERMS)) / 1e6


def predict_redis(c, redis):
    return sum(x * c[k] for x, k in zip(redis_row(redis), REDIS_TERMS)) / 1e6


def events(broker, shape, nodes, rate, subs, tags=1, deliveries=None):
    """Event rates of a run's layout. `spread`: `tags` tags, one publisher on node 0 at `rate`
    in all, round robin over the tags, `subs` subscribers spread over the nodes (subscriber s
    on node s mod N, tag s mod T). `local`: each node has its own tag, a publisher at `rate`
    and `subs` subscribers. `deliveries` (measured) overrides the count for spread runs whose
    tags are not all subscribed."""
    per_node = []
    if shape == "spread":
        for k in range(nodes):
            mine = [s for s in range(k, subs, nodes)]
            covered = len({s % tags for s in mine}) / tags  # share of publishes it gets
            per_node.append({"pubs_in": rate if k == 0 else 0, "rx": rate * covered
                             if broker == "redis" else 0, "deliveries": rate * len(mine) / tags})
        if deliveries is not None and nodes == 1:
            per_node[0]["deliveries"] = deliveries
        node_messages = sum(n["rx"] for n in per_node)
        redis = {"publishes": rate, "node_messages": node_messages}
    else:
        for k in range(nodes):
            per_node.append({"pubs_in": rate, "rx": rate if broker == "redis" else 0,
                             "deliveries": rate * subs})
        redis = {"publishes": rate * nodes, "node_messages": rate * nodes}
    return per_node, (redis if broker == "redis" else None)


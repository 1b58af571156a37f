"""A few Redis commands over a plain socket (RESP2), for tests that inspect a Redis Cluster
directly (no Python Redis package in Debian's base set): CLUSTER NODES, PUBSUB SHARDCHANNELS,
INFO stats, the slot migration commands. Also the cluster key slot (CRC16-XMODEM of the
hash tag), as Redis computes it."""
import socket


def crc16(data):
    crc = 0
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc


def key_slot(key):
    """Redis Cluster's slot of `key` (str), hash tags included."""
    raw = key.encode()
    start = raw.find(b"{")
    if start >= 0:
        end = raw.find(b"}", start + 1)
        if end > start + 1:
            raw = raw[start + 1:end]
    return crc16(raw) % 16384


class RedisError(Exception):
    pass


class redis_conn:
    def __init__(self, port, timeout=10):
        self.port = port
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf = b""

    def close(self):
        self.sock.close()

    def _line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise RedisError(f"Redis on port {self.port} closed the connection")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _exact(self, n):
        while len(self.buf) < n + 2:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise RedisError(f"Redis on port {self.port} closed the connection")
            self.buf += chunk
        data, self.buf = self.buf[:n], self.buf[n + 2:]
        return data

    def _reply(self):
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            raise RedisError(rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            return None if n < 0 else self._exact(n).decode(errors="replace")
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self._reply() for _ in range(n)]
        raise RedisError(f"unexpected reply {line!r}")

    def command(self, *args):
        out = [f"*{len(args)}\r\n".encode()]
        for a in args:
            a = str(a).encode()
            out.append(b"$%d\r\n%s\r\n" % (len(a), a))
        self.sock.sendall(b"".join(out))
        return self._reply()

    def info(self, section):
        values = {}
        for line in self.command("INFO", section).splitlines():
            name, sep, value = line.partition(":")
            if sep:
                values[name] = value
        return values


def cluster_masters(port):
    """{node id: (port, [(first slot, last slot)...])} of the masters, from CLUSTER NODES."""
    conn = redis_conn(port)
    try:
        text = conn.command("CLUSTER", "NODES")
    finally:
        conn.close()
    masters = {}
    for line in text.splitlines():
        fields = line.split()
        if "master" not in fields[2].split(","):
            continue
        address = fields[1].split("@")[0]
        ranges = []
        for r in fields[8:]:
            if r.startswith("["):
                continue  # a migration in progress
            first, _, last = r.partition("-")
            ranges.append((int(first), int(last or first)))
        masters[fields[0]] = (int(address.rsplit(":", 1)[1]), ranges)
    return masters


def owner_of(masters, slot):
    for node_id, (port, ranges) in masters.items():
        if any(first <= slot <= last for first, last in ranges):
            return node_id
    return None

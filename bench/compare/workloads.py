"""The workloads every server runs: wsagent-loadgen arguments, full and --quick."""


class Workload:
    def __init__(self, key, label, scenario, args, quick_args=None):
        self.key, self.label, self.scenario = key, label, scenario
        self.args, self.quick_args = args, quick_args or []

    def loadgen_args(self, quick):
        if self.scenario == "conns":
            timing = ["--duration", "2s" if quick else "5s"]
        else:
            timing = (["--warmup", "1s", "--duration", "3s", "--drain", "2s"] if quick else
                      ["--warmup", "2s", "--duration", "10s", "--drain", "5s"])
        args = list(self.args)
        if quick:
            # Later values of an option win in wsagent-loadgen's parser.
            args += self.quick_args
        return [self.scenario] + args + timing


# Closed loop `--window 100`: each publisher keeps at most 100 messages in flight, so a
# saturated server shows as throughput, not as queues and slow-consumer kicks.
WORKLOADS = [
    Workload("sat-100", "saturation, 1 tag x 100 subs, 64 B", "fanout",
             ["--subs", "100", "--rate", "0", "--window", "100", "--size", "64"]),
    Workload("sat-100-4k", "saturation, 1 tag x 100 subs, 4 KiB", "fanout",
             ["--subs", "100", "--rate", "0", "--window", "100", "--size", "4096"]),
    Workload("sat-1k", "saturation, 1 tag x 1,000 subs, 64 B", "fanout",
             ["--subs", "1000", "--rate", "0", "--window", "100", "--size", "64"]),
    Workload("fixed-1k", "2,000 msgs/s to 1 tag x 1,000 subs, 64 B", "fanout",
             ["--subs", "1000", "--rate", "2000", "--size", "64"]),
    Workload("light-1k", "20 msgs/s to 1 tag x 1,000 subs, 64 B", "fanout",
             ["--subs", "1000", "--rate", "20", "--size", "64"]),
    Workload("idle-10k", "10,000 idle subscribed connections", "conns",
             ["--conns", "10000"], quick_args=["--conns", "2000"]),
]

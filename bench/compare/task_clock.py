"""A process's CPU time as true on-CPU time: one perf task-clock counter per thread, summed.

/proc/PID/stat's utime+stime (and schedstat) follow the scheduler's rq clock, whose update is
skipped after a wake-up preemption: when two processes share a CPU and one wakes the other,
the time from the wake-up until the other stops running is charged to the woken one. With
wsagent and Redis on one core that moved about a third of a core from the server to Redis.
task-clock counts from the context switches themselves (what `perf stat -e task-clock`
reports).

Where perf_event_open is refused (perf_event_paranoid, containers, seccomp), ProcessCpu falls
back to /proc/PID/stat and says so in `source`."""
import ctypes
import errno
import os
import platform
import struct

TASK_CLOCK = "task-clock"
PROC_STAT = "/proc/PID/stat"

_PERF_TYPE_SOFTWARE = 1
_PERF_COUNT_SW_TASK_CLOCK = 1
_PERF_ATTR_SIZE_VER0 = 64
# inherit (bit 1): threads the counted thread starts later are counted too, even short-lived
# ones (io_uring workers) that a rescan of /proc/PID/task would miss; exclude_kernel and
# exclude_hv (bits 5 and 6): needed by unprivileged users at perf_event_paranoid >= 2; they
# only filter samples, a task-clock count is the same.
_ATTR_FLAGS = (1 << 1) | (1 << 5) | (1 << 6)
_PERF_FLAG_FD_CLOEXEC = 8
_SYSCALL = {"x86_64": 298, "aarch64": 241, "riscv64": 241, "ppc64le": 319, "s390x": 331,
            "i686": 336, "armv7l": 364}.get(platform.machine())
_ATTR = struct.pack("IIQQQQQ", _PERF_TYPE_SOFTWARE, _PERF_ATTR_SIZE_VER0,
                    _PERF_COUNT_SW_TASK_CLOCK, 0, 0, 0, _ATTR_FLAGS).ljust(_PERF_ATTR_SIZE_VER0,
                                                                         b"\0")
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long


def open_task_clock(tid):
    """A task-clock counter on thread TID and the threads it starts from now on (any CPU);
    returns its fd. Raises OSError (errno from the kernel) when refused."""
    if _SYSCALL is None:
        raise OSError(errno.ENOSYS, "perf_event_open: unknown syscall number on %s" %
                      platform.machine())
    attr = ctypes.create_string_buffer(_ATTR, len(_ATTR))
    fd = _libc.syscall(_SYSCALL, attr, ctypes.c_int(tid), ctypes.c_int(-1), ctypes.c_int(-1),
                       ctypes.c_ulong(_PERF_FLAG_FD_CLOEXEC))
    if fd < 0:
        e = ctypes.get_errno()
        raise OSError(e, "perf_event_open(task-clock, tid %d): %s" % (tid, os.strerror(e)))
    return fd


def read_ns(fd):
    return struct.unpack("Q", os.read(fd, 8))[0]


def proc_stat_seconds(pid):
    """utime + stime of a process, from /proc/PID/stat (fields 14 and 15)."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS


class ProcessCpu:
    """CPU seconds of process PID since this object first read it (a running total: take
    differences). The first read opens a counter on each thread in /proc/PID/task; threads
    started later count in their starter's counter, and an exited thread's time stays in the
    sum. Once the process has exited, reads give its final total. `source` is TASK_CLOCK, or
    PROC_STAT after a refusal (`refusal` says why); close() releases the counters."""

    def __init__(self, pid, opener=open_task_clock):
        self.pid = pid
        self.source = TASK_CLOCK
        self.refusal = None  # why perf_event_open was refused, when it was
        self._open = opener
        self._fds = {}  # tid -> fd

    def seconds(self):
        if self.source == TASK_CLOCK and not self._fds:
            self._open_threads()
        if self.source == PROC_STAT:
            return proc_stat_seconds(self.pid)
        return sum(read_ns(fd) for fd in self._fds.values()) / 1e9

    def _open_threads(self):
        for name in os.listdir("/proc/%d/task" % self.pid):  # OSError when PID is gone
            try:
                self._fds[int(name)] = self._open(int(name))
            except OSError as e:
                if e.errno == errno.ESRCH:  # exited since the listing
                    continue
                self.close()
                self.refusal = str(e)
                self.source = PROC_STAT
                return

    def close(self):
        for fd in self._fds.values():
            os.close(fd)
        self._fds.clear()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

// Fork, start barrier, server sampling and merge (see coordinator.h).
#include "coordinator.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <string>
#include <vector>

#include "clock.h"
#include "report.h"
#include "worker.h"

namespace wsa::loadgen {

namespace {

// Descriptors a process needs besides its connections: ring, pipes, stdio, slack.
constexpr uint64_t fd_reserve = 64;
constexpr uint64_t conns_per_src_addr = 20000;

struct child {
  pid_t pid = -1;
  int ctrl = -1;    // parent writes control_msg
  int result = -1;  // parent reads ready_msg, then the sized run_result
  bool ready_ok = false;
};

bool read_exact(int fd, void* p, std::size_t n) {
  auto* c = static_cast<char*>(p);
  while (n > 0) {
    ssize_t r = read(fd, c, n);
    if (r < 0 && errno == EINTR) {
      continue;
    }
    if (r <= 0) {
      return false;
    }
    c += r;
    n -= static_cast<std::size_t>(r);
  }
  return true;
}

void sleep_until(uint64_t t) {
  timespec ts{static_cast<time_t>(t / ns_per_s), static_cast<long>(t % ns_per_s)};
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr) == EINTR) {
  }
}

uint64_t total_connections(const options& opt) {
  switch (opt.scenario) {
    case scenario_kind::fanout:
      return uint64_t{opt.subs} + opt.pubs;
    case scenario_kind::conns:
      return opt.subs;
    case scenario_kind::churn:
      return uint64_t{opt.concurrency} + (opt.pub_rate > 0 ? opt.pubs : 0);
  }
  return 0;
}

}  // namespace

int run_coordinator(options opt) {
  rlimit rl{};
  getrlimit(RLIMIT_NOFILE, &rl);
  rl.rlim_cur = rl.rlim_max;
  setrlimit(RLIMIT_NOFILE, &rl);
  getrlimit(RLIMIT_NOFILE, &rl);
  uint64_t budget = rl.rlim_cur > fd_reserve * 2 ? rl.rlim_cur - fd_reserve : rl.rlim_cur / 2;
  uint64_t total = total_connections(opt);
  if (opt.procs == 0) {
    opt.procs = static_cast<uint32_t>((total + budget - 1) / budget);
    if (opt.procs == 0) {
      opt.procs = 1;
    }
  } else if ((total + opt.procs - 1) / opt.procs > budget) {
    std::fprintf(stderr, "warning: %llu connections over %u processes exceeds the %llu open "
                 "files each may have; raise --procs\n", static_cast<unsigned long long>(total),
                 opt.procs, static_cast<unsigned long long>(budget));
  }
  if (opt.src_addrs == 0) {
    opt.src_addrs = static_cast<uint32_t>((total + conns_per_src_addr - 1) / conns_per_src_addr);
    if (opt.src_addrs == 0) {
      opt.src_addrs = 1;
    }
  }
  if (opt.verbose) {
    std::fprintf(stderr, "%llu connections over %u process(es), %u source address(es)\n",
                 static_cast<unsigned long long>(total), opt.procs, opt.src_addrs);
  }

  server_samples srv;
  srv.pid = opt.server_pid;
  if (srv.pid != 0) {
    srv.before = sample_process(srv.pid);
    if (!srv.before.ok) {
      std::fprintf(stderr, "error: cannot read /proc/%d (--server-pid)\n", srv.pid);
      return 1;
    }
  }

  std::fflush(stdout);
  std::fflush(stderr);
  std::vector<child> kids(opt.procs);
  for (uint32_t i = 0; i < opt.procs; ++i) {
    int ctrl[2];
    int result[2];
    if (pipe2(ctrl, O_CLOEXEC) != 0 || pipe2(result, O_CLOEXEC) != 0) {
      std::perror("pipe");
      return 1;
    }
    pid_t pid = fork();
    if (pid < 0) {
      std::perror("fork");
      return 1;
    }
    if (pid == 0) {
      close(ctrl[1]);
      close(result[0]);
      for (uint32_t j = 0; j < i; ++j) {
        close(kids[j].ctrl);
        close(kids[j].result);
      }
      int rc;
      {
        worker w(opt, i, opt.procs, ctrl[0], result[1]);
        rc = w.run();
      }
      // Connections close with the process; skip the parent's atexit work.
      _exit(rc);
    }
    close(ctrl[0]);
    close(result[1]);
    kids[i].pid = pid;
    kids[i].ctrl = ctrl[1];
    kids[i].result = result[0];
  }

  uint64_t ready = 0;
  uint64_t failed = 0;
  uint64_t subs_ready = 0;
  uint64_t pubs_ready = 0;
  std::string first_error;
  for (child& k : kids) {
    ready_msg m;
    if (read_exact(k.result, &m, sizeof m) && m.magic == ready_msg{}.magic) {
      k.ready_ok = true;
      ready += m.ready;
      failed += m.failed;
      subs_ready += m.subs_ready;
      pubs_ready += m.pubs_ready;
      if (first_error.empty()) {
        first_error.assign(m.error, strnlen(m.error, sizeof m.error));
      }
    } else {
      failed += 1;
      if (first_error.empty()) {
        first_error = "a worker process died during setup";
      }
    }
  }
  if (opt.verbose) {
    std::fprintf(stderr, "ready: %llu connections, %llu failed%s%s\n",
                 static_cast<unsigned long long>(ready), static_cast<unsigned long long>(failed),
                 first_error.empty() ? "" : "; first error: ", first_error.c_str());
  }
  bool abort = false;
  if (opt.scenario == scenario_kind::fanout && (subs_ready == 0 || (opt.pubs > 0 && pubs_ready == 0))) {
    abort = true;
  }
  if (opt.scenario == scenario_kind::conns && ready == 0) {
    abort = true;
  }
  for (const child& k : kids) {
    abort = abort || !k.ready_ok;
  }

  control_msg c;
  if (!abort) {
    c.start = now_ns() + 20 * ns_per_ms;
    c.warm_end = c.start + opt.warmup_ns;
    c.end = c.warm_end + opt.duration_ns;
  }
  for (child& k : kids) {
    if (write(k.ctrl, &c, sizeof c) != static_cast<ssize_t>(sizeof c) && !abort) {
      abort = true;
    }
  }
  if (!abort && srv.pid != 0) {
    // Its counters open at the window's start (only differences count), after the fork.
    task_clock server_cpu(srv.pid);
    sleep_until(c.warm_end);
    srv.at_start = sample_process(srv.pid, &server_cpu);
    sleep_until(c.end);
    srv.at_end = sample_process(srv.pid, &server_cpu);
  }

  run_result merged;
  bool complete = true;
  for (child& k : kids) {
    uint64_t size = 0;
    std::string body;
    run_result r;
    if (read_exact(k.result, &size, sizeof size) && size < (uint64_t{1} << 30)) {
      body.resize(size);
      if (read_exact(k.result, body.data(), size) && r.deserialize(body.data(), body.size())) {
        merged.merge(r);
        close(k.result);
        continue;
      }
    }
    complete = false;
    close(k.result);
  }
  for (child& k : kids) {
    int status = 0;
    close(k.ctrl);
    while (waitpid(k.pid, &status, 0) < 0 && errno == EINTR) {
    }
  }
  if (merged.first_error.empty()) {
    merged.first_error = first_error;
  }
  if (abort) {
    std::fprintf(stderr, "error: setup failed (%llu connections ready, %llu failed): %s\n",
                 static_cast<unsigned long long>(ready), static_cast<unsigned long long>(failed),
                 first_error.empty() ? "no subscriber or publisher ready" : first_error.c_str());
    return 1;
  }
  if (!complete) {
    std::fprintf(stderr, "error: a worker process did not report its result\n");
  }
  if (opt.json) {
    print_json(stdout, opt, merged, srv);
  } else {
    print_text(stdout, opt, merged, srv);
  }
  return complete ? 0 : 1;
}

}  // namespace wsa::loadgen

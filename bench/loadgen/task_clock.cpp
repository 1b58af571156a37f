// perf_event_open task-clock counters on another process's threads (see task_clock.h).
#include "task_clock.h"

#include <dirent.h>
#include <linux/perf_event.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <string>

namespace wsa::loadgen {

namespace {

int open_counter(int tid) {
  perf_event_attr attr{};
  attr.type = PERF_TYPE_SOFTWARE;
  attr.size = sizeof attr;
  attr.config = PERF_COUNT_SW_TASK_CLOCK;
  // Threads started later are counted too, even short-lived ones (io_uring workers).
  attr.inherit = 1;
  // Needed by unprivileged users at perf_event_paranoid >= 2; a task-clock count is the same.
  attr.exclude_kernel = 1;
  attr.exclude_hv = 1;
  return static_cast<int>(syscall(SYS_perf_event_open, &attr, tid, -1, -1,
                                  PERF_FLAG_FD_CLOEXEC));
}

}  // namespace

task_clock::~task_clock() {
  for (int fd : fds_) {
    close(fd);
  }
}

void task_clock::open_counters() {
  opened_ = true;
  std::string dir = "/proc/" + std::to_string(pid_) + "/task";
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) {
    return;
  }
  while (dirent* e = readdir(d)) {
    int tid = std::atoi(e->d_name);
    if (tid <= 0) {
      continue;
    }
    int fd = open_counter(tid);
    if (fd >= 0) {
      fds_.push_back(fd);
    } else if (errno != ESRCH) {  // refused (ESRCH: the thread ended since the listing)
      for (int open_fd : fds_) {
        close(open_fd);
      }
      fds_.clear();
      break;
    }
  }
  closedir(d);
}

bool task_clock::read_ns(uint64_t& ns) {
  if (!opened_) {
    open_counters();
  }
  if (fds_.empty()) {
    return false;
  }
  ns = 0;
  for (int fd : fds_) {
    uint64_t count = 0;
    if (read(fd, &count, sizeof count) != static_cast<ssize_t>(sizeof count)) {
      return false;
    }
    ns += count;
  }
  return true;
}

}  // namespace wsa::loadgen

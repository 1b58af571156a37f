#include "support/child_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace wsa::test {

using clock_type = std::chrono::steady_clock;

child_process::child_process(std::vector<std::string> argv) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    return;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 2);
  std::vector<char*> args;
  for (std::string& a : argv) {
    args.push_back(a.data());
  }
  args.push_back(nullptr);
  if (posix_spawn(&pid_, args[0], &actions, nullptr, args.data(), environ) != 0) {
    pid_ = -1;
  }
  posix_spawn_file_actions_destroy(&actions);
  close(fds[1]);
  out_fd_ = fds[0];
}

child_process::~child_process() {
  kill_now();
  if (out_fd_ >= 0) {
    close(out_fd_);
  }
}

void child_process::kill_now() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
}

int child_process::read_some(int timeout_ms) {
  if (out_closed_ || out_fd_ < 0) {
    return -1;
  }
  pollfd p{out_fd_, POLLIN, 0};
  if (poll(&p, 1, timeout_ms) <= 0) {
    return 0;
  }
  char buf[4096];
  const ssize_t n = read(out_fd_, buf, sizeof buf);
  if (n <= 0) {
    out_closed_ = true;
    return -1;
  }
  output_.append(buf, static_cast<std::size_t>(n));
  return 1;
}

bool child_process::wait_for(std::string_view text, std::chrono::milliseconds timeout) {
  const auto deadline = clock_type::now() + timeout;
  while (output_.find(text) == std::string::npos) {
    if (clock_type::now() > deadline || read_some(50) < 0) {
      return output_.find(text) != std::string::npos;
    }
  }
  return true;
}

int child_process::wait_exit(std::chrono::milliseconds timeout) {
  const auto deadline = clock_type::now() + timeout;
  if (pid_ <= 0) {
    return -1;
  }
  for (;;) {
    const int got = read_some(50);
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      while (read_some(0) > 0) {
      }
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    if (clock_type::now() > deadline) {
      return -1;
    }
    if (got < 0) {
      usleep(10000);  // output closed, process not reaped yet
    }
  }
}

}  // namespace wsa::test

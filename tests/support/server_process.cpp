#include "support/server_process.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>

extern char** environ;

namespace wsa::test {
namespace {

bool has_flag(const std::vector<std::string>& args, std::string_view flag) {
  for (const std::string& a : args) {
    if (a == flag || (a.size() > flag.size() && a.compare(0, flag.size(), flag) == 0 &&
                      a[flag.size()] == '=')) {
      return true;
    }
  }
  return false;
}

// Value of `key=` on a logfmt line, or empty.
std::string_view logfmt_value(std::string_view line, std::string_view key) {
  std::size_t at = 0;
  while ((at = line.find(key, at)) != std::string_view::npos) {
    const bool starts_field = at == 0 || line[at - 1] == ' ';
    const std::size_t value_at = at + key.size();
    if (starts_field && value_at < line.size() && line[value_at] == '=') {
      std::string_view value = line.substr(value_at + 1);
      return value.substr(0, value.find(' '));
    }
    at = value_at;
  }
  return {};
}

std::vector<std::string_view> lines_with(std::string_view text, std::string_view needle) {
  std::vector<std::string_view> found;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) {
      break;  // a line still being written
    }
    std::string_view line = text.substr(start, end - start);
    if (line.find(needle) != std::string_view::npos) {
      found.push_back(line);
    }
    start = end + 1;
  }
  return found;
}

unsigned to_unsigned(std::string_view text) {
  unsigned value = 0;
  std::from_chars(text.data(), text.data() + text.size(), value);
  return value;
}

}  // namespace

server_process::server_process(std::vector<std::string> args, bool pinned)
    : args_(std::move(args)) {
  if (!has_flag(args_, "--listen")) {
    args_.insert(args_.end(), {"--listen", "127.0.0.1:0"});
  }
  if (!has_flag(args_, "--shards")) {
    args_.insert(args_.end(), {"--shards", "1"});
  }
  if (!pinned && !has_flag(args_, "--no-pin")) {
    args_.push_back("--no-pin");
  }
}

server_process::~server_process() {
  if (pid_ > 0 && exit_status_ < 0) {
    // The normal way out: the drain closes what is left, LeakSanitizer checks at exit. (A
    // second SIGTERM would make the server quit at once, with status 1.)
    if (!stop_signalled_) {
      signal(SIGTERM);
    }
    const int status = wait_exit(shutdown_timeout);
    if (status < 0) {
      ::kill(pid_, SIGKILL);
      reap(0);
      ADD_FAILURE() << "wsagent did not exit within " << shutdown_timeout.count()
                    << " ms of SIGTERM (killed)";
    } else if (status != 0) {
      ADD_FAILURE() << "wsagent exited with status " << status << " after SIGTERM";
    }
  }
  if (reader_.joinable()) {
    reader_.join();  // the pipe reached EOF when the process died
  }
  if (output_fd_ >= 0) {
    ::close(output_fd_);
  }
  // A sanitizer report of the server fails the test even when every assertion held.
  for (const char* marker : {"ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                             "WARNING: ThreadSanitizer", "wsagent: fatal:"}) {
    if (output_.find(marker) != std::string::npos) {
      ADD_FAILURE() << "wsagent reported \"" << marker << "\":\n" << output_;
      break;
    }
  }
}

testing::AssertionResult server_process::start(std::chrono::milliseconds timeout) {
  // Everything the child needs is built before fork: only async-signal-safe calls after it.
  std::vector<std::string> argv_text{WSAGENT_BINARY, "serve"};
  argv_text.insert(argv_text.end(), args_.begin(), args_.end());
  std::vector<char*> argv;
  for (std::string& a : argv_text) {
    argv.push_back(a.data());
  }
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (char** e = environ; *e != nullptr; ++e) {
    if (std::strncmp(*e, "WSAGENT_", 8) != 0) {
      envp.push_back(*e);
    }
  }
  envp.push_back(nullptr);

  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    return testing::AssertionFailure() << "pipe: " << std::strerror(errno);
  }
  const pid_t parent = ::getpid();
  pid_ = ::fork();
  if (pid_ < 0) {
    ::close(fds[0]);
    ::close(fds[1]);
    return testing::AssertionFailure() << "fork: " << std::strerror(errno);
  }
  if (pid_ == 0) {
    // A crashed test binary must not leave servers behind.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) {
      ::_exit(127);
    }
    const int null_fd = ::open("/dev/null", O_RDONLY);
    ::dup2(null_fd, 0);
    ::dup2(fds[1], 1);
    ::dup2(fds[1], 2);
    if (nofile_hard_ != 0) {
      const rlimit limit{nofile_soft_, nofile_hard_};
      if (::setrlimit(RLIMIT_NOFILE, &limit) != 0) {
        ::_exit(126);
      }
    }
    ::execve(argv[0], argv.data(), envp.data());
    ::_exit(127);
  }
  ::close(fds[1]);
  output_fd_ = fds[0];
  reader_ = std::thread([this] { read_output(); });

  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::unique_lock lock(mutex_);
  for (;;) {
    const auto serving = lines_with(output_, "msg=serving");
    if (!serving.empty()) {
      shards_ = to_unsigned(logfmt_value(serving.front(), "shards"));
      epoch_ = std::string(logfmt_value(serving.front(), "epoch"));
      const auto listening = lines_with(output_, "msg=listening");
      if (shards_ > 0 && listening.size() >= shards_) {
        const std::string_view addr = logfmt_value(listening.front(), "addr");
        const std::size_t colon = addr.rfind(':');
        port_ = static_cast<uint16_t>(
            to_unsigned(colon == std::string_view::npos ? "" : addr.substr(colon + 1)));
        if (port_ == 0) {
          return testing::AssertionFailure() << "no port in the listening line:\n" << output_;
        }
        return testing::AssertionSuccess();
      }
    }
    if (output_closed_) {
      return testing::AssertionFailure() << "wsagent exited before listening:\n" << output_;
    }
    if (changed_.wait_until(lock, deadline) == std::cv_status::timeout) {
      return testing::AssertionFailure() << "wsagent not listening after " << timeout.count()
                                         << " ms:\n"
                                         << output_;
    }
  }
}

void server_process::read_output() {
  char buffer[4096];
  for (;;) {
    const ssize_t n = ::read(output_fd_, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    std::lock_guard lock(mutex_);
    if (n <= 0) {
      output_closed_ = true;
      changed_.notify_all();
      return;
    }
    output_.append(buffer, static_cast<std::size_t>(n));
    changed_.notify_all();
  }
}

std::string server_process::log() const {
  std::lock_guard lock(mutex_);
  return output_;
}

bool server_process::wait_for_log(std::string_view text, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mutex_);
  return changed_.wait_for(lock, timeout, [&] {
    return output_.find(text) != std::string::npos || output_closed_;
  }) && output_.find(text) != std::string::npos;
}

void server_process::signal(int sig) {
  if (pid_ > 0 && exit_status_ < 0) {
    ::kill(pid_, sig);
    stop_signalled_ = stop_signalled_ || sig == SIGTERM || sig == SIGINT;
  }
}

bool server_process::reap(int options) {
  int status = 0;
  pid_t got;
  do {
    got = ::waitpid(pid_, &status, options);
  } while (got < 0 && errno == EINTR);
  if (got != pid_) {
    return false;
  }
  exit_status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return true;
}

int server_process::wait_exit(std::chrono::milliseconds timeout) {
  if (pid_ <= 0) {
    return -1;
  }
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (exit_status_ < 0) {
    if (reap(WNOHANG)) {
      break;
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      return -1;
    }
    // A pidfd becomes readable when the process exits: no SIGCHLD handler needed.
    const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0));
    if (pidfd < 0) {
      std::this_thread::sleep_for(5ms);
      continue;
    }
    pollfd p{pidfd, POLLIN, 0};
    ::poll(&p, 1, static_cast<int>(left.count()));
    ::close(pidfd);
  }
  return exit_status_;
}

int server_process::stop(std::chrono::milliseconds timeout) {
  signal(SIGTERM);
  return wait_exit(timeout);
}

bool server_process::running() {
  return pid_ > 0 && exit_status_ < 0 && !reap(WNOHANG);
}

}  // namespace wsa::test

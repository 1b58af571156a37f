#include "support/redis_process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

namespace wsa::test {

uint16_t free_loopback_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  uint16_t port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0) {
    port = ntohs(a.sin_port);
  }
  ::close(fd);
  return port;
}

namespace {

// The test thread may own an io_uring ring whose completions interrupt blocking calls
// (task work is signalled like a signal; with SO_RCVTIMEO set, recv then fails with EINTR
// rather than restarting): every call here retries on EINTR.
int connect_to(uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    // Interrupted, the connection goes on in the background: wait for its outcome.
    int error = errno;
    if (error == EINTR) {
      pollfd p{fd, POLLOUT, 0};
      int n;
      while ((n = ::poll(&p, 1, 5000)) < 0 && errno == EINTR) {
      }
      socklen_t len = sizeof error;
      if (n == 1 && ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len) == 0 && error == 0) {
        return fd;
      }
    }
    ::close(fd);
    return -1;
  }
  return fd;
}

template <class Args>
void encode(std::string& out, const Args& args) {
  out += "*" + std::to_string(args.size()) + "\r\n";
  for (std::string_view a : args) {
    out += "$" + std::to_string(a.size()) + "\r\n";
    out.append(a);
    out += "\r\n";
  }
}

bool send_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      return false;
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

// One whole RESP reply at `at` as text; false if `in` does not hold all of it yet.
bool parse(const std::string& in, std::size_t& at, std::string& text) {
  const std::size_t eol = in.find("\r\n", at);
  if (at >= in.size() || eol == std::string::npos) {
    return false;
  }
  const char type = in[at];
  const std::string line = in.substr(at + 1, eol - at - 1);
  std::size_t next = eol + 2;
  if (type == '+' || type == '-' || type == ':') {
    text = type + line;
  } else if (type == '$') {
    const long len = std::strtol(line.c_str(), nullptr, 10);
    if (len < 0) {
      text = "nil";
    } else {
      if (in.size() < next + static_cast<std::size_t>(len) + 2) {
        return false;
      }
      text = "$" + in.substr(next, static_cast<std::size_t>(len));
      next += static_cast<std::size_t>(len) + 2;
    }
  } else if (type == '*') {
    const long count = std::strtol(line.c_str(), nullptr, 10);
    if (count < 0) {
      text = "nil";
    } else {
      text = "[";
      for (long i = 0; i < count; ++i) {
        std::string element;
        if (!parse(in, next, element)) {
          return false;
        }
        text += (i ? "," : "") + element;
      }
      text += "]";
    }
  } else {
    text = "?" + line;
  }
  at = next;
  return true;
}

std::string read_reply(int fd, std::string& in, std::size_t& pos) {
  for (;;) {
    std::size_t at = pos;
    std::string text;
    if (parse(in, at, text)) {
      pos = at;
      return text;
    }
    char buf[4096];
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      return {};
    }
    in.append(buf, static_cast<std::size_t>(n));
  }
}

}  // namespace

redis_process::redis_process(redis_process_options options) : options_(std::move(options)) {
  char pattern[] = "/tmp/wsa-redis-it-XXXXXX";
  const char* made = ::mkdtemp(pattern);
  dir_ = made != nullptr ? made : "";
}

redis_process::~redis_process() {
  kill();
  if (!dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
}

testing::AssertionResult redis_process::start(std::chrono::milliseconds timeout) {
  if (dir_.empty()) {
    return testing::AssertionFailure() << "mkdtemp failed";
  }
  if (pid_ > 0) {
    return testing::AssertionFailure() << "redis-server already running";
  }
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  // First start: a fresh port each attempt (a probed port may be taken meanwhile). After a
  // kill: the same port, which the dead process may just have released.
  while (std::chrono::steady_clock::now() < deadline) {
    if (!started_once_) {
      port_ = free_loopback_port();
    }
    if (spawn() && wait_ready(deadline)) {
      started_once_ = true;
      return testing::AssertionSuccess();
    }
    kill();
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return testing::AssertionFailure() << "redis-server did not answer on port " << port_
                                     << " within " << timeout.count() << " ms; log:\n"
                                     << log();
}

void redis_process::kill() {
  if (pid_ > 0) {
    // SIGKILL alone: a paused process dies without running again (a SIGCONT first let it
    // answer what it had read, racing tests that kill a frozen Redis: seen under ASan).
    ::kill(pid_, SIGKILL);
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
  }
}

void redis_process::pause() {
  if (pid_ > 0) {
    ::kill(pid_, SIGSTOP);
  }
}

void redis_process::resume() {
  if (pid_ > 0) {
    ::kill(pid_, SIGCONT);
  }
}

std::string redis_process::url() const {
  const std::string auth = options_.password.empty() ? "" : ":" + options_.password + "@";
  return "redis://" + auth + "127.0.0.1:" + std::to_string(port_);
}

std::string redis_process::config_file() const {
  const std::string path = dir_ + "/wsagent.conf";
  std::ofstream(path) << "broker = " << url() << "\n";
  return path;
}

std::string redis_process::log() const {
  std::ifstream in(dir_ + "/redis.log");
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

bool redis_process::spawn() {
  std::vector<std::string> args = {"redis-server", "--port", std::to_string(port_),
                                   "--bind", "127.0.0.1", "--save", "",
                                   "--protected-mode", "no", "--daemonize", "no",
                                   "--dir", dir_, "--logfile", dir_ + "/redis.log"};
  if (options_.appendonly) {
    args.insert(args.end(), {"--appendonly", "yes", "--appendfsync", "always"});
  } else {
    args.insert(args.end(), {"--appendonly", "no"});
  }
  if (!options_.password.empty()) {
    args.insert(args.end(), {"--requirepass", options_.password});
  }
  args.insert(args.end(), options_.extra_args.begin(), options_.extra_args.end());
  if (!options_.sentinel_config.empty()) {
    // Written once: after a restart Sentinel goes on from what it rewrote there.
    const std::string config = dir_ + "/sentinel.conf";
    if (!std::filesystem::exists(config)) {
      std::ofstream(config) << options_.sentinel_config;
    }
    args.insert(args.begin() + 1, config);
    args.emplace_back("--sentinel");
  }
  std::vector<char*> argv;
  for (std::string& a : args) {
    argv.push_back(a.data());
  }
  argv.push_back(nullptr);
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) {
    return false;
  }
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive a crashed test
    if (::getppid() != parent) {
      ::_exit(127);
    }
    const int null_fd = ::open("/dev/null", O_RDWR);
    ::dup2(null_fd, 0);
    ::dup2(null_fd, 1);
    ::dup2(null_fd, 2);
    ::execvp("redis-server", argv.data());
    ::_exit(127);
  }
  pid_ = pid;
  return true;
}

bool redis_process::wait_ready(std::chrono::steady_clock::time_point deadline) {
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;  // exited: the port was taken, or a bad argument
      return false;
    }
    // While the append-only file loads, Redis answers -LOADING; serving means PONG.
    if (command({"PING"}) == "+PONG") {
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

std::string redis_process::command(std::initializer_list<std::string_view> args) const {
  return command(std::vector<std::string_view>(args));
}

std::string redis_process::command(const std::vector<std::string_view>& args) const {
  const int fd = connect_to(port_);
  if (fd < 0) {
    return {};
  }
  std::string out;
  if (!options_.password.empty()) {
    encode(out, std::initializer_list<std::string_view>{"AUTH", options_.password});
  }
  encode(out, args);
  std::string reply;
  if (send_all(fd, out)) {
    std::string in;
    std::size_t pos = 0;
    if (!options_.password.empty()) {
      read_reply(fd, in, pos);  // the AUTH answer
    }
    reply = read_reply(fd, in, pos);
  }
  ::close(fd);
  return reply;
}

std::string loopback_list(const std::vector<std::unique_ptr<redis_process>>& processes) {
  std::string out;
  for (const auto& p : processes) {
    out += (out.empty() ? "" : ",") + std::string("127.0.0.1:") + std::to_string(p->port());
  }
  return out;
}

}  // namespace wsa::test

// A real redis-server for tests: started on a free loopback port in its own temporary
// directory, optionally with a password and append-only persistence; killed (SIGKILL,
// like a crash) or stopped and started again on the same port and directory; removed
// with its directory at the end. Also a tiny blocking client for test set-up and checks
// (FLUSHDB, SCRIPT FLUSH, CLIENT KILL, HGET ...). Header-only and free of project
// libraries, so that unit and integration tests can both use it. Test thread only.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <initializer_list>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace wsa::test {

struct redis_server_options {
  std::string password;     ///< empty: no AUTH required
  bool appendonly = false;  ///< persist with the append-only file (survives a kill)
};

class redis_server {
 public:
  using options = redis_server_options;

  explicit redis_server(options o = options()) : options_(std::move(o)) {
    char pattern[] = "/tmp/wsa-redis-XXXXXX";
    const char* made = ::mkdtemp(pattern);
    dir_ = made != nullptr ? made : "";
  }
  ~redis_server() {
    kill();
    if (!dir_.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(dir_, ec);
    }
  }
  redis_server(const redis_server&) = delete;
  redis_server& operator=(const redis_server&) = delete;

  /// Starts the server (on a fresh free port the first time, on the same port after) and
  /// waits until it answers. False if it did not come up within 10 s.
  bool start() {
    if (started_once_) {
      // Clients reconnect to the same port; the old process may just have released it.
      for (int attempt = 0; attempt < 20; ++attempt) {
        if (spawn() && wait_ready()) {
          return true;
        }
        kill();
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
      return false;
    }
    for (int attempt = 0; attempt < 5; ++attempt) {
      port_ = free_port();  // free when probed; another process may take it: retry
      if (spawn() && wait_ready()) {
        started_once_ = true;
        return true;
      }
      kill();
    }
    return false;
  }

  /// SIGKILL: a crash. Whatever is not in the append-only file is lost.
  void kill() { signal_and_reap(SIGKILL); }
  /// Freezes the process (connections stay open, nothing is answered) or thaws it.
  void pause() {
    if (pid_ > 0) {
      ::kill(pid_, SIGSTOP);
    }
  }
  void resume() {
    if (pid_ > 0) {
      ::kill(pid_, SIGCONT);
    }
  }
  bool running() const { return pid_ > 0; }

  uint16_t port() const { return port_; }
  const std::string& password() const { return options_.password; }
  const std::string& dir() const { return dir_; }
  /// redis://[:password@]127.0.0.1:port
  std::string url() const {
    std::string auth = options_.password.empty() ? "" : ":" + options_.password + "@";
    return "redis://" + auth + "127.0.0.1:" + std::to_string(port_);
  }

  /// Runs one command on a fresh connection (authenticated when there is a password) and
  /// returns the reply as text: +status, -error, :integer, $bulk, nil, [a,b,...].
  /// Empty string when the server cannot be reached.
  std::string command(std::initializer_list<std::string_view> args) const {
    const int fd = connect_to(port_);
    if (fd < 0) {
      std::fprintf(stderr, "redis_fixture: connect failed: %s\n", std::strerror(errno));
      return {};
    }
    std::string out;
    if (!options_.password.empty()) {
      encode(out, {"AUTH", options_.password});
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
      if (reply.empty()) {
        std::fprintf(stderr, "redis_fixture: no reply: %s\n", std::strerror(errno));
      }
    }
    ::close(fd);
    return reply;
  }

 private:
  static uint16_t free_port() {
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

  bool spawn() {
    std::vector<std::string> args = {"redis-server",  "--port",           std::to_string(port_),
                                     "--bind",        "127.0.0.1",        "--save",
                                     "",              "--appendonly",     options_.appendonly ? "yes" : "no",
                                     "--dir",         dir_,               "--daemonize",
                                     "no",            "--protected-mode", "no",
                                     "--logfile",     dir_ + "/redis.log"};
    if (!options_.password.empty()) {
      args.push_back("--requirepass");
      args.push_back(options_.password);
    }
    std::vector<char*> argv;
    for (std::string& a : args) {
      argv.push_back(a.data());
    }
    argv.push_back(nullptr);
    const pid_t pid = ::fork();
    if (pid < 0) {
      return false;
    }
    if (pid == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive a crashed test
      const int null = ::open("/dev/null", O_RDWR);
      ::dup2(null, 0);
      ::dup2(null, 1);
      ::dup2(null, 2);
      ::execvp("redis-server", argv.data());
      ::_exit(127);
    }
    pid_ = pid;
    return true;
  }

  bool wait_ready() {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;  // exited: the port was taken, or a bad argument
        return false;
      }
      // Any answer to PING (PONG, or NOAUTH with a password) means it is serving.
      const std::string reply = command({"PING"});
      if (reply == "+PONG") {
        return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  }

  void signal_and_reap(int sig) {
    if (pid_ > 0) {
      ::kill(pid_, SIGCONT);
      ::kill(pid_, sig);
      int status = 0;
      ::waitpid(pid_, &status, 0);
      pid_ = -1;
    }
  }

  static int connect_to(uint16_t port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    timeval tv{5, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      ::close(fd);
      return -1;
    }
    return fd;
  }

  static void encode(std::string& out, std::initializer_list<std::string_view> args) {
    out += "*" + std::to_string(args.size()) + "\r\n";
    for (std::string_view a : args) {
      out += "$" + std::to_string(a.size()) + "\r\n";
      out.append(a);
      out += "\r\n";
    }
  }

  static bool send_all(int fd, std::string_view bytes) {
    while (!bytes.empty()) {
      const ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n <= 0) {
        return false;
      }
      bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }

  // Reads until `in` holds a whole reply at `pos`; returns it as text ("" on failure).
  static std::string read_reply(int fd, std::string& in, std::size_t& pos) {
    while (true) {
      std::size_t at = pos;
      std::string text;
      if (parse(in, at, text)) {
        pos = at;
        return text;
      }
      char buf[4096];
      const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) {
        return {};
      }
      in.append(buf, static_cast<std::size_t>(n));
    }
  }

  static bool parse(const std::string& in, std::size_t& at, std::string& text) {
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

  options options_;
  std::string dir_;
  uint16_t port_ = 0;
  pid_t pid_ = -1;
  bool started_once_ = false;
};

}  // namespace wsa::test

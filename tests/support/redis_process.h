// A real redis-server for integration tests (after tests/unit/broker/redis_fixture.h): started
// on a free loopback port in its own temporary directory, optionally with a password and
// append-only persistence (appendfsync always, so an acknowledged write survives SIGKILL);
// killed like a crash and started again on the same port and directory; killed and removed
// with its directory on every path (RAII). Also writes a wsagent config file naming it, so
// that the password stays off the command line, and runs one-off commands for checks.
// Test thread only.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

namespace wsa::test {

struct redis_process_options {
  std::string password;     ///< empty: no AUTH required
  bool appendonly = false;  ///< append-only file, fsync'd on every write
  std::vector<std::string> extra_args;  ///< more "--name value" settings
  /// Non-empty: runs as a Sentinel with this configuration (written to dir()/sentinel.conf,
  /// which Sentinel rewrites as it learns).
  std::string sentinel_config;
};

/// A loopback TCP port that was free a moment ago.
uint16_t free_loopback_port();

class redis_process {
 public:
  explicit redis_process(redis_process_options options = {});
  ~redis_process();
  redis_process(const redis_process&) = delete;
  redis_process& operator=(const redis_process&) = delete;

  /// Starts the server (on a free port the first time, on the same port after a kill) and
  /// waits until it answers PING. Use as ASSERT_TRUE(redis.start()).
  testing::AssertionResult start(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  /// SIGKILL and reap: a crash. Whatever is not in the append-only file is lost.
  void kill();
  /// SIGSTOP / SIGCONT: a frozen server keeps its connections open and answers nothing.
  void pause();
  void resume();
  bool running() const { return pid_ > 0; }

  uint16_t port() const { return port_; }
  const std::string& dir() const { return dir_; }
  /// redis://[:password@]127.0.0.1:port
  std::string url() const;
  /// A wsagent config file in dir() holding `broker = url()`, for `serve --config`.
  std::string config_file() const;
  /// The server's own log (redis.log in dir()), for failure messages.
  std::string log() const;

  /// Runs one command on a fresh connection (authenticated when there is a password); the
  /// reply as text: +status, -error, :integer, $bulk, nil, [a,b,...]; empty when the server
  /// cannot be reached.
  std::string command(std::initializer_list<std::string_view> args) const;
  std::string command(const std::vector<std::string_view>& args) const;

 private:
  bool spawn();
  bool wait_ready(std::chrono::steady_clock::time_point deadline);

  redis_process_options options_;
  std::string dir_;
  uint16_t port_ = 0;
  pid_t pid_ = -1;
  bool started_once_ = false;
};

/// "127.0.0.1:P1,127.0.0.1:P2,...": the processes' addresses, as a list of seeds.
std::string loopback_list(const std::vector<std::unique_ptr<redis_process>>& processes);

}  // namespace wsa::test

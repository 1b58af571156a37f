// Runs the real wsagent binary for a test: `wsagent serve` on a free loopback port, its
// stderr kept for assertions, killed on every path (RAII), also when an assertion fails.
#pragma once

#include <gtest/gtest.h>
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <csignal>
#include <condition_variable>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace wsa::test {

using namespace std::chrono_literals;

class server_process {
 public:
  /// `args` follow `serve`. Added unless given: --listen 127.0.0.1:0, --shards 1 (tests want
  /// a known shard count), and always --no-pin (the machine is shared). WSAGENT_* variables
  /// of the test's environment are not passed on, so only `args` configure the server.
  explicit server_process(std::vector<std::string> args);
  server_process(const server_process&) = delete;
  server_process& operator=(const server_process&) = delete;
  /// SIGKILL if still running. Fails the current test if the server's output holds a
  /// sanitizer report or a failed check.
  ~server_process();

  /// Starts the process with this RLIMIT_NOFILE (as `prlimit --nofile=SOFT:HARD` would).
  /// Call before start().
  void limit_open_files(uint64_t soft, uint64_t hard) {
    nofile_soft_ = soft;
    nofile_hard_ = hard;
  }

  /// Starts the process and waits until every shard logged `listening`. On failure the
  /// result carries the log; use as ASSERT_TRUE(server.start()).
  testing::AssertionResult start(std::chrono::milliseconds timeout = 10s);

  uint16_t port() const { return port_; }
  unsigned shards() const { return shards_; }
  pid_t pid() const { return pid_; }
  /// The `epoch` of the `serving` line (the embedded broker's epoch).
  const std::string& epoch() const { return epoch_; }

  /// Everything the process wrote to stderr and stdout so far.
  std::string log() const;
  /// Waits until the log contains `text`; false on timeout.
  bool wait_for_log(std::string_view text, std::chrono::milliseconds timeout = 5s) const;

  /// Sends a signal (SIGTERM by default) without waiting.
  void signal(int sig = SIGTERM) const;
  /// Waits for the process to exit: its exit status (0..255), 128+N for a signal N, or -1
  /// on timeout (the process then keeps running; the destructor kills it).
  int wait_exit(std::chrono::milliseconds timeout);
  /// SIGTERM then wait_exit(timeout).
  int stop(std::chrono::milliseconds timeout = 10s);
  bool running();

 private:
  void read_output();  // the reader thread: drains the pipe so the server never blocks on it
  bool reap(int options);

  std::vector<std::string> args_;
  uint64_t nofile_soft_ = 0;  // 0: inherited
  uint64_t nofile_hard_ = 0;
  pid_t pid_ = -1;
  int exit_status_ = -1;
  uint16_t port_ = 0;
  unsigned shards_ = 0;
  std::string epoch_;
  int output_fd_ = -1;
  std::thread reader_;
  mutable std::mutex mutex_;
  mutable std::condition_variable changed_;
  std::string output_;  // guarded by mutex_
  bool output_closed_ = false;
};

}  // namespace wsa::test

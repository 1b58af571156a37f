// Runs the real wsagent binary for a test: `wsagent serve` on a free loopback port, its
// stderr kept for assertions, stopped on every path (RAII), also when an assertion fails.
// A server still running at the end is stopped the way an operator stops it (SIGTERM, the
// drain) and must exit 0 with no sanitizer report: that is what lets LeakSanitizer check
// every server of the sanitizer build. SIGKILL is the fallback for a server that does not
// stop in time, and fails the test.
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
  /// a known shard count), and --no-pin (the machine is shared) unless `pinned` (the default
  /// CPU pinning under test). WSAGENT_* variables of the test's environment are not passed
  /// on, so only `args` configure the server.
  explicit server_process(std::vector<std::string> args, bool pinned = false);
  server_process(const server_process&) = delete;
  server_process& operator=(const server_process&) = delete;
  /// If still running: SIGTERM, and the test fails unless the server exits 0 within
  /// shutdown_timeout (then it is SIGKILLed). Fails the current test if the server's output
  /// holds a sanitizer report or a failed check.
  ~server_process();

  /// Starts the process with this RLIMIT_NOFILE (as `prlimit --nofile=SOFT:HARD` would).
  /// Call before start().
  void limit_open_files(uint64_t soft, uint64_t hard) {
    nofile_soft_ = soft;
    nofile_hard_ = hard;
  }
  /// How long the destructor waits for a SIGTERMed server (its drain included).
  static constexpr std::chrono::milliseconds shutdown_timeout = 30s;

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
  void signal(int sig = SIGTERM);
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
  bool stop_signalled_ = false;  // SIGTERM or SIGINT sent: draining
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

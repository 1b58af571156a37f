// A program run by a test (an MQTT client nobody here wrote: mosquitto_pub, mosquitto_sub,
// python3 with paho): stdout and stderr in one pipe, read as it comes, so a test can wait for
// a line; killed (SIGKILL) and reaped on every path, also when an assertion fails. Every
// wait is bounded.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

namespace wsa::test {

class child_process {
 public:
  /// Starts argv[0] (a path) with the test's environment; started() says whether it ran.
  explicit child_process(std::vector<std::string> argv);
  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;
  ~child_process();

  bool started() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }

  /// Reads output until it contains `text` (true) or the timeout passes, or the child closes
  /// its output (false).
  bool wait_for(std::string_view text, std::chrono::milliseconds timeout);
  /// Waits for the exit, reading output meanwhile: its exit status, 128+N for a signal N,
  /// or -1 on timeout (the child keeps running until the destructor).
  int wait_exit(std::chrono::milliseconds timeout);
  void kill_now();

  /// Everything it wrote so far.
  const std::string& output() const { return output_; }

 private:
  /// 1: read bytes; 0: none within the timeout; -1: the output is closed.
  int read_some(int timeout_ms);

  pid_t pid_ = -1;
  int out_fd_ = -1;
  bool out_closed_ = false;
  std::string output_;
};

}  // namespace wsa::test

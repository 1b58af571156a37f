// A loopback TCP connection with poll-based timeouts: the transport under the HTTP and
// WebSocket test clients. Failures the test did not ask about throw std::runtime_error
// (gtest reports them as test failures).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace wsa::test {

using namespace std::chrono_literals;

/// Time until `deadline`, never negative: what a timeout argument gets when several waits
/// share one deadline.
std::chrono::milliseconds left_until(std::chrono::steady_clock::time_point deadline);

class tcp_socket {
 public:
  enum class read_status { data, eof, timeout };

  /// Connects to 127.0.0.1:port; throws on failure.
  static tcp_socket connect(uint16_t port, std::chrono::milliseconds timeout = 5s);
  /// Connects; on failure returns a socket with !is_open() and errno-style code in `error`.
  static tcp_socket try_connect(uint16_t port, int& error,
                                std::chrono::milliseconds timeout = 5s);

  tcp_socket() = default;
  tcp_socket(tcp_socket&& other) noexcept;
  tcp_socket& operator=(tcp_socket&& other) noexcept;
  tcp_socket(const tcp_socket&) = delete;
  tcp_socket& operator=(const tcp_socket&) = delete;
  ~tcp_socket();

  bool is_open() const { return fd_ >= 0; }
  int fd() const { return fd_; }

  /// Sends every byte; throws if the peer is gone or the timeout passes.
  void send_all(std::string_view bytes, std::chrono::milliseconds timeout = 5s);
  /// Sends every byte; false (no throw) if the peer closed or reset the connection.
  bool try_send_all(std::string_view bytes, std::chrono::milliseconds timeout = 5s);
  /// Appends what arrives within the timeout (at least one byte) to `into`. A reset by the
  /// peer counts as eof.
  read_status read_some(std::string& into, std::chrono::milliseconds timeout);
  /// Reads and discards until the peer closes; false if it did not within the timeout.
  bool wait_eof(std::chrono::milliseconds timeout, std::string* received = nullptr);
  void shutdown_write();
  /// Shrinks the kernel receive buffer (set before connecting data flows; slow readers).
  void set_receive_buffer(int bytes);
  void close();
  /// Closes with a reset (SO_LINGER 0) instead of a FIN: a client that vanishes.
  void reset();

 private:
  explicit tcp_socket(int fd) : fd_(fd) {}
  int fd_ = -1;
};

}  // namespace wsa::test

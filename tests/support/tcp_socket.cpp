#include "support/tcp_socket.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace wsa::test {

std::chrono::milliseconds left_until(std::chrono::steady_clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
  return std::max(left, std::chrono::milliseconds(0));
}

namespace {

using clock_type = std::chrono::steady_clock;

int millis_left(clock_type::time_point deadline) {
  return static_cast<int>(left_until(deadline).count());
}

// Waits for `events` on fd until the deadline; false on timeout.
bool wait_for(int fd, short events, clock_type::time_point deadline) {
  for (;;) {
    pollfd p{fd, events, 0};
    const int n = ::poll(&p, 1, millis_left(deadline));
    if (n > 0) {
      return true;
    }
    if (n == 0) {
      return false;
    }
    if (errno != EINTR) {
      throw std::runtime_error(std::string("poll: ") + std::strerror(errno));
    }
  }
}

}  // namespace

tcp_socket tcp_socket::try_connect(uint16_t port, int& error, std::chrono::milliseconds timeout) {
  error = 0;
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    error = errno;
    return tcp_socket();
  }
  tcp_socket s(fd);
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    return s;
  }
  if (errno != EINPROGRESS) {
    error = errno;
    return tcp_socket();
  }
  if (!wait_for(fd, POLLOUT, clock_type::now() + timeout)) {
    error = ETIMEDOUT;
    return tcp_socket();
  }
  int so_error = 0;
  socklen_t length = sizeof so_error;
  ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &length);
  if (so_error != 0) {
    error = so_error;
    return tcp_socket();
  }
  return s;
}

tcp_socket tcp_socket::connect(uint16_t port, std::chrono::milliseconds timeout) {
  int error = 0;
  tcp_socket s = try_connect(port, error, timeout);
  if (!s.is_open()) {
    throw std::runtime_error("connect to 127.0.0.1:" + std::to_string(port) + ": " +
                             std::strerror(error));
  }
  return s;
}

tcp_socket::tcp_socket(tcp_socket&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }

tcp_socket& tcp_socket::operator=(tcp_socket&& other) noexcept {
  if (this != &other) {
    close();
    fd_ = other.fd_;
    other.fd_ = -1;
  }
  return *this;
}

tcp_socket::~tcp_socket() { close(); }

void tcp_socket::close() {
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
}

bool tcp_socket::try_send_all(std::string_view bytes, std::chrono::milliseconds timeout) {
  const auto deadline = clock_type::now() + timeout;
  while (!bytes.empty()) {
    const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n > 0) {
      bytes.remove_prefix(static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (!wait_for(fd_, POLLOUT, deadline)) {
        throw std::runtime_error("send: timed out with " + std::to_string(bytes.size()) +
                                 " bytes unsent");
      }
      continue;
    }
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0 && (errno == EPIPE || errno == ECONNRESET)) {
      return false;
    }
    throw std::runtime_error(std::string("send: ") + std::strerror(errno));
  }
  return true;
}

void tcp_socket::send_all(std::string_view bytes, std::chrono::milliseconds timeout) {
  if (!try_send_all(bytes, timeout)) {
    throw std::runtime_error("send: the server closed the connection");
  }
}

tcp_socket::read_status tcp_socket::read_some(std::string& into,
                                              std::chrono::milliseconds timeout) {
  const auto deadline = clock_type::now() + timeout;
  char buffer[16384];
  for (;;) {
    const ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
    if (n > 0) {
      into.append(buffer, static_cast<std::size_t>(n));
      return read_status::data;
    }
    if (n == 0 || errno == ECONNRESET) {
      return read_status::eof;
    }
    if (errno == EINTR) {
      continue;
    }
    if (errno != EAGAIN && errno != EWOULDBLOCK) {
      throw std::runtime_error(std::string("recv: ") + std::strerror(errno));
    }
    if (!wait_for(fd_, POLLIN, deadline)) {
      return read_status::timeout;
    }
  }
}

bool tcp_socket::wait_eof(std::chrono::milliseconds timeout, std::string* received) {
  const auto deadline = clock_type::now() + timeout;
  std::string sink;
  for (;;) {
    std::string& into = received != nullptr ? *received : sink;
    switch (read_some(into, std::chrono::milliseconds(millis_left(deadline)))) {
      case read_status::eof:
        return true;
      case read_status::timeout:
        return false;
      case read_status::data:
        if (received == nullptr) {
          sink.clear();
        }
        break;
    }
  }
}

void tcp_socket::reset() {
  if (fd_ >= 0) {
    const linger abort_on_close{1, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &abort_on_close, sizeof abort_on_close);
    close();
  }
}

void tcp_socket::shutdown_write() { ::shutdown(fd_, SHUT_WR); }

void tcp_socket::set_receive_buffer(int bytes) {
  ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof bytes);
}

}  // namespace wsa::test

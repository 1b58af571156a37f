#include "support/abuse.h"

#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <exception>
#include <stdexcept>
#include <thread>

#include "support/http_client.h"
#include "support/metrics_reader.h"
#include "support/process_probe.h"

namespace wsa::test {

flood_result flood(tcp_socket& socket, std::string_view unit, std::size_t max_bytes,
                   std::chrono::milliseconds max_time, std::chrono::milliseconds stall) {
  using clock = std::chrono::steady_clock;
  std::string batch;
  while (batch.size() < 64 * 1024) {
    batch.append(unit);
  }
  flood_result result;
  const auto end = clock::now() + max_time;
  auto last_progress = clock::now();
  std::size_t offset = 0;  // into batch: units are never cut between two sends
  while (result.bytes < max_bytes && clock::now() < end) {
    const std::size_t want = std::min(batch.size() - offset, max_bytes - result.bytes);
    const ssize_t n = ::send(socket.fd(), batch.data() + offset, want, MSG_NOSIGNAL);
    if (n > 0) {
      result.bytes += static_cast<std::size_t>(n);
      offset = (offset + static_cast<std::size_t>(n)) % batch.size();
      last_progress = clock::now();
      continue;
    }
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0 && (errno == EPIPE || errno == ECONNRESET)) {
      result.closed = true;
      break;
    }
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
      throw std::runtime_error(std::string("flood: send: ") + std::strerror(errno));
    }
    if (clock::now() - last_progress >= stall) {
      result.stalled = true;
      break;
    }
    pollfd p{socket.fd(), POLLOUT, 0};
    ::poll(&p, 1, 20);
  }
  return result;
}

bystander::bystander(uint16_t port, const ws_options& options)
    : client_(ws_client::connect(port, options)) {}

void bystander::round_trip(std::chrono::milliseconds timeout) {
  const int id = ++answered_;
  const json_message answer =
      client_.call(R"({"op":"ping","id":)" + std::to_string(id) + "}", timeout);
  if (answer.op() != "ok") {
    throw std::runtime_error("bystander's ping got " + answer.text());
  }
}

int keep_pinging_during(bystander& by, const std::function<void()>& attack,
                        std::chrono::milliseconds every) {
  std::atomic<bool> done{false};
  std::exception_ptr failure;
  std::thread attacker([&] {
    try {
      attack();
    } catch (...) {
      failure = std::current_exception();
    }
    done.store(true);
  });
  int trips = 0;
  try {
    do {
      by.round_trip();
      ++trips;
      std::this_thread::sleep_for(every);
    } while (!done.load());
  } catch (...) {
    attacker.join();
    throw;
  }
  attacker.join();
  if (failure) {
    std::rethrow_exception(failure);
  }
  return trips;
}

answer_counts count_answers(ws_client& c, int n, std::string_view refusal) {
  answer_counts counts;
  while (counts.ok + counts.refused < n) {
    const json_message m = c.next_json();
    if (m.op() == "ok") {
      ++counts.ok;
    } else if (m.op() == "err") {
      if (m.str("/code") != refusal) {
        throw std::runtime_error("unexpected answer " + m.text());
      }
      ++counts.refused;
    }
  }
  return counts;
}

double grown_mib(pid_t pid, int64_t base_kib) {
  return static_cast<double>(rss_kib(pid) - base_kib) / 1024.0;
}

namespace {

// The exposition text, which must hold metric `name` (a misspelt name would read as 0).
std::string metrics_with(uint16_t port, std::string_view name) {
  std::string text = http_get(port, "/metrics").body;
  if (text.find(std::string(name) + "{") == std::string::npos) {
    throw std::runtime_error("no metric " + std::string(name));
  }
  return text;
}

}  // namespace

uint64_t metric(uint16_t port, std::string_view name, unsigned shard) {
  return metric_of_shard(metrics_with(port, name), name, shard);
}

uint64_t metric_total(uint16_t port, std::string_view name) {
  return metric_sum_in(metrics_with(port, name), name);
}

}  // namespace wsa::test

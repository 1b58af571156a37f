#include "server/node.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <latch>
#include <thread>

#include "obs/log.h"
#include "server/fd_limit.h"
#include "server/listen_address.h"
#include "server/shard.h"
#include "util/check.h"
#include "util/clock.h"
#include "util/hex.h"

namespace wsa {
namespace {

std::string random_hex(std::size_t bytes) {
  unsigned char raw[16];
  WSA_CHECK(bytes <= sizeof raw);
  WSA_CHECK(getrandom(raw, bytes, 0) == static_cast<ssize_t>(bytes), "getrandom");
  std::string out;
  append_hex(out, raw, bytes);
  return out;
}

std::vector<int> allowed_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  std::vector<int> cpus;
  if (sched_getaffinity(0, sizeof set, &set) == 0) {
    for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
      if (CPU_ISSET(cpu, &set)) {
        cpus.push_back(cpu);
      }
    }
  }
  if (cpus.empty()) {
    cpus.push_back(0);
  }
  return cpus;
}

// A record must fit in half the ring; frames are bounded by the message size limit. Tests
// may make the rings smaller (WSA_TEST_MAILBOX_BYTES, read and checked in cli/serve.cpp).
std::size_t mailbox_capacity(const config& cfg) {
  std::size_t capacity = std::size_t{1} << 20;
  while (capacity < 4 * (std::size_t{cfg.max_message_bytes} + 4096)) {
    capacity *= 2;
  }
  if (cfg.test_mailbox_bytes != 0 && cfg.test_mailbox_bytes <= capacity) {
    capacity = static_cast<std::size_t>(cfg.test_mailbox_bytes);
    WSA_LOG(warn, "test setting: mailbox rings shrunk")
        .kv("bytes", static_cast<int64_t>(capacity));
  }
  return capacity;
}

}  // namespace

node::node(config cfg, key_set keys)
    : cfg_(std::move(cfg)), keys_(std::move(keys)), epoch_(random_hex(4)) {
  node_id_ = cfg_.node_id;
  if (node_id_.empty()) {
    char host[256] = {};
    node_id_ = gethostname(host, sizeof host - 1) == 0 && host[0] ? host : "wsagent";
  }
  if (cfg_.shards == 0) {
    cfg_.shards = static_cast<unsigned>(allowed_cpus().size());
  }
}

node::~node() {
  for (int fd : listen_fds_) {
    if (fd >= 0) {
      ::close(fd);
    }
  }
  for (int fd : mqtt_listen_fds_) {
    if (fd >= 0) {
      ::close(fd);
    }
  }
}

bool node::brokers_ready() const {
  for (const auto& s : shards_) {
    if (!s->broker_ready()) {
      return false;
    }
  }
  return true;
}

bool node::shards_quiet() const {
  for (const auto& s : shards_) {
    if (!s->quiet()) {
      return false;
    }
  }
  return true;
}

std::vector<const shard_metrics*> node::metrics() const {
  std::vector<const shard_metrics*> out;
  for (const auto& s : shards_) {
    out.push_back(&s->metrics());
  }
  return out;
}

bool node::bind_listeners(std::string& error) {
  if (!bind_listener_set(cfg_.listen, listen_fds_, bound_address_, error)) {
    return false;
  }
  return !cfg_.mqtt_tcp ||
         bind_listener_set(cfg_.mqtt_listen, mqtt_listen_fds_, mqtt_bound_address_, error);
}

bool node::bind_listener_set(const listen_endpoint& endpoint, std::vector<int>& fds,
                             std::string& bound_text, std::string& error) {
  listen_address address;
  if (!resolve_listen_address(endpoint, address, error)) {
    return false;
  }
  for (unsigned i = 0; i < cfg_.shards; ++i) {
    const int fd = ::socket(address.storage.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      error = std::string("socket: ") + std::strerror(errno);
      return false;
    }
    fds.push_back(fd);
    int one = 1;
    // One listener per shard on the same port: the kernel spreads connections.
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    if (::bind(fd, reinterpret_cast<const sockaddr*>(&address.storage), address.length) != 0) {
      error = "bind " + endpoint.text() + ": " + std::strerror(errno);
      return false;
    }
    if (::listen(fd, 4096) != 0) {
      error = std::string("listen: ") + std::strerror(errno);
      return false;
    }
    if (i == 0) {
      // Port 0 means "any free port": the other shards must share the one we got.
      sockaddr_storage bound{};
      socklen_t length = sizeof bound;
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &length);
      address.storage = bound;
      address.length = length;
      bound_text = format_address(bound);
    }
  }
  return true;
}

bool node::prepare_broker(std::string& error) {
  if (cfg_.broker.type == broker_url::kind::embedded) {
    return true;
  }
  auto options = std::make_unique<redis_broker_options>();
  const redis_endpoint& endpoint = cfg_.broker.redis;
  if (cfg_.broker.type == broker_url::kind::redis_cluster) {
    // Seeds are resolved once here; the nodes they announce must be numeric addresses.
    cluster_options& c = options->cluster.emplace();
    for (const redis_host& h : cfg_.broker.hosts) {
      if (!resolve_redis_address(h.host, h.port, c.seeds.emplace_back(), error)) {
        return false;
      }
    }
  } else if (cfg_.broker.type == broker_url::kind::redis_sentinel) {
    // Sentinels are resolved once here; the masters they name must be numeric addresses.
    sentinel_options& s = options->sentinel.emplace();
    for (const redis_host& h : cfg_.broker.hosts) {
      if (!resolve_redis_address(h.host, h.port, s.sentinels.emplace_back(), error)) {
        return false;
      }
    }
    s.master_name = cfg_.broker.master_name;
  } else if (!resolve_redis_address(endpoint.host, endpoint.port, options->link.address,
                                    error)) {
    return false;
  }
  options->link.username = endpoint.username;
  options->link.password = endpoint.password;
  options->link.auth = endpoint.has_password;
  options->link.db = endpoint.db;
  options->link.max_reply_bytes = cfg_.redis_max_reply_bytes;  // checked in cli/serve.cpp
  options->history_size = cfg_.history_size;
  options->history_max_age_s = cfg_.history_max_age_s;
  options->key_ttl_s = cfg_.redis_key_ttl_s;
  options->max_patterns = cfg_.redis_max_patterns;
  options->max_data_bytes = cfg_.max_message_bytes;
  options->max_backlog_bytes = cfg_.max_broker_backlog;
  if (options->cluster) {
    options->cluster->link = options->link;  // credentials, timeouts, backoff
    if (cfg_.redis_wait_replicas != 0) {
      error = "--redis-wait-replicas is not served on redis-cluster:// yet";
      return false;
    }
  }
  options->wait_replicas = cfg_.redis_wait_replicas;
  options->wait_timeout_ms = cfg_.redis_wait_timeout_ms;
  options->idem_window_ms = cfg_.idempotency_window_ms;
  options->max_recovery_tags = cfg_.max_recovery_tags;
  options->presence_node = node_id_ + "/" + epoch_;
  options->presence_ttl_ms = cfg_.presence_ttl_ms;
  options->session_held_ttl_ms = cfg_.test_mqtt_held_ttl_ms;
  redis_ = std::move(options);
  return true;
}

int node::run() {
  std::string error;
  if (!prepare_broker(error)) {
    WSA_LOG(error, "bad broker").kv("broker", cfg_.broker.shown).kv("error", error);
    return 2;
  }
  if (!cfg_.static_dir.empty()) {
    auto files = std::make_unique<static_files>();
    if (!files->load(cfg_.static_dir, error)) {
      WSA_LOG(error, "cannot serve static files").kv("error", error);
      return 2;
    }
    WSA_LOG(info, "static files")
        .kv("dir", cfg_.static_dir)
        .kv("files", static_cast<int64_t>(files->file_count()))
        .kv("bytes", static_cast<int64_t>(files->total_bytes()));
    web_files_ = std::move(files);
  }
  const fd_limit_report fds = raise_fd_limit(cfg_.max_connections, cfg_.shards);
  if (fds.known && fds.soft != fds.soft_before) {
    WSA_LOG(info, "open-file limit raised").kv("from", fds.soft_before).kv("to", fds.soft);
  }
  if (fds.known && fds.soft < fds.needed) {
    WSA_LOG(warn,
            "the open-file limit is below what --max-connections needs: past it, new "
            "connections wait in the kernel until descriptors free up (raise the hard limit, "
            "e.g. LimitNOFILE= or ulimit -Hn, or lower --max-connections)")
        .kv("limit", fds.soft)
        .kv("needed", fds.needed)
        .kv("max_connections", cfg_.max_connections);
  }
  if (!bind_listeners(error)) {
    WSA_LOG(error, "cannot listen").kv("error", error);
    return 1;
  }
  const unsigned count = cfg_.shards;
  const std::size_t capacity = mailbox_capacity(cfg_);
  for (unsigned from = 0; from < count; ++from) {
    for (unsigned to = 0; to < count; ++to) {
      mailboxes_.push_back(from == to ? nullptr : std::make_unique<mailbox>(capacity));
    }
  }
  for (unsigned i = 0; i < count; ++i) {
    const int mqtt_fd = cfg_.mqtt_tcp ? mqtt_listen_fds_[i] : -1;
    shards_.push_back(std::make_unique<shard>(*this, i, listen_fds_[i], mqtt_fd));
    listen_fds_[i] = -1;  // the shard owns them now
    if (cfg_.mqtt_tcp) {
      mqtt_listen_fds_[i] = -1;
    }
  }

  // Signals are taken by this thread only (sigwait); shards inherit the blocked mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  const std::vector<int> cpus = allowed_cpus();
  const bool pin = cfg_.pin_shards && count <= cpus.size();
  std::latch ready(count);
  std::atomic<int> failed{0};
  std::atomic<unsigned> running{count};
  std::vector<std::thread> threads;
  for (unsigned i = 0; i < count; ++i) {
    threads.emplace_back([&, i] {
      shard& s = *shards_[i];
      std::string init_error;
      if (!s.init(init_error)) {
        WSA_LOG(error, "shard failed to start").kv("error", init_error);
        failed.fetch_add(1);
      }
      ready.count_down();
      ready.wait();  // every ring exists before anyone rings a doorbell
      if (failed.load() == 0) {
        // One line per shard, in a fixed form that scripts and tests read.
        log_line line(log_level::info, "listening");
        line.kv("addr", bound_address_);
        if (cfg_.mqtt_tcp) {
          line.kv("mqtt", mqtt_bound_address_);
        }
        if (pin) {
          line.kv("cpu", cpus[i]);
        }
      }
      if (failed.load() == 0) {
        s.run();
      }
      running.fetch_sub(1);
    });
    if (pin) {
      cpu_set_t set;
      CPU_ZERO(&set);
      CPU_SET(cpus[i], &set);
      pthread_setaffinity_np(threads.back().native_handle(), sizeof set, &set);
    }
  }
  ready.wait();
  if (failed.load() != 0) {
    for (auto& t : threads) {
      t.join();
    }
    return 1;
  }
  WSA_LOG(info, "serving")
      .kv("node", node_id_)
      .kv("shards", count)
      .kv("broker", cfg_.broker.shown)
      .kv("auth", cfg_.no_auth ? "off" : "on")
      .kv("epoch", epoch_);

  // Wait for a signal, or for every shard to have stopped on its own.
  // The first signal turns /readyz to 503; after SIGTERM (what orchestrators send) the drain
  // begins --drain-delay later, after SIGINT (a Ctrl-C: no balancer to wait for) at once.
  int64_t drain_at = -1;
  while (running.load() > 0) {
    timespec wait{0, 100 * 1000 * 1000};
    const int sig = sigtimedwait(&signals, nullptr, &wait);
    if (sig > 0) {
      if (drain_at >= 0) {
        WSA_LOG(warn, "second signal: exiting now");
        std::_Exit(1);
      }
      const uint32_t delay = sig == SIGTERM ? cfg_.drain_delay_ms : 0;
      drain_at = monotonic_ms() + delay;
      leaving.store(true);
      if (delay != 0) {
        WSA_LOG(info, "leaving: /readyz answers 503, draining after the delay")
            .kv("signal", sig)
            .kv("delay_ms", delay);
      }
    }
    if (drain_at >= 0 && !draining.load() && monotonic_ms() >= drain_at) {
      WSA_LOG(info, "draining").kv("deadline_ms", cfg_.drain_timeout_ms);
      draining.store(true);
    }
  }
  for (auto& t : threads) {
    t.join();
  }
  WSA_LOG(info, "stopped");
  return 0;
}

}  // namespace wsa

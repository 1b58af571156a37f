// Worker lifecycle and loop turn (see worker.h).
#include "worker.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>

#include "clock.h"
#include "mqtt_codec.h"
#include "payload.h"
#include "proc_stats.h"

namespace wsa::loadgen {

namespace {

constexpr uint64_t tick_ns = 100 * ns_per_ms;

bool write_all(int fd, const char* p, std::size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) {
        continue;
      }
      return false;
    }
    p += w;
    n -= static_cast<std::size_t>(w);
  }
  return true;
}

}  // namespace

worker::worker(const options& opt, uint32_t index, uint32_t count, int ctrl_fd, int result_fd)
    : opt_(opt), index_(index), count_(count), ctrl_fd_(ctrl_fd), result_fd_(result_fd) {}

bool worker::prepare(std::string& err) {
  if (!ring_.init(4096, opt_.recv_bufs, opt_.recv_buf_size, err)) {
    return false;
  }
  tag_names_.reserve(opt_.tags);
  pub_tail_.reserve(opt_.tags);
  for (uint32_t t = 0; t < opt_.tags; ++t) {
    std::string tag = opt_.tag_prefix + std::to_string(t);
    pub_tail_.push_back("\"tag\":\"" + tag + "\",\"data\":");
    msg_prefix_.push_back(msg_prefix(tag));
    if (opt_.proto != proto_kind::wsagent) {
      tag_to_topic(tag.data(), tag.size());
    }
    tag_names_.push_back(std::move(tag));
  }
  if (opt_.proto == proto_kind::wsagent && opt_.size >= data_exact_size) {
    tail_data_len_ = opt_.size;
  }
  res_.pub_window_per_tag.assign(opt_.tags, 0);
  res_.subs_per_tag.assign(opt_.tags, 0);
  last_seq_.assign(opt_.tags, 0);
  live_subs_.assign(opt_.tags, 0);
  res_.procs = 1;
  plan_connections();
  return true;
}

int worker::run() {
  std::string err;
  if (!prepare(err)) {
    note_error(err);
    send_ready();
    send_result();
    return 1;
  }
  setup_begin_ = now_ns();
  next_tick_ = setup_begin_ + tick_ns;
  io_uring* ring = ring_.ring();
  while (phase_ != phase::done) {
    uint64_t now = now_ns();
    now_ = now;
    turn_phases(now);
    if (phase_ == phase::done) {
      break;
    }
    flush();
    uint64_t wake = next_wake(now);
    if (opt_.coalesce_ns > 0 && last_turn_recvs_ > 0 && wake > now + 1000) {
      // Busy: let more bytes gather per socket before reaping (see --coalesce).
      uint64_t until = now + opt_.coalesce_ns < wake ? now + opt_.coalesce_ns : wake;
      timespec ts{static_cast<time_t>(until / ns_per_s), static_cast<long>(until % ns_per_s)};
      clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr);
      now = now_ns();
    }
    io_uring_cqe* cqe = nullptr;
    int rc;
    if (wake <= now) {
      rc = io_uring_submit_and_get_events(ring);
    } else {
      uint64_t d = wake - now;
      __kernel_timespec ts{static_cast<long long>(d / ns_per_s),
                           static_cast<long long>(d % ns_per_s)};
      rc = io_uring_submit_and_wait_timeout(ring, &cqe, 1, &ts, nullptr);
    }
    if (rc < 0 && rc != -ETIME && rc != -EINTR && rc != -EAGAIN && rc != -EBUSY) {
      note_error(std::string("io_uring_enter: ") + std::strerror(-rc));
      break;
    }
    ++res_.loop_turns;
    uint64_t recvs_before = res_.recv_cqes;
    unsigned head;
    unsigned seen = 0;
    io_uring_for_each_cqe(ring, head, cqe) {
      on_cqe(cqe);
      ++seen;
    }
    io_uring_cq_advance(ring, seen);
    last_turn_recvs_ = res_.recv_cqes - recvs_before;
    ring_.commit_buffers();
    for (uint32_t slot : rearm_) {
      conn& c = conns_[slot];
      if (c.alive() && !c.recv_armed) {
        arm_recv(slot);
      }
    }
    rearm_.clear();
  }
  send_result();
  return 0;
}

void worker::turn_phases(uint64_t now) {
  if (now >= next_tick_) {
    periodic(now);
    next_tick_ = now + tick_ns;
  }
  switch (phase_) {
    case phase::setup:
      setup_connections();
      if (setup_done_ == setup_total_) {
        res_.setup_ns = now - setup_begin_;
        send_ready();
        phase_ = phase::wait_start;
        io_uring_sqe* s = ring_.sqe();
        io_uring_prep_read(s, ctrl_fd_, ctrl_buf_, sizeof ctrl_buf_, 0);
        io_uring_sqe_set_data64(s, pack_op(op_kind::control, 0, 0));
      }
      break;
    case phase::wait_start:
      break;
    case phase::running:
      if (!window_open_ && now >= ctrl_.warm_end) {
        window_open_ = true;
        cpu_at_start_ = own_cpu_ns();
        wall_at_start_ = now;
      }
      publish_phase(now);
      churn_phase(now);
      if (now >= ctrl_.end) {
        finish_window(now);
        phase_ = phase::draining;
        drain_start_ = now;
      }
      break;
    case phase::draining:
      publish_phase(now);  // only flushes what is queued; nothing new is stamped
      if (drained(now)) {
        res_.drain_ns = now - drain_start_;
        phase_ = phase::done;
      }
      break;
    case phase::done:
      break;
  }
}

void worker::finish_window(uint64_t now) {
  if (window_closed_) {
    return;
  }
  window_closed_ = true;
  if (!window_open_) {
    cpu_at_start_ = own_cpu_ns();
    wall_at_start_ = now;
  }
  res_.cpu_ns = own_cpu_ns() - cpu_at_start_;
  res_.window_ns = now - wall_at_start_;
}

bool worker::drained(uint64_t now) const {
  if (now - drain_start_ >= opt_.drain_ns) {
    return true;
  }
  for (const publisher& pb : pubs_) {
    const conn& c = conns_[pb.slot];
    if (c.alive() && c.queued() != 0) {
      return false;  // published (counted) but not yet handed to the kernel
    }
  }
  if (opt_.scenario == scenario_kind::churn) {
    return churn_active_ == 0;
  }
  if (opt_.scenario == scenario_kind::conns || local_subs_ == 0) {
    return true;
  }
  uint64_t last = last_delivery_ > drain_start_ ? last_delivery_ : drain_start_;
  return now - last >= opt_.quiet_ns;
}

uint64_t worker::next_wake(uint64_t now) const {
  uint64_t wake = next_tick_;
  auto at = [&wake](uint64_t t) {
    if (t < wake) {
      wake = t;
    }
  };
  if (phase_ == phase::setup && open_next_ < to_open_.size() &&
      setting_up_ < opt_.connect_concurrency) {
    return now;
  }
  if (phase_ == phase::running) {
    if (!window_open_) {
      at(ctrl_.warm_end);
    }
    at(ctrl_.end);
    for (const publisher& pb : pubs_) {
      if (publisher_wants(pb)) {
        at(due_time(pb));
      }
    }
    if (opt_.scenario == scenario_kind::churn && churn_active_ < churn_limit_) {
      at(churn_due());
    }
  } else if (phase_ == phase::draining) {
    at(drain_start_ + opt_.drain_ns);
    uint64_t last = last_delivery_ > drain_start_ ? last_delivery_ : drain_start_;
    at(last + opt_.quiet_ns);
  }
  return wake;
}

void worker::periodic(uint64_t now) {
  uint64_t keepalive_ns = opt_.keepalive_s * ns_per_s / 2;
  bool mqtt = opt_.proto != proto_kind::wsagent && opt_.keepalive_s > 0;
  for (uint32_t slot = 0; slot < conns_.size(); ++slot) {
    conn& c = conns_[slot];
    switch (c.state) {
      case conn_state::connecting:
      case conn_state::http:
      case conn_state::mqtt_wait:
      case conn_state::subscribing:
        if (now > c.deadline) {
          fail(slot, res_.timeouts, "timeout during connection setup");
        }
        break;
      case conn_state::closing:
        if (now > c.deadline) {
          if (c.role == conn_role::churn) {
            end_cycle(slot, true);  // the subscription worked; the peer is slow to close
          }
          kill(slot);
        }
        break;
      case conn_state::ready:
        if (opt_.delayed_acks && c.role == conn_role::sub) {
          // Renewed: the kernel leaves this mode when a delayed-ACK timer fires.
          int zero = 0;
          setsockopt(c.fd, IPPROTO_TCP, TCP_QUICKACK, &zero, sizeof zero);
        }
        if (c.role == conn_role::churn && now > c.deadline) {
          fail(slot, res_.timeouts, "timeout waiting for replayed messages");
        } else if (mqtt && now > c.t_last_send + keepalive_ns) {
          char pkt[2];
          mqtt_write_short(pkt, mqtt_pingreq);
          queue_mqtt(slot, pkt, 2);
        }
        break;
      default:
        break;
    }
  }
}

void worker::send_ready() {
  ready_msg m;
  m.ready = res_.conns_ready;
  m.failed = res_.conns_failed;
  m.subs_ready = res_.subs_ready;
  m.pubs_ready = res_.pubs_ready;
  std::size_t n = res_.first_error.size() < sizeof m.error - 1 ? res_.first_error.size()
                                                               : sizeof m.error - 1;
  std::memcpy(m.error, res_.first_error.data(), n);
  write_all(result_fd_, reinterpret_cast<const char*>(&m), sizeof m);
}

void worker::send_result() {
  if (!window_closed_) {
    finish_window(now_ns());
  }
  res_.max_rss_kib = own_max_rss_kib();
  std::string out;
  res_.serialize(out);
  uint64_t size = out.size();
  write_all(result_fd_, reinterpret_cast<const char*>(&size), sizeof size);
  write_all(result_fd_, out.data(), out.size());
}

void worker::on_control(int res) {
  if (res != static_cast<int>(sizeof ctrl_buf_)) {
    phase_ = phase::done;  // parent gone or aborted
    return;
  }
  std::memcpy(&ctrl_, ctrl_buf_, sizeof ctrl_);
  if (ctrl_.start == 0) {
    phase_ = phase::done;
    return;
  }
  window_ = ctrl_.warm_end;
  window_end_ = ctrl_.end;
  phase_ = phase::running;
}

}  // namespace wsa::loadgen

// Worker sockets: connect, one multishot receive and at most one send in flight per socket
// (io_uring may reorder overlapping sends on a stream socket), and teardown that frees a
// slot only after its last completion.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "clock.h"
#include "mqtt_codec.h"
#include "worker.h"

namespace wsa::loadgen {

uint32_t worker::take_slot(conn_role role, uint32_t global, uint32_t tag) {
  uint32_t slot;
  if (!free_slots_.empty()) {
    slot = free_slots_.back();
    free_slots_.pop_back();
  } else {
    slot = static_cast<uint32_t>(conns_.size());
    conns_.emplace_back();
  }
  conn& c = conns_[slot];
  c.role = role;
  c.global = global;
  c.tag = tag;
  c.settled = false;
  c.close_sent = false;
  c.live = false;
  c.ws.reset();
  c.acks_inflight = 0;
  c.mqtt_packet_id = 0;
  c.next_id = 2;
  c.replay_expected = 0;
  c.replay_got = 0;
  c.sending_off = 0;
  c.mask_state = 0x9e3779b9u ^ (global * 2654435761u) ^ (index_ << 24);
  if (c.mask_state == 0) {
    c.mask_state = 1;
  }
  return slot;
}

void worker::open_conn(uint32_t slot, uint32_t src_index) {
  conn& c = conns_[slot];
  uint64_t now = now_ns();
  c.t_start = now;
  c.t_last_send = now;
  c.deadline = now + opt_.timeout_ns;
  c.state = conn_state::connecting;
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    c.fd = -1;
    fail(slot, res_.connect_errors, std::string("socket: ") + std::strerror(errno));
    return;
  }
  c.fd = fd;
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (c.role == conn_role::pub) {
    int sndbuf = static_cast<int>(opt_.pub_window);
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
  }
  const endpoint& ep = opt_.targets[c.global % opt_.targets.size()];
  uint32_t src_addrs = opt_.src_addrs;
  if (src_addrs > 1 && (ntohl(ep.addr.sin_addr.s_addr) >> 24) == 127) {
    // The port is chosen at connect() time for the whole 4-tuple, so every source address
    // brings its own ~28k ephemeral ports.
    setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    sockaddr_in src{};
    src.sin_family = AF_INET;
    src.sin_addr.s_addr = htonl((127u << 24) | (1 + src_index % src_addrs));
    if (bind(fd, reinterpret_cast<sockaddr*>(&src), sizeof src) != 0) {
      fail(slot, res_.connect_errors, std::string("bind: ") + std::strerror(errno));
      return;
    }
  }
  io_uring_sqe* s = ring_.sqe();
  io_uring_prep_connect(s, fd, reinterpret_cast<const sockaddr*>(&ep.addr), sizeof ep.addr);
  io_uring_sqe_set_data64(s, pack_op(op_kind::connect, c.gen, slot));
  ++c.inflight;
}

void worker::on_cqe(const io_uring_cqe* cqe) {
  uint64_t ud = cqe->user_data;
  op_kind kind = op_of(ud);
  if (kind == op_kind::control) {
    on_control(cqe->res);
    return;
  }
  uint32_t slot = slot_of(ud);
  if (slot >= conns_.size() || conns_[slot].gen % (1u << 24) != gen_of(ud)) {
    if (kind == op_kind::recv && (cqe->flags & IORING_CQE_F_BUFFER) != 0) {
      ring_.recycle(static_cast<uint16_t>(cqe->flags >> IORING_CQE_BUFFER_SHIFT));
    }
    return;  // stale: cannot happen while slots wait for their last completion
  }
  switch (kind) {
    case op_kind::connect:
      --conns_[slot].inflight;
      on_connect(slot, cqe->res);
      break;
    case op_kind::recv:
      on_recv(slot, cqe);
      break;
    case op_kind::send:
      on_send(slot, cqe->res);
      break;
    case op_kind::cancel:
      --conns_[slot].inflight;
      break;
    case op_kind::control:
      break;
  }
  maybe_release(slot);
}

void worker::on_connect(uint32_t slot, int res) {
  conn& c = conns_[slot];
  if (!c.alive()) {
    return;
  }
  if (res < 0) {
    fail(slot, res_.connect_errors, std::string("connect: ") + std::strerror(-res));
    return;
  }
  arm_recv(slot);
  if (opt_.proto == proto_kind::mqtt) {
    on_session_open(slot);  // MQTT over TCP: CONNECT goes out at once
    return;
  }
  char key[ws_key_size];
  uint64_t seed_a = (static_cast<uint64_t>(getpid()) << 32) ^ c.t_start;
  uint64_t seed_b = (static_cast<uint64_t>(slot) << 32) ^ c.gen ^ c.global;
  ws_make_key(seed_a, seed_b, key, c.accept);
  ws_write_request(c.pending, opt_.targets[c.global % opt_.targets.size()].host_header,
                   opt_.path, key,
                   opt_.proto == proto_kind::wsagent ? "wsagent.v1" : "mqtt", opt_.token);
  c.state = conn_state::http;
  c.carry.clear();
  mark_dirty(slot);
}

void worker::arm_recv(uint32_t slot) {
  conn& c = conns_[slot];
  io_uring_sqe* s = ring_.sqe();
  io_uring_prep_recv_multishot(s, c.fd, nullptr, 0, 0);
  s->flags |= IOSQE_BUFFER_SELECT;
  s->buf_group = 0;
  io_uring_sqe_set_data64(s, pack_op(op_kind::recv, c.gen, slot));
  c.recv_armed = true;
  ++c.inflight;
}

void worker::on_recv(uint32_t slot, const io_uring_cqe* cqe) {
  conn& c = conns_[slot];
  bool more = (cqe->flags & IORING_CQE_F_MORE) != 0;
  if (!more) {
    c.recv_armed = false;
    --c.inflight;
  }
  int res = cqe->res;
  ++res_.recv_cqes;
  if (res > 0) {
    auto id = static_cast<uint16_t>(cqe->flags >> IORING_CQE_BUFFER_SHIFT);
    if (c.alive()) {
      now_ = now_ns();
      on_stream(slot, ring_.buffer(id), static_cast<std::size_t>(res));
    }
    ring_.recycle(id);
    if (!more && c.alive()) {
      rearm_.push_back(slot);
    }
    return;
  }
  if (!c.alive()) {
    return;
  }
  if (res == -ENOBUFS) {
    ring_.ran_short();
    rearm_.push_back(slot);  // the ring ran dry; re-armed after this turn refilled it
    return;
  }
  peer_closed(slot, res);
}

void worker::mark_dirty(uint32_t slot) {
  conn& c = conns_[slot];
  if (!c.dirty) {
    c.dirty = true;
    dirty_.push_back(slot);
  }
}

void worker::flush() {
  for (std::size_t i = 0; i < dirty_.size(); ++i) {
    uint32_t slot = dirty_[i];
    conn& c = conns_[slot];
    c.dirty = false;
    if (c.send_busy || !c.alive() || c.state == conn_state::connecting) {
      continue;
    }
    if (c.sending_off == c.sending.size()) {
      if (c.pending.empty()) {
        continue;
      }
      std::swap(c.sending, c.pending);
      c.pending.clear();
      c.sending_off = 0;
    }
    io_uring_sqe* s = ring_.sqe();
    io_uring_prep_send(s, c.fd, c.sending.data() + c.sending_off,
                       c.sending.size() - c.sending_off, MSG_NOSIGNAL);
    io_uring_sqe_set_data64(s, pack_op(op_kind::send, c.gen, slot));
    c.send_busy = true;
    ++c.inflight;
    c.t_last_send = now_;
  }
  dirty_.clear();
}

void worker::on_send(uint32_t slot, int res) {
  conn& c = conns_[slot];
  --c.inflight;
  c.send_busy = false;
  if (!c.alive()) {
    return;
  }
  if (res < 0) {
    peer_closed(slot, res);
    return;
  }
  c.sending_off += static_cast<std::size_t>(res);
  if (c.sending_off == c.sending.size()) {
    c.sending.clear();
    c.sending_off = 0;
    if (c.pending.empty()) {
      return;
    }
  }
  mark_dirty(slot);
}

void worker::peer_closed(uint32_t slot, int res) {
  conn& c = conns_[slot];
  switch (c.state) {
    case conn_state::closing:
      if (c.role == conn_role::churn) {
        end_cycle(slot, true);
      }
      kill(slot);
      return;
    case conn_state::ready:
      if (c.role == conn_role::churn) {
        fail(slot, res_.handshake_errors, "server closed while replaying");
        return;
      }
      ++res_.disconnects;
      note_error(res == 0 ? "server closed a ready connection"
                          : std::string("ready connection: ") + std::strerror(-res));
      kill(slot);
      return;
    default:
      fail(slot, res_.handshake_errors,
           res == 0 ? std::string("server closed during setup")
                    : std::string("during setup: ") + std::strerror(-res));
      return;
  }
}

void worker::note_error(std::string_view what) {
  if (res_.first_error.empty()) {
    res_.first_error = std::string(what);
  }
  if (opt_.verbose) {
    fprintf(stderr, "worker %u: %.*s\n", index_, static_cast<int>(what.size()), what.data());
  }
}

void worker::fail(uint32_t slot, uint64_t& counter, std::string_view what) {
  conn& c = conns_[slot];
  ++counter;
  note_error(what);
  if (c.role == conn_role::churn) {
    end_cycle(slot, false);
  } else if (!c.settled) {
    settle_failed(slot);
  } else if (c.state == conn_state::ready) {
    ++res_.disconnects;
  }
  kill(slot);
}

void worker::kill(uint32_t slot) {
  conn& c = conns_[slot];
  if (c.state == conn_state::dead || c.state == conn_state::free) {
    return;
  }
  c.state = conn_state::dead;
  if (c.live) {
    forget_subscriber(slot);
  }
  if (c.fd >= 0) {
    shutdown(c.fd, SHUT_RDWR);
    if (c.inflight > 0) {
      io_uring_sqe* s = ring_.sqe();
      io_uring_prep_cancel_fd(s, c.fd, IORING_ASYNC_CANCEL_ALL);
      io_uring_sqe_set_data64(s, pack_op(op_kind::cancel, c.gen, slot));
      ++c.inflight;
    }
  }
  maybe_release(slot);
}

void worker::maybe_release(uint32_t slot) {
  conn& c = conns_[slot];
  if (c.state != conn_state::dead || c.inflight != 0) {
    return;
  }
  if (c.fd >= 0) {
    close(c.fd);
    c.fd = -1;
  }
  c.sending.release();
  c.pending.release();
  c.carry.release();
  c.ws.reset();
  c.inner.release();
  c.next_seq.reset();
  c.send_busy = false;
  c.recv_armed = false;
  ++c.gen;
  c.state = conn_state::free;
  if (c.role == conn_role::churn) {
    --churn_active_;  // counted until the slot is free, so slots never exceed the limit
    free_slots_.push_back(slot);
  }
}

}  // namespace wsa::loadgen

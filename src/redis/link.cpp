// One pipelined Redis connection on io_uring; see link.h.
#include "redis/link.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "redis/resp_writer.h"
#include "util/check.h"
#include "util/clock.h"
#include "util/release.h"

namespace wsa {
namespace {

constexpr std::size_t recv_buffer_bytes = 64 * 1024;
constexpr uint32_t own_auth = 1;
constexpr uint32_t own_select = 2;
constexpr uint32_t own_ping = 3;
constexpr uint32_t own_role = 4;

// What the link keeps of a burst once it has drained: up to --max-broker-backlog of commands
// went through its buffers, and what a string or a ring keeps stays resident (a 64 MiB
// backlog left ~150 MiB of RSS behind; docs/benchmarks.md "After a flood of publishes").
// Above what one busy turn sends (a 4 KiB-message saturation run), so that a steady
// pipeline does not free and fault in its buffer at every send.
constexpr std::size_t burst_bytes_kept = 8 * 1024 * 1024;
constexpr std::size_t pending_kept = 16 * 1024;  // requests (~50 bytes each)

// A pub/sub push rather than the reply to the next request. "sunsubscribe" is also the
// reply to SUNSUBSCRIBE: it is a push unless such a request is next in line.
bool is_push(resp_view reply, bool push_shaped_next) {
  if (!reply.is_array() || reply.size() < 3) {
    return false;
  }
  const std::string_view kind = reply[0].str();
  if (reply.size() == 3) {
    return kind == "message" || kind == "smessage" ||
           (kind == "sunsubscribe" && !push_shaped_next);
  }
  return kind == "pmessage" && reply.size() == 4;
}

}  // namespace

link::link(ring& r, link_owner& owner, link_options options, bool subscriber)
    : ring_(r),
      owner_(owner),
      id_(r.allocate_link_id()),
      options_(std::move(options)),
      subscriber_(subscriber),
      jitter_(id_),
      rbuf_(recv_buffer_bytes) {
  reader_.set_max_reply_bytes(options_.max_reply_bytes);
}

link::~link() {
  if (fd_ < 0) {
    return;
  }
  if (in_flight()) {
    // Nothing may complete into this object's buffers once it is gone: cancel and wait
    // (possible only from the ring's own thread), and shut the socket so that whatever
    // is still queued ends at once in any case.
    ring_.cancel_fd_and_wait(fd_);
    ::shutdown(fd_, SHUT_RDWR);
  }
  ::close(fd_);
}

void link::start() {
  if (state_ == state::idle) {
    start_connect(monotonic_ms());
  }
}

uint64_t link::user_data(link_io io) const { return encode_link_op(id_, io, generation_); }

// ---- connection life ----

void link::start_connect(int64_t now_ms) {
  now_ms_ = now_ms;
  // A blocking socket: io_uring still never blocks (it polls), and connect reports its
  // outcome in the completion rather than as EINPROGRESS.
  fd_ = ::socket(options_.address.storage.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) {
    // Out of descriptors (EMFILE) or memory: retried after the backoff, like a refusal.
    down_reason_ = std::string("socket: ") + std::strerror(errno);
    state_ = state::closing;
    finish_close();
    owner_.on_link_failed(*this, down_reason_);
    return;
  }
  int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  generation_ = (generation_ + 1) & generation_mask;
  state_ = state::connecting;
  deadline_ms_ = now_ms + options_.connect_timeout_ms;
  ring_.connect(fd_, reinterpret_cast<const sockaddr*>(&options_.address.storage),
                options_.address.size, user_data(link_io::connect));
  connect_in_flight_ = true;
}

void link::on_connected(int res) {
  if (state_ != state::connecting) {
    return;  // closing: timed out or dropped meanwhile
  }
  if (res < 0) {
    drop(std::string("connect: ") + std::strerror(-res));
    return;
  }
  state_ = state::handshake;
  now_ms_ = monotonic_ms();
  last_traffic_ms_ = now_ms_;
  reader_.reset();
  arm_recv();
  if (options_.auth) {
    if (options_.username.empty()) {
      queue_own({"AUTH", options_.password}, own_auth);
    } else {
      queue_own({"AUTH", options_.username, options_.password}, own_auth);
    }
  }
  if (options_.db != 0) {
    char digits[12];
    const int n = std::snprintf(digits, sizeof digits, "%u", options_.db);
    queue_own({"SELECT", std::string_view(digits, static_cast<std::size_t>(n))}, own_select);
  }
  if (options_.require_master) {
    queue_own({"ROLE"}, own_role);
  }
  // Up only once Redis has answered: a connection accepted by the kernel of a frozen or
  // overloaded server must not look ready.
  queue_own({"PING"}, own_ping);
  arm_send();
}

void link::go_up() {
  state_ = state::up;
  backoff_ms_ = 0;
  if (ever_up_) {
    ++reconnects_;
  }
  ever_up_ = true;
  owner_.on_link_up(*this);
  arm_send();
}

void link::fail(std::string_view why) { drop(why); }

void link::retarget(const redis_address& address) {
  options_.address = address;
  backoff_ms_ = 0;
  if (state_ == state::backoff) {
    deadline_ms_ = 0;  // connect at the next poll
    return;
  }
  drop("moving to " + address.text);
  // drop() set a backoff delay (or will, when the cancelled ops end): the new address is
  // tried at once rather than after it.
  if (state_ == state::backoff) {
    deadline_ms_ = 0;
  } else if (state_ == state::closing) {
    retarget_now_ = true;
  }
}

void link::drop(std::string_view why) {
  if (state_ == state::idle || state_ == state::backoff || state_ == state::closing) {
    return;
  }
  const bool was_up = state_ == state::up;
  state_ = state::closing;
  down_reason_.assign(why);
  queued_.clear();
  retained_.clear();
  retained_head_ = 0;
  failing_.clear();
  pending_.take_all(failing_);
  if (in_flight()) {
    // The ops end with -ECANCELED; the socket is closed when the last one has.
    ring_.cancel_fd(fd_, user_data(link_io::cancel));
  }
  for (const link_request& r : failing_) {
    if (r.kind != 0) {
      owner_.on_failed(*this, r);
    }
  }
  failing_.clear();
  if (was_up) {
    owner_.on_link_down(*this, down_reason_);
  } else {
    owner_.on_link_failed(*this, down_reason_);
  }
  if (!in_flight()) {
    finish_close();
  }
}

void link::finish_close() {
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
  sending_.clear();
  sent_ = 0;
  // Jittered exponential backoff: [d/2, d], d doubling from backoff_min to backoff_max.
  backoff_ms_ = backoff_ms_ == 0 ? options_.backoff_min_ms
                                 : std::min(backoff_ms_ * 2, options_.backoff_max_ms);
  const int64_t half = backoff_ms_ / 2;
  const int64_t delay = half + static_cast<int64_t>(jitter_.next() % uint64_t(half + 1));
  state_ = state::backoff;
  deadline_ms_ = retarget_now_ ? 0 : monotonic_ms() + delay;
  retarget_now_ = false;
}

// ---- I/O ----

void link::arm_recv() {
  ring_.recv(fd_, rbuf_.data(), rbuf_.size(), user_data(link_io::recv));
  recv_in_flight_ = true;
}

void link::arm_send() {
  if (send_in_flight_ || queued_.empty() ||
      (state_ != state::up && state_ != state::handshake)) {
    return;
  }
  sending_.swap(queued_);
  queued_.clear();
  sent_ = 0;
  ring_.send(fd_, sending_.data(), sending_.size(), user_data(link_io::send));
  ring_.expedite();  // ahead of the shard's fan-out sends
  send_in_flight_ = true;
  last_traffic_ms_ = now_ms_;
}

void link::on_completion(const completion& c) {
  const link_op_data op = decode_link_op(c.user_data);
  if (op.generation != generation_) {
    return;  // cannot happen: a new connection starts only after every op has ended
  }
  switch (op.io) {
    case link_io::connect:
      connect_in_flight_ = false;
      on_connected(c.result);
      break;
    case link_io::recv:
      recv_in_flight_ = false;
      on_received(c.result);
      break;
    case link_io::send:
      send_in_flight_ = false;
      on_sent(c.result);
      break;
    case link_io::cancel:
      break;
  }
  if (state_ == state::closing && !in_flight()) {
    finish_close();
  }
}

void link::on_sent(int res) {
  if (state_ != state::up && state_ != state::handshake) {
    return;
  }
  if (res < 0) {
    drop(std::string("send: ") + std::strerror(-res));
    return;
  }
  sent_ += static_cast<std::size_t>(res);
  if (options_.traffic != nullptr) {
    options_.traffic->bytes_out += static_cast<uint64_t>(res);
  }
  if (sent_ < sending_.size()) {
    ring_.send(fd_, sending_.data() + sent_, sending_.size() - sent_,
               user_data(link_io::send));
    send_in_flight_ = true;
    return;
  }
  sending_.clear();
  release_if_grown(sending_, burst_bytes_kept);
  arm_send();
}

void link::on_received(int res) {
  if (state_ != state::up && state_ != state::handshake) {
    return;
  }
  if (res <= 0) {
    drop(res == 0 ? std::string("connection closed by Redis")
                  : std::string("recv: ") + std::strerror(-res));
    return;
  }
  received_ns_ = monotonic_ns();
  now_ms_ = received_ns_ / 1'000'000;
  last_traffic_ms_ = now_ms_;
  if (options_.traffic != nullptr) {
    options_.traffic->bytes_in += static_cast<uint64_t>(res);
  }
  if (!reader_.feed(rbuf_.data(), static_cast<std::size_t>(res))) {
    drop(std::string("bad reply from Redis: ") + reader_.error_text());
    return;
  }
  const uint32_t generation = generation_;
  resp_view reply;
  while (true) {
    const resp_reader::result r = reader_.next(reply);
    if (r == resp_reader::result::none) {
      break;
    }
    if (r == resp_reader::result::error) {
      if (reader_.too_large() && options_.traffic != nullptr) {
        ++options_.traffic->oversized_replies;
      }
      drop(std::string("bad reply from Redis: ") + reader_.error_text());
      return;
    }
    handle_reply(reply);
    if (generation != generation_ || (state_ != state::up && state_ != state::handshake)) {
      return;  // the owner or the handshake dropped the connection
    }
  }
  if (!reading_paused_ || state_ != state::up) {
    arm_recv();
  }
}

void link::set_reading_paused(bool paused) {
  reading_paused_ = paused;
  if (!paused && !recv_in_flight_ && (state_ == state::up || state_ == state::handshake)) {
    arm_recv();
  }
}

void link::handle_reply(resp_view reply) {
  if (subscriber_ && is_push(reply, !pending_.empty() && pending_.front().push_shaped)) {
    owner_.on_push(*this, reply);
    return;
  }
  if (pending_.empty()) {
    drop("a reply nobody asked for");
    return;
  }
  link_request request = pending_.front();
  pending_.pop_front();
  pending_.release_if_empty(pending_kept);
  request.replied_ns = received_ns_;
  progress_ms_ = now_ms_;
  if (options_.traffic != nullptr && options_.traffic->latency != nullptr) {
    options_.traffic->latency->observe_ns(request.sent_ns, received_ns_);
  }
  if (request.kind == 0) {
    handle_own_reply(request, reply);
    return;
  }
  std::string_view command;
  if (request.retained != 0) {
    command = std::string_view(retained_).substr(retained_head_, request.retained);
  }
  owner_.on_reply(*this, request, reply, command);
  if (request.retained != 0 && state_ != state::closing && state_ != state::backoff) {
    retained_head_ += request.retained;
    if (retained_head_ == retained_.size()) {
      retained_.clear();
      release_if_grown(retained_, burst_bytes_kept);
      retained_head_ = 0;
    } else if (retained_head_ >= 64 * 1024 && retained_head_ * 2 >= retained_.size()) {
      retained_.erase(0, retained_head_);
      retained_head_ = 0;
    }
  }
}

void link::handle_own_reply(const link_request& request, resp_view reply) {
  if (reply.is_error()) {
    const char* what = request.aux == own_auth     ? "AUTH refused: "
                       : request.aux == own_select ? "SELECT refused: "
                       : request.aux == own_role   ? "ROLE refused: "
                                                   : "PING refused: ";
    drop(std::string(what) + std::string(reply.str()));
    return;
  }
  if (request.aux == own_role && (!reply.is_array() || reply.size() == 0 ||
                                  reply[0].str() != "master")) {
    // Sentinel's answer was stale, or a failover is under way: never write to a replica.
    const std::string role = reply.is_array() && reply.size() > 0 ? std::string(reply[0].str())
                                                                   : std::string("?");
    drop("not a master (ROLE: " + role + ")");
    return;
  }
  if (state_ == state::handshake && pending_.empty()) {
    go_up();
  }
}

// ---- commands ----

void link::queue_own(std::initializer_list<std::string_view> args, uint32_t what) {
  resp_command(queued_, args);
  link_request r;
  r.aux = what;
  r.sent_ns = monotonic_ns();
  if (pending_.empty()) {
    progress_ms_ = now_ms_;
  }
  pending_.push_back(r);
  if (options_.traffic != nullptr) {
    ++options_.traffic->commands;
  }
}

std::string& link::begin() {
  commit_mark_ = queued_.size();
  return queued_;
}

void link::commit(link_request request, bool retain) {
  WSA_ASSERT(state_ == state::up && queued_.size() > commit_mark_);
  request.sent_ns = monotonic_ns();
  request.retained = 0;
  if (retain) {
    request.retained = static_cast<uint32_t>(queued_.size() - commit_mark_);
    retained_.append(queued_, commit_mark_, std::string::npos);
  }
  if (pending_.empty()) {
    progress_ms_ = now_ms_;
  }
  pending_.push_back(request);
  if (options_.traffic != nullptr) {
    ++options_.traffic->commands;
  }
}

bool link::send(const link_request& request, std::initializer_list<std::string_view> args,
                bool retain) {
  if (state_ != state::up) {
    return false;
  }
  resp_command(begin(), args);
  commit(request, retain);
  return true;
}

bool link::resend(link_request request, std::string_view command) {
  if (state_ != state::up) {
    return false;
  }
  begin().append(command);
  commit(request, true);
  return true;
}

// ---- timers ----

void link::poll(int64_t now_ms) {
  now_ms_ = now_ms;
  switch (state_) {
    case state::idle:
    case state::closing:
      return;
    case state::backoff:
      if (now_ms >= deadline_ms_) {
        start_connect(now_ms);
      }
      return;
    case state::connecting:
      if (now_ms >= deadline_ms_) {
        drop("connect timed out");
      }
      return;
    case state::handshake:
    case state::up:
      break;
  }
  if (!pending_.empty() &&
      now_ms - progress_ms_ > options_.reply_timeout_ms + pending_.front().patience_ms) {
    drop("Redis did not answer in time");
    return;
  }
  if (state_ == state::up && pending_.empty() && queued_.empty() &&
      now_ms - last_traffic_ms_ >= options_.keepalive_ms) {
    queue_own({"PING"}, own_ping);
  }
  arm_send();
}

}  // namespace wsa

// wsagent-loadgen-sender: the cheapest server the load generator can be pointed at, to
// measure the load generator itself. It answers WebSocket upgrades (subprotocol wsagent.v1
// or mqtt) and MQTT/TCP sessions, acknowledges one subscription per connection, then writes
// deliveries of that tag or topic to every subscriber, `--batch` frames per send(), as fast
// as the sockets take them (or one batch per subscriber every `--interval`). No broker and
// no fan-out logic: each subscriber gets its own sequence (publisher 0, n = 0, 1, 2, ...),
// stamped with the time of its batch. Single-threaded, epoll, non-blocking sockets.
//   wsagent-loadgen-sender [--listen 127.0.0.1:0] [--batch 64] [--size 64]
//                          [--interval-us 0] [--frames 0]
// Prints `listening HOST:PORT` on stdout once it accepts; exits when the last subscriber
// has gone (or on SIGINT/SIGTERM) with a summary on stderr.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "byte_buffer.h"
#include "clock.h"
#include "mqtt_codec.h"
#include "payload.h"
#include "ws_codec.h"

namespace wsa::loadgen {
namespace {

volatile std::sig_atomic_t stop_requested = 0;

struct sender_options {
  sockaddr_in listen{};
  uint32_t batch = 64;
  uint32_t size = 64;
  uint64_t interval_ns = 0;
  uint64_t frames = 0;  // per subscriber; 0 = no limit
};

enum class wire : uint8_t { unknown, http, wsagent, mqtt_ws, mqtt };

struct sender_conn {
  int fd = -1;
  wire kind = wire::unknown;
  bool streaming = false;
  bool writable = true;
  std::string tag;  // the wsagent tag, or the MQTT topic
  uint64_t seq = 0;
  std::string in;
  byte_buffer out;
  std::size_t out_off = 0;
};

class sender {
 public:
  explicit sender(const sender_options& o) : opt_(o) {}
  int run();

 private:
  void accept_all();
  void on_readable(sender_conn& c);
  bool on_input(sender_conn& c);
  bool on_http(sender_conn& c);
  bool on_ws_frames(sender_conn& c);
  std::size_t on_mqtt(sender_conn& c, const char* p, std::size_t n);
  bool on_wsagent_text(sender_conn& c, std::string_view text);
  void reply(sender_conn& c, const char* p, std::size_t n);
  void append_batch(sender_conn& c, uint64_t t);
  void append_wsagent_batch(sender_conn& c, uint64_t t, std::size_t count);
  void write_some(sender_conn& c);
  void drop(sender_conn& c);

  sender_options opt_;
  int listen_fd_ = -1;
  int ep_ = -1;
  std::vector<std::unique_ptr<sender_conn>> conns_;  // index = fd
  std::vector<int> streaming_;
  uint64_t ever_streamed_ = 0;
  uint64_t frames_sent_ = 0;
  uint64_t bytes_sent_ = 0;
};

std::string_view header_value(std::string_view head, std::string_view lower_name) {
  std::size_t pos = 0;
  while ((pos = head.find("\r\n", pos)) != std::string_view::npos) {
    pos += 2;
    std::size_t colon = head.find(':', pos);
    std::size_t eol = head.find("\r\n", pos);
    if (colon == std::string_view::npos || eol == std::string_view::npos || colon > eol ||
        colon - pos != lower_name.size()) {
      continue;
    }
    bool same = true;
    for (std::size_t i = 0; i < lower_name.size() && same; ++i) {
      same = (head[pos + i] | 0x20) == lower_name[i];
    }
    if (same) {
      std::string_view v = head.substr(colon + 1, eol - colon - 1);
      while (!v.empty() && v.front() == ' ') {
        v.remove_prefix(1);
      }
      return v;
    }
  }
  return {};
}

void sender::reply(sender_conn& c, const char* p, std::size_t n) {
  if (c.kind == wire::wsagent || c.kind == wire::mqtt_ws) {
    char* w = c.out.extend(ws_server_header_size(n) + n);
    uint8_t op = c.kind == wire::wsagent ? ws_text : ws_binary;
    std::memcpy(w + ws_write_server_header(w, op, n), p, n);
  } else {
    c.out.append(p, n);
  }
  write_some(c);
}

// wsagent: {"op":"msg","tag":"<tag>","seq":<seq + 1>,"ts":<ms>,"data":<data>}, as wsagent
// (protocol 1.1) lays it out. What is the same for every frame of the batch (the stamp's t,
// `ts`, the syntax around them) is written once into `mid`; per frame only the two counters
// and the padding change, so that the sender costs little next to the load generator.
void sender::append_wsagent_batch(sender_conn& c, uint64_t t, std::size_t count) {
  // A stand-in for the wall-clock ms of wsagent's `ts`: only its width (13 digits) counts.
  const uint64_t ts_ms = 1700000000000ull + t / ns_per_ms;
  char mid[96];
  char* m = mid;
  std::memcpy(m, ",\"ts\":", 6);
  m = write_u64(m + 6, ts_ms);
  std::memcpy(m, ",\"data\":{\"t\":", 13);
  m = write_u64(m + 13, t);
  std::memcpy(m, ",\"i\":0,\"n\":", 11);
  m += 11;
  const auto mid_len = static_cast<std::size_t>(m - mid);
  const std::size_t t_digits = digits_u64(t);
  for (std::size_t k = 0; k < count; ++k, ++c.seq) {
    char env[20];
    char n[20];
    const std::size_t env_len = static_cast<std::size_t>(write_u64(env, c.seq + 1) - env);
    const std::size_t n_len = static_cast<std::size_t>(write_u64(n, c.seq & 0xffffffffu) - n);
    // data_size(): 23 bytes of syntax and the digits of t, i (one) and n, padded up to --size.
    const std::size_t base = 23 + t_digits + 1 + n_len;
    const std::size_t dlen = opt_.size > base ? opt_.size : base;
    const std::size_t body = 19 + c.tag.size() + 8 + env_len + mid_len + n_len +
                             (dlen - base) + 6 + 2 + 1;
    char* w = c.out.extend(ws_server_header_size(body) + body);
    char* q = w + ws_write_server_header(w, ws_text, body);
    std::memcpy(q, "{\"op\":\"msg\",\"tag\":\"", 19);
    std::memcpy(q + 19, c.tag.data(), c.tag.size());
    q += 19 + c.tag.size();
    std::memcpy(q, "\",\"seq\":", 8);
    std::memcpy(q + 8, env, env_len);
    q += 8 + env_len;
    std::memcpy(q, mid, mid_len);
    std::memcpy(q + mid_len, n, n_len);
    q += mid_len + n_len;
    std::memcpy(q, ",\"p\":\"", 6);
    std::memset(q + 6, 'x', dlen - base);
    q += 6 + (dlen - base);
    std::memcpy(q, "\"}}", 3);
  }
}

void sender::append_batch(sender_conn& c, uint64_t t) {
  std::size_t count = opt_.batch;
  if (opt_.frames != 0 && opt_.frames - c.seq < count) {
    count = static_cast<std::size_t>(opt_.frames - c.seq);
  }
  frames_sent_ += count;
  if (c.kind == wire::wsagent) {
    append_wsagent_batch(c, t, count);
    return;
  }
  for (std::size_t k = 0; k < count; ++k, ++c.seq) {
    stamp s{t, 0, static_cast<uint32_t>(c.seq)};
    std::size_t dlen = data_size(s, opt_.size);
    std::size_t inner = mqtt_publish_size(c.tag.size(), 0, dlen);
    bool ws = c.kind == wire::mqtt_ws;
    std::size_t wsh = ws ? ws_server_header_size(inner) : 0;
    char* w = c.out.extend(wsh + inner);
    if (ws) {
      ws_write_server_header(w, ws_binary, inner);
    }
    write_data(mqtt_write_publish_head(w + wsh, c.tag, 0, 0, dlen), s, opt_.size);
  }
}

void sender::write_some(sender_conn& c) {
  while (c.writable && c.out_off < c.out.size()) {
    ssize_t r = send(c.fd, c.out.data() + c.out_off, c.out.size() - c.out_off,
                     MSG_NOSIGNAL | MSG_DONTWAIT);
    if (r < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        c.writable = false;  // edge-triggered EPOLLOUT says when it drained
      } else if (errno != EINTR) {
        drop(c);
      }
      return;
    }
    c.out_off += static_cast<std::size_t>(r);
    bytes_sent_ += static_cast<uint64_t>(r);
  }
  if (c.out_off == c.out.size()) {
    c.out.clear();
    c.out_off = 0;
  }
}

void sender::drop(sender_conn& c) {
  int fd = c.fd;
  if (fd < 0) {
    return;
  }
  close(fd);  // also removes it from the epoll set
  c.fd = -1;
  if (c.streaming) {
    c.streaming = false;
    for (std::size_t i = 0; i < streaming_.size(); ++i) {
      if (streaming_[i] == fd) {
        streaming_[i] = streaming_.back();
        streaming_.pop_back();
        break;
      }
    }
  }
}

bool sender::on_http(sender_conn& c) {
  std::size_t end = c.in.find("\r\n\r\n");
  if (end == std::string::npos) {
    return c.in.size() < 16384;
  }
  std::string_view head(c.in.data(), end + 2);
  std::string_view key = header_value(head, "sec-websocket-key");
  std::string_view proto = header_value(head, "sec-websocket-protocol");
  if (key.empty()) {
    return false;
  }
  bool mqtt = proto.find("mqtt") != std::string_view::npos;
  c.kind = mqtt ? wire::mqtt_ws : wire::wsagent;
  char accept[ws_accept_size];
  ws_accept_of(key, accept);
  std::string r = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                  "Connection: Upgrade\r\nSec-WebSocket-Accept: " +
                  std::string(accept, ws_accept_size) + "\r\nSec-WebSocket-Protocol: " +
                  (mqtt ? "mqtt" : "wsagent.v1") + "\r\n\r\n";
  c.out.append(r.data(), r.size());
  write_some(c);
  c.in.erase(0, end + 4);
  return true;
}

bool sender::on_wsagent_text(sender_conn& c, std::string_view text) {
  uint64_t id = 0;
  bool has_id = json_u64(text.data(), text.size(), "\"id\"", id);
  std::string_view op = json_op(text.data(), text.size());
  if (op == "sub" && !c.streaming) {
    std::size_t at = text.find("\"tags\":[\"");
    if (at == std::string_view::npos) {
      return false;
    }
    std::size_t from = at + 9;
    std::size_t to = text.find('"', from);
    if (to == std::string_view::npos) {
      return false;
    }
    c.tag = std::string(text.substr(from, to - from));
  }
  if (has_id) {
    std::string ok = "{\"op\":\"ok\",\"id\":" + std::to_string(id) + "}";
    reply(c, ok.data(), ok.size());
  }
  if (op == "sub" && !c.streaming && c.fd >= 0) {
    c.streaming = true;
    streaming_.push_back(c.fd);
    ++ever_streamed_;
  }
  return true;
}

// Handles the MQTT packets complete in p[0..n); returns the bytes used, or n + 1 on error.
std::size_t sender::on_mqtt(sender_conn& c, const char* p, std::size_t n) {
  std::size_t off = 0;
  while (off < n) {
    std::size_t header = 0;
    std::size_t total = 0;
    bool malformed = false;
    if (!mqtt_packet_size(p + off, n - off, header, total, malformed)) {
      return malformed ? n + 1 : off;
    }
    if (total > n - off) {
      return off;
    }
    auto type = static_cast<uint8_t>(static_cast<uint8_t>(p[off]) >> 4);
    const char* body = p + off + header;
    std::size_t len = total - header;
    char ack[5];
    if (type == mqtt_connect) {
      const char connack[4] = {0x20, 0x02, 0x00, 0x00};
      reply(c, connack, 4);
    } else if (type == mqtt_subscribe && len >= 5 && !c.streaming) {
      std::size_t tlen = (static_cast<std::size_t>(static_cast<uint8_t>(body[2])) << 8) |
                         static_cast<uint8_t>(body[3]);
      if (4 + tlen > len) {
        return n + 1;
      }
      c.tag = std::string(body + 4, tlen);
      ack[0] = static_cast<char>(mqtt_suback << 4);
      ack[1] = 3;
      ack[2] = body[0];
      ack[3] = body[1];
      ack[4] = 0;  // granted QoS 0: deliveries need no PUBACK
      reply(c, ack, 5);
      c.streaming = true;
      streaming_.push_back(c.fd);
      ++ever_streamed_;
    } else if (type == mqtt_pingreq) {
      mqtt_write_short(ack, mqtt_pingresp);
      reply(c, ack, 2);
    } else if (type == mqtt_publish && ((static_cast<uint8_t>(p[off]) >> 1) & 3) == 1 && len >= 2) {
      std::size_t tlen = (static_cast<std::size_t>(static_cast<uint8_t>(body[0])) << 8) |
                         static_cast<uint8_t>(body[1]);
      if (tlen + 4 <= len) {
        auto id = static_cast<uint16_t>((static_cast<uint8_t>(body[2 + tlen]) << 8) |
                                        static_cast<uint8_t>(body[3 + tlen]));
        reply(c, ack, static_cast<std::size_t>(mqtt_write_puback(ack, id) - ack));
      }
    } else if (type == mqtt_disconnect) {
      return n + 1;
    }
    if (c.fd < 0) {
      return n + 1;
    }
    off += total;
  }
  return off;
}

bool sender::on_ws_frames(sender_conn& c) {
  std::size_t off = 0;
  std::string inner;  // mqtt-ws: packets of this read (the load generator never splits one)
  while (off < c.in.size()) {
    ws_frame_header h;
    if (!ws_parse_header(c.in.data() + off, c.in.size() - off, h)) {
      break;
    }
    if (h.payload > 1024 * 1024) {
      return false;
    }
    std::size_t total = h.size + static_cast<std::size_t>(h.payload);
    if (total > c.in.size() - off) {
      break;
    }
    char* payload = c.in.data() + off + h.size;
    auto n = static_cast<std::size_t>(h.payload);
    if (h.masked) {
      ws_mask(payload, n, h.mask);
    }
    off += total;
    if (h.opcode == ws_close) {
      return false;
    }
    if (h.opcode == ws_text && c.kind == wire::wsagent) {
      if (!on_wsagent_text(c, std::string_view(payload, n))) {
        return false;
      }
    } else if (h.opcode == ws_binary && c.kind == wire::mqtt_ws) {
      if (on_mqtt(c, payload, n) != n) {
        return false;
      }
    }
    if (c.fd < 0) {
      return false;
    }
  }
  c.in.erase(0, off);
  return c.in.size() < 2 * 1024 * 1024;
}

bool sender::on_input(sender_conn& c) {
  if (c.kind == wire::unknown && !c.in.empty()) {
    c.kind = c.in[0] == 'G' ? wire::http : wire::mqtt;
  }
  switch (c.kind) {
    case wire::unknown:
      return true;
    case wire::http:
      if (!on_http(c)) {
        return false;
      }
      return c.kind == wire::http || on_ws_frames(c);
    case wire::wsagent:
    case wire::mqtt_ws:
      return on_ws_frames(c);
    case wire::mqtt: {
      std::size_t used = on_mqtt(c, c.in.data(), c.in.size());
      if (used > c.in.size()) {
        return false;
      }
      c.in.erase(0, used);
      return c.in.size() < 1024 * 1024;
    }
  }
  return false;
}

void sender::on_readable(sender_conn& c) {
  char buf[16384];
  for (;;) {
    ssize_t r = recv(c.fd, buf, sizeof buf, MSG_DONTWAIT);
    if (r > 0) {
      c.in.append(buf, static_cast<std::size_t>(r));
      continue;
    }
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      break;
    }
    if (r < 0 && errno == EINTR) {
      continue;
    }
    drop(c);  // end of stream or error
    return;
  }
  if (!on_input(c)) {
    drop(c);
  }
}

void sender::accept_all() {
  for (;;) {
    int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      return;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (static_cast<std::size_t>(fd) >= conns_.size()) {
      conns_.resize(static_cast<std::size_t>(fd) + 1);
    }
    conns_[fd] = std::make_unique<sender_conn>();
    conns_[fd]->fd = fd;
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
    ev.data.fd = fd;
    epoll_ctl(ep_, EPOLL_CTL_ADD, fd, &ev);
  }
}

int sender::run() {
  listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  socklen_t alen = sizeof opt_.listen;
  if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&opt_.listen), sizeof opt_.listen) != 0 ||
      listen(listen_fd_, 4096) != 0 ||
      getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&opt_.listen), &alen) != 0) {
    std::fprintf(stderr, "wsagent-loadgen-sender: listen: %s\n", std::strerror(errno));
    return 1;
  }
  ep_ = epoll_create1(EPOLL_CLOEXEC);
  epoll_event lev{};
  lev.events = EPOLLIN;
  lev.data.fd = listen_fd_;
  epoll_ctl(ep_, EPOLL_CTL_ADD, listen_fd_, &lev);
  char addr[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &opt_.listen.sin_addr, addr, sizeof addr);
  std::printf("listening %s:%u\n", addr, ntohs(opt_.listen.sin_port));
  std::fflush(stdout);

  uint64_t start = now_ns();
  uint64_t next_round = start;
  epoll_event evs[512];
  while (stop_requested == 0 && (ever_streamed_ == 0 || !streaming_.empty())) {
    uint64_t now = now_ns();
    bool busy = false;
    if (opt_.interval_ns == 0) {
      for (int fd : streaming_) {
        const sender_conn& c = *conns_[fd];
        busy = busy || (c.writable && (opt_.frames == 0 || c.seq < opt_.frames));
      }
    }
    // Paced rounds wake with millisecond resolution: give intervals of a millisecond or more.
    int timeout = busy ? 0 : opt_.interval_ns == 0 || streaming_.empty() ? 100
                  : next_round > now ? static_cast<int>((next_round - now) / ns_per_ms) : 0;
    int n = epoll_wait(ep_, evs, 512, timeout);
    for (int i = 0; i < n; ++i) {
      int fd = evs[i].data.fd;
      if (fd == listen_fd_) {
        accept_all();
        continue;
      }
      sender_conn& c = *conns_[fd];
      if ((evs[i].events & EPOLLOUT) != 0 && c.fd >= 0) {
        c.writable = true;
        write_some(c);
      }
      if ((evs[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0 && c.fd >= 0) {
        on_readable(c);
      }
    }
    now = now_ns();
    bool round = opt_.interval_ns != 0 && now >= next_round;
    if (round) {
      next_round += opt_.interval_ns;
      if (next_round < now) {
        next_round = now + opt_.interval_ns;  // fell behind: no burst of catch-up rounds
      }
    }
    for (std::size_t i = streaming_.size(); i-- > 0;) {  // drop() swaps the last one in
      sender_conn& c = *conns_[streaming_[i]];
      bool more = opt_.frames == 0 || c.seq < opt_.frames;
      // A paced subscriber whose socket is still full skips the round (fewer frames, no gap).
      if (more && c.out.size() == c.out_off && (round || (opt_.interval_ns == 0 && c.writable))) {
        append_batch(c, now);
        write_some(c);
      }
    }
  }
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  double cpu = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
               static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
  std::fprintf(stderr,
               "wsagent-loadgen-sender: %llu subscribers, %llu frames, %llu bytes in %.2f s, "
               "cpu %.2f s\n",
               static_cast<unsigned long long>(ever_streamed_),
               static_cast<unsigned long long>(frames_sent_),
               static_cast<unsigned long long>(bytes_sent_),
               static_cast<double>(now_ns() - start) / 1e9, cpu);
  return 0;
}

bool parse_number(const char* s, uint64_t& out) {
  char* end = nullptr;
  unsigned long long v = std::strtoull(s, &end, 10);
  out = v;
  return end != s && *end == '\0';
}

int usage() {
  std::fputs("usage: wsagent-loadgen-sender [--listen HOST:PORT] [--batch K] [--size B]\n"
             "         [--interval-us U] [--frames N]   (see the comment in sender.cpp)\n",
             stderr);
  return 2;
}

}  // namespace
}  // namespace wsa::loadgen

int main(int argc, char** argv) {
  using namespace wsa::loadgen;
  std::signal(SIGPIPE, SIG_IGN);
  std::signal(SIGINT, [](int) { stop_requested = 1; });
  std::signal(SIGTERM, [](int) { stop_requested = 1; });
  sender_options o;
  o.listen.sin_family = AF_INET;
  o.listen.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  for (int i = 1; i < argc; i += 2) {
    std::string_view a = argv[i];
    if (i + 1 >= argc) {
      return usage();
    }
    const char* v = argv[i + 1];
    uint64_t n = 0;
    if (a == "--listen") {
      std::string_view hp = v;
      std::size_t colon = hp.rfind(':');
      std::string host(hp.substr(0, colon));
      if (colon == std::string_view::npos ||
          inet_pton(AF_INET, host.c_str(), &o.listen.sin_addr) != 1 ||
          !parse_number(v + colon + 1, n) || n > 65535) {
        return usage();
      }
      o.listen.sin_port = htons(static_cast<uint16_t>(n));
    } else if (a == "--batch" && parse_number(v, n) && n > 0 && n <= 100000) {
      o.batch = static_cast<uint32_t>(n);
    } else if (a == "--size" && parse_number(v, n) && n <= 1024 * 1024) {
      o.size = static_cast<uint32_t>(n);
    } else if (a == "--interval-us" && parse_number(v, n)) {
      o.interval_ns = n * 1000;
    } else if (a == "--frames" && parse_number(v, n)) {
      o.frames = n;
    } else {
      return usage();
    }
  }
  return sender(o).run();
}

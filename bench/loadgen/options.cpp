// Command line of wsagent-loadgen (see options.h) and its --help.
#include "options.h"

#include <arpa/inet.h>
#include <netdb.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "payload.h"

namespace wsa::loadgen {

namespace {

constexpr const char* help = R"(Usage: wsagent-loadgen SCENARIO [OPTIONS]

Load generator for wsagent and its peers. Speaks wsagent protocol v1 over WebSocket, MQTT
3.1.1 over TCP and MQTT 3.1.1 over WebSocket (subprotocol `mqtt`), so that every server
runs the same workload. One io_uring event loop per process; --procs forks more.

Scenarios:
  fanout   S subscribers over T tags (subscriber s takes tag s mod T), P publishers, each
           message B bytes of payload, at a fixed total rate or at saturation (--rate 0).
           Reports published and delivered msgs/s, loss, publish-to-deliver latency.
  conns    N idle subscribed connections held for --duration; with --server-pid reports the
           server's resident memory per connection (VmRSS after minus before, / N).
  churn    Cycles of connect, subscribe (wsagent: with `since` = the last seq this process
           saw on that tag), close, started at --rate per second, at most --concurrency at
           a time. Reports cycles/s achieved, errors, handshake and subscribe latency.

Target:
  --url URL              ws://HOST:PORT/PATH for wsagent and mqtt-ws, mqtt://HOST:PORT (or
                         tcp://) for mqtt. HOST is an IPv4 address or localhost.
                         [default: ws://127.0.0.1:8080/ws, mqtt://127.0.0.1:1883]
                         Several nodes of one cluster: URL1,URL2,... (same path);
                         subscriber s goes to node s mod N, publisher p to node p mod N.
  --proto P              wsagent | mqtt | mqtt-ws                       [default: wsagent]
  --token T              wsagent: sent as `Authorization: Bearer T` in the upgrade.

Workload:
  --subs S               fanout subscribers                                 [default: 100]
  --conns N              conns: connections to hold (same as --subs)       [default: 1000]
  --tags T               tags `<prefix>0` .. `<prefix>T-1`                    [default: 1]
  --tag-prefix P         tag name prefix; MQTT topics replace `.` with `/`
                                                            [default: bench.t -> bench/t0]
  --pubs P               publishers; publisher p publishes round robin to the tags
                         t with t mod P = p mod P (or to tag p mod T when P > T).
                         fanout --pubs 0: the server sends by itself (as
                         wsagent-loadgen-sender does, its stamps as publisher 0);
                         delivered msgs/s, latency and order are measured, loss is not
                                                       [default: fanout 1, churn 0]
  --size B               payload bytes: the JSON `data` of wsagent, the MQTT payload
                         ({"t":send ns,"i":publisher,"n":seq,"p":"xx.."}, min ~45)
                                                                          [default: 64]
  --rate R               fanout: messages/s over all publishers, 0 = saturation;
                         churn: cycles/s, 0 = as fast as --concurrency allows
                                                       [default: fanout 0, churn 100]
  --pub-rate R           churn: background messages/s from --pubs publishers [default: 0]
  --acks W               publish with an `id` (wsagent) or QoS 1 (MQTT) and keep at most W
                         unacknowledged per publisher; 0 = fire and forget    [default: 0]
  --qos Q                MQTT QoS of subscriptions and publishes, 0 or 1; QoS 1 without
                         --acks means --acks 1000                             [default: 0]
  --window N             closed loop: a publisher stops while N of its messages have not
                         yet reached this process's subscribers of its tags (counted in
                         deliveries / subscribers per tag). Finds the highest rate a server
                         sustains without overload; 0 = open loop               [default: 0]
  --warmup D             not measured, after all connections are ready
                                                       [default: fanout 2s, others 0]
  --duration D           measured window                   [default: 10s, conns 5s]
  --drain D              after the window, wait at most D for in-flight deliveries
                         (stops earlier after 500ms without one)              [default: 5s]

Machinery:
  --procs K              worker processes, each taking every K-th connection; results are
                         merged. 0 = just enough for this process's open-file limit
                                                                           [default: 0]
  --src-addrs K          bind connection i to 127.0.0.(1 + i mod K) before connect, for
                         more than ~28k connections to one loopback port. 0 = one address
                         per 20,000 connections                              [default: 0]
  --connect-concurrency N   connection setups in flight per process        [default: 256]
  --concurrency N        churn: cycles in flight over all processes          [default: 64]
  --pub-window BYTES     bytes a publisher may have queued (ours + the socket's SO_SNDBUF,
                         set to this too); bounds saturation honestly     [default: 64KiB]
  --timeout D            connection setup / churn cycle deadline             [default: 10s]
  --coalesce D           after a turn that received data, sleep D before reaping again so
                         each receive drains more segments: less load generator CPU per
                         message, but ACKs go out later, which on loopback changes the
                         server's TCP sending and inflates latency by far more than D. For
                         throughput-only runs; latency figures are not comparable.
                                                                              [default: 0]
  --delayed-acks         subscribers' sockets in delayed-ACK mode (TCP_QUICKACK 0, renewed
                         every 100 ms): a read no longer ACKs every pushed segment, about
                         every second one, which on loopback halves the ACK input the
                         load generator's CPU runs for the server's socket. Changes the
                         server's TCP (later ACKs): compare latency with and without.
  --keepalive S          MQTT keepalive seconds; PINGREQ after S/2 idle       [default: 60]
  --recv-buf BYTES       size of each provided receive buffer            [default: 128KiB]
  --recv-bufs N          provided receive buffers per process (power of 2)  [default: 1024]
  --server-pid PID       sample the server's VmRSS, VmHWM and CPU time (/proc/PID) before
                         the run, at the start and the end of the window
  --json                 print one JSON object instead of the text report
  -v, --verbose          progress on stderr
  -h, --help             this text

Durations: 10s, 500ms, 2m, 250us, or a bare number of seconds. Sizes: 64, 4KiB, 4k, 1MiB.

Measurement:
  Every message carries its send time (CLOCK_MONOTONIC ns) and a per-publisher, per-tag
  sequence number in its payload. At a fixed rate, sends are scheduled by intended time
  and the stamp IS the intended time, so latency includes any delay of the load
  generator or of backpressure (no coordinated omission). At saturation the stamp is the
  time the message was written into the publisher's queue. Messages stamped inside the
  window count as published; each one is expected once by every subscriber of its tag;
  loss = expected - received after the drain. Gaps and reorders are also counted from the
  sequence numbers (whole run). Latency is p50/p90/p99/p99.9/max of receive time - stamp.
  Own CPU is getrusage() over the window, summed over the processes (100% = one core).

Exit status: 0 when the run completed (even with loss), 1 on setup failure, 2 on usage.
)";

bool parse_duration(std::string_view s, uint64_t& out) {
  if (s.empty()) {
    return false;
  }
  char* end = nullptr;
  std::string tmp(s);
  double v = std::strtod(tmp.c_str(), &end);
  std::string_view unit(end);
  double mul;
  if (unit.empty() || unit == "s") {
    mul = 1e9;
  } else if (unit == "ms") {
    mul = 1e6;
  } else if (unit == "us") {
    mul = 1e3;
  } else if (unit == "m" || unit == "min") {
    mul = 60e9;
  } else {
    return false;
  }
  if (!(v >= 0) || end == tmp.c_str()) {
    return false;
  }
  out = static_cast<uint64_t>(std::llround(v * mul));
  return true;
}

bool parse_size(std::string_view s, uint64_t& out) {
  std::string tmp(s);
  char* end = nullptr;
  unsigned long long v = std::strtoull(tmp.c_str(), &end, 10);
  if (end == tmp.c_str()) {
    return false;
  }
  std::string_view unit(end);
  uint64_t mul = 1;
  if (unit.empty() || unit == "B") {
    mul = 1;
  } else if (unit == "k" || unit == "K" || unit == "KiB" || unit == "kB") {
    mul = 1024;
  } else if (unit == "m" || unit == "M" || unit == "MiB" || unit == "MB") {
    mul = 1024 * 1024;
  } else {
    return false;
  }
  out = v * mul;
  return true;
}

bool parse_u32(std::string_view s, uint32_t& out) {
  uint64_t v = 0;
  if (!parse_size(s, v) || v > UINT32_MAX) {
    return false;
  }
  out = static_cast<uint32_t>(v);
  return true;
}

bool parse_double(std::string_view s, double& out) {
  std::string tmp(s);
  char* end = nullptr;
  out = std::strtod(tmp.c_str(), &end);
  return end != tmp.c_str() && *end == '\0' && out >= 0;
}

bool parse_one_url(options& o, std::string_view u, std::string& err) {
  std::size_t scheme_end = u.find("://");
  if (scheme_end == std::string_view::npos) {
    err = "--url needs a scheme (ws:// or mqtt://)";
    return false;
  }
  std::string_view scheme = u.substr(0, scheme_end);
  bool ws = scheme == "ws";
  bool mqtt = scheme == "mqtt" || scheme == "tcp";
  if (!ws && !mqtt) {
    err = "--url: unsupported scheme (wss is not supported)";
    return false;
  }
  if (ws != (o.proto != proto_kind::mqtt)) {
    err = std::string("--url scheme does not fit --proto ") + proto_name(o.proto);
    return false;
  }
  std::string_view rest = u.substr(scheme_end + 3);
  std::size_t slash = rest.find('/');
  std::string_view hostport = rest.substr(0, slash);
  std::string path = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  if (!o.targets.empty() && path != o.path) {
    err = "--url: every node needs the same path";
    return false;
  }
  o.path = path;
  endpoint ep;
  ep.host_header = std::string(hostport);
  std::size_t colon = hostport.rfind(':');
  std::string host(colon == std::string_view::npos ? hostport : hostport.substr(0, colon));
  uint32_t port = mqtt ? 1883 : 80;
  if (colon != std::string_view::npos && !parse_u32(hostport.substr(colon + 1), port)) {
    err = "--url: bad port";
    return false;
  }
  if (port == 0 || port > 65535) {
    err = "--url: bad port";
    return false;
  }
  addrinfo hints{};
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (getaddrinfo(host.c_str(), nullptr, &hints, &res) != 0 || res == nullptr) {
    err = "--url: cannot resolve " + host + " to IPv4";
    return false;
  }
  std::memcpy(&ep.addr, res->ai_addr, sizeof(sockaddr_in));
  freeaddrinfo(res);
  ep.addr.sin_port = htons(static_cast<uint16_t>(port));
  o.targets.push_back(std::move(ep));
  return true;
}

// --url U1,U2,...: the nodes of one cluster; connections are spread over them.
bool parse_url(options& o, std::string& err) {
  o.targets.clear();
  std::string_view all = o.url;
  while (true) {
    std::size_t comma = all.find(',');
    if (!parse_one_url(o, all.substr(0, comma), err)) {
      return false;
    }
    if (comma == std::string_view::npos) {
      return true;
    }
    all = all.substr(comma + 1);
  }
}

}  // namespace

const char* help_text() { return help; }

const char* proto_name(proto_kind p) {
  switch (p) {
    case proto_kind::wsagent:
      return "wsagent";
    case proto_kind::mqtt:
      return "mqtt";
    case proto_kind::mqtt_ws:
      return "mqtt-ws";
  }
  return "?";
}

const char* scenario_name(scenario_kind s) {
  switch (s) {
    case scenario_kind::fanout:
      return "fanout";
    case scenario_kind::conns:
      return "conns";
    case scenario_kind::churn:
      return "churn";
  }
  return "?";
}

int parse_options(int argc, char** argv, options& o, std::string& err) {
  if (argc < 2) {
    err = "missing scenario (fanout, conns or churn); see --help";
    return -1;
  }
  std::string_view sc = argv[1];
  if (sc == "-h" || sc == "--help" || sc == "help") {
    return 1;
  }
  if (sc == "fanout") {
    o.scenario = scenario_kind::fanout;
  } else if (sc == "conns") {
    o.scenario = scenario_kind::conns;
  } else if (sc == "churn") {
    o.scenario = scenario_kind::churn;
  } else {
    err = "unknown scenario '" + std::string(sc) + "' (fanout, conns, churn)";
    return -1;
  }
  bool fanout = o.scenario == scenario_kind::fanout;
  bool churn = o.scenario == scenario_kind::churn;
  o.subs = fanout ? 100 : churn ? 0 : 1000;
  o.pubs = fanout ? 1 : 0;
  o.rate = churn ? 100 : 0;
  o.warmup_ns = fanout ? 2 * 1000000000ull : 0;
  o.duration_ns = o.scenario == scenario_kind::conns ? 5 * 1000000000ull : 10 * 1000000000ull;
  o.drain_ns = 5 * 1000000000ull;
  o.quiet_ns = 500 * 1000000ull;
  o.timeout_ns = 10 * 1000000000ull;

  for (int i = 2; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "-h" || a == "--help") {
      return 1;
    }
    if (a == "--json") {
      o.json = true;
      continue;
    }
    if (a == "-v" || a == "--verbose") {
      o.verbose = true;
      continue;
    }
    if (a == "--delayed-acks") {
      o.delayed_acks = true;
      continue;
    }
    std::string_view v;
    std::size_t eq = a.find('=');
    if (a.substr(0, 2) == "--" && eq != std::string_view::npos) {
      v = a.substr(eq + 1);
      a = a.substr(0, eq);
    } else {
      if (i + 1 >= argc) {
        err = "option " + std::string(a) + " needs a value";
        return -1;
      }
      v = argv[++i];
    }
    bool ok = true;
    uint64_t sz = 0;
    if (a == "--url") {
      o.url = std::string(v);
    } else if (a == "--proto") {
      if (v == "wsagent") {
        o.proto = proto_kind::wsagent;
      } else if (v == "mqtt") {
        o.proto = proto_kind::mqtt;
      } else if (v == "mqtt-ws") {
        o.proto = proto_kind::mqtt_ws;
      } else {
        ok = false;
      }
    } else if (a == "--token") {
      o.token = std::string(v);
    } else if (a == "--subs" || a == "--conns") {
      ok = parse_u32(v, o.subs);
    } else if (a == "--tags") {
      ok = parse_u32(v, o.tags) && o.tags > 0;
    } else if (a == "--tag-prefix") {
      o.tag_prefix = std::string(v);
    } else if (a == "--pubs") {
      ok = parse_u32(v, o.pubs);
    } else if (a == "--size") {
      ok = parse_u32(v, o.size) && o.size <= 64u * 1024 * 1024;
    } else if (a == "--rate") {
      ok = parse_double(v, o.rate);
    } else if (a == "--pub-rate") {
      ok = parse_double(v, o.pub_rate);
    } else if (a == "--window") {
      ok = parse_u32(v, o.window);
    } else if (a == "--coalesce") {
      ok = parse_duration(v, o.coalesce_ns) && o.coalesce_ns <= 10 * 1000000ull;
    } else if (a == "--acks") {
      ok = parse_u32(v, o.acks);
    } else if (a == "--qos") {
      uint32_t q = 0;
      ok = parse_u32(v, q) && q <= 1;
      o.qos = static_cast<uint8_t>(q);
    } else if (a == "--warmup") {
      ok = parse_duration(v, o.warmup_ns);
    } else if (a == "--duration") {
      ok = parse_duration(v, o.duration_ns) && o.duration_ns > 0;
    } else if (a == "--drain") {
      ok = parse_duration(v, o.drain_ns);
    } else if (a == "--timeout") {
      ok = parse_duration(v, o.timeout_ns) && o.timeout_ns > 0;
    } else if (a == "--procs") {
      ok = parse_u32(v, o.procs) && o.procs <= 256;
    } else if (a == "--src-addrs") {
      ok = parse_u32(v, o.src_addrs) && o.src_addrs <= 254;
    } else if (a == "--connect-concurrency") {
      ok = parse_u32(v, o.connect_concurrency) && o.connect_concurrency > 0;
    } else if (a == "--concurrency") {
      ok = parse_u32(v, o.concurrency) && o.concurrency > 0;
    } else if (a == "--pub-window") {
      ok = parse_size(v, sz) && sz >= 1024 && sz <= (1u << 30);
      o.pub_window = static_cast<uint32_t>(sz);
    } else if (a == "--keepalive") {
      ok = parse_u32(v, o.keepalive_s) && o.keepalive_s <= 65535;
    } else if (a == "--recv-buf") {
      ok = parse_size(v, sz) && sz >= 1024 && sz <= (1u << 20);
      o.recv_buf_size = static_cast<uint32_t>(sz);
    } else if (a == "--recv-bufs") {
      ok = parse_u32(v, o.recv_bufs) && o.recv_bufs >= 8 && o.recv_bufs <= 32768 &&
           (o.recv_bufs & (o.recv_bufs - 1)) == 0;
    } else if (a == "--server-pid") {
      uint32_t pid = 0;
      ok = parse_u32(v, pid) && pid > 0;
      o.server_pid = static_cast<int>(pid);
    } else {
      err = "unknown option " + std::string(a) + "; see --help";
      return -1;
    }
    if (!ok) {
      err = "bad value for " + std::string(a) + ": '" + std::string(v) + "'";
      return -1;
    }
  }
  if (o.url.empty()) {
    o.url = o.proto == proto_kind::mqtt ? "mqtt://127.0.0.1:1883" : "ws://127.0.0.1:8080/ws";
  }
  if (!parse_url(o, err)) {
    return -1;
  }
  if (fanout && o.subs == 0) {
    err = "fanout needs --subs above 0";
    return -1;
  }
  if (o.scenario == scenario_kind::conns && o.subs == 0) {
    err = "conns needs --conns above 0";
    return -1;
  }
  if (o.size < data_min_size + 20) {
    // Stamps hold ~16 digits of nanoseconds; smaller requests are rounded up, and say so.
    o.size = data_min_size + 20;
  }
  if (o.proto == proto_kind::wsagent && o.qos != 0) {
    err = "--qos is for MQTT; wsagent acknowledgements use --acks";
    return -1;
  }
  if (o.proto != proto_kind::wsagent && !o.token.empty()) {
    err = "--token is for --proto wsagent";
    return -1;
  }
  if (o.acks > 0 && o.proto != proto_kind::wsagent) {
    o.qos = 1;  // MQTT acknowledges publishes only at QoS 1
  }
  if (o.qos == 1 && o.acks == 0) {
    o.acks = 1000;  // packet ids are 16 bits: unacknowledged QoS 1 publishes must be bounded
  }
  if (o.acks > 65000) {
    err = "--acks at most 65000";
    return -1;
  }
  return 0;
}

}  // namespace wsa::loadgen

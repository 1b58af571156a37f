// Load generator configuration: parsed once from argv by the parent process, inherited by
// every worker through fork(), read-only afterwards.
#pragma once

#include <netinet/in.h>

#include <cstdint>
#include <string>
#include <vector>

namespace wsa::loadgen {

enum class scenario_kind : uint8_t { fanout, conns, churn };
enum class proto_kind : uint8_t { wsagent, mqtt, mqtt_ws };

// One server address of --url (several for many nodes).
struct endpoint {
  sockaddr_in addr{};
  std::string host_header;  // host[:port] as written in the URL
};

struct options {
  scenario_kind scenario = scenario_kind::fanout;
  proto_kind proto = proto_kind::wsagent;
  std::string url;              // as given: one URL, or several separated by commas
  std::string path = "/";       // the same on every node
  std::vector<endpoint> targets;  // connection i (its index among its role) goes to i mod N
  std::string token;

  uint32_t subs = 0;  // fanout: subscribers; conns: connections; churn: unused
  uint32_t tags = 1;
  uint32_t pubs = 0;
  uint32_t size = 64;
  double rate = 0;      // fanout: msgs/s over all publishers (0 = saturation); churn: cycles/s
  double pub_rate = 0;  // churn: background publishing, msgs/s over all publishers
  uint64_t warmup_ns = 0;
  uint64_t duration_ns = 0;
  uint64_t drain_ns = 0;    // most time to wait for in-flight deliveries after the window
  uint64_t quiet_ns = 0;    // the drain ends earlier after this long without a delivery
  uint64_t timeout_ns = 0;  // connection setup / churn cycle deadline
  uint32_t procs = 0;       // 0 = as many as the per-process file limit needs
  uint32_t acks = 0;        // >0: publish with id (wsagent) / QoS 1 (MQTT), at most this many unacknowledged
  uint8_t qos = 0;          // MQTT subscription and publish QoS (0 or 1)
  uint32_t pub_window = 64 * 1024;  // bytes queued per publisher (user space + SO_SNDBUF)
  uint32_t window = 0;      // >0: closed loop, messages not yet delivered locally per publisher
  uint64_t coalesce_ns = 0; // sleep this long before reaping when the last turn received
  bool delayed_acks = false;  // --delayed-acks: subscribers' sockets ACK as in pingpong mode
  uint32_t connect_concurrency = 256;
  uint32_t concurrency = 64;  // churn: cycles in flight
  uint32_t src_addrs = 0;     // 0 = auto (one 127.0.0.x per 20,000 connections)
  int server_pid = 0;
  uint32_t keepalive_s = 60;
  uint32_t recv_buf_size = 128 * 1024;
  uint32_t recv_bufs = 1024;
  std::string tag_prefix = "bench.t";
  bool json = false;
  bool verbose = false;
};

// Returns 0: run; 1: help was printed; -1: error described in `err`.
int parse_options(int argc, char** argv, options& out, std::string& err);
const char* help_text();
const char* proto_name(proto_kind p);
const char* scenario_name(scenario_kind s);

}  // namespace wsa::loadgen

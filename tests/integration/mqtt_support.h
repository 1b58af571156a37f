// What the MQTT integration tests share: the outside clients (mosquitto_pub, mosquitto_sub,
// paho through mqtt_paho.py), a server with MQTT on, and a few raw packets for the cases no
// client library will send. Counters are read with support/metrics_reader.h (metric_sum).
#pragma once

#include <unistd.h>

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "support/child_process.h"
#include "support/http_client.h"
#include "support/metrics_reader.h"
#include "support/server_process.h"
#include "support/tcp_socket.h"

namespace wsa::test {

inline const std::string mosquitto_pub = "/usr/bin/mosquitto_pub";
inline const std::string mosquitto_sub = "/usr/bin/mosquitto_sub";
inline const std::string python = "/usr/bin/python3";
inline const std::string paho_script =
    std::string(WSAGENT_SOURCE_DIR) + "/tests/integration/mqtt_paho.py";
inline constexpr auto wait_time = 20s;

inline bool have_clients() {
  for (const std::string& path : {mosquitto_pub, mosquitto_sub, python}) {
    if (access(path.c_str(), X_OK) != 0) {
      ADD_FAILURE() << path << " is missing: scripts/install-deps.sh installs it";
      return false;
    }
  }
  return true;
}

// The --mqtt-listen port, from the `listening` line (mqtt=HOST:PORT).
inline uint16_t mqtt_port(const server_process& server) {
  const std::string log = server.log();
  const std::size_t at = log.find(" mqtt=");
  if (at == std::string::npos) {
    return 0;
  }
  const std::size_t end = log.find_first_of(" \n", at + 6);
  const std::string addr = log.substr(at + 6, end - at - 6);
  return static_cast<uint16_t>(std::stoi(addr.substr(addr.rfind(':') + 1)));
}

// A server with MQTT on both listeners; `extra` adds options (auth).
inline std::vector<std::string> mqtt_args(std::vector<std::string> extra = {"--no-auth"}) {
  std::vector<std::string> args{"--mqtt-listen", "127.0.0.1:0", "--mqtt-ws", "--shards", "2"};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

inline std::vector<std::string> with(std::vector<std::string> base,
                                     std::vector<std::string> more) {
  base.insert(base.end(), more.begin(), more.end());
  return base;
}

// mosquitto_sub printing "topic payload" lines; ready() once its SUBACK arrived (-d). Its
// output is line-buffered (stdbuf), so that lines reach the test as they are printed.
struct subscriber {
  child_process process;
  subscriber(uint16_t port, std::vector<std::string> options)
      : process(with({"/usr/bin/stdbuf", "-oL", mosquitto_sub, "-h", "127.0.0.1", "-p",
                      std::to_string(port), "-v", "-d"},
                     std::move(options))) {}
  bool ready() { return process.started() && process.wait_for("received SUBACK", wait_time); }
};

inline int publish(uint16_t port, std::vector<std::string> options) {
  child_process pub(
      with({mosquitto_pub, "-h", "127.0.0.1", "-p", std::to_string(port)}, std::move(options)));
  const int status = pub.wait_exit(wait_time);
  if (status != 0) {
    ADD_FAILURE() << "mosquitto_pub exited " << status << ":\n" << pub.output();
  }
  return status;
}

// A 3.1.1 CONNECT with keep-alive `seconds` and client id "raw".
inline std::string connect_packet(uint8_t seconds) {
  std::string p = {0x10, 15, 0, 4, 'M', 'Q', 'T', 'T', 4, 0x02, 0, static_cast<char>(seconds),
                   0, 3, 'r', 'a', 'w'};
  return p;
}

// A 3.1.1 SUBSCRIBE of one filter at QoS 1.
inline std::string subscribe_packet(uint16_t id, std::string_view filter) {
  std::string p = {static_cast<char>(0x82), static_cast<char>(2 + 2 + filter.size() + 1),
                   static_cast<char>(id >> 8), static_cast<char>(id & 0xff), 0,
                   static_cast<char>(filter.size())};
  p.append(filter);
  p += '\x01';
  return p;
}

// Reads until `count` bytes arrived (or EOF/timeout); what arrived.
inline std::string read_at_least(tcp_socket& s, std::size_t count) {
  std::string got;
  while (got.size() < count &&
         s.read_some(got, wait_time) == tcp_socket::read_status::data) {
  }
  return got;
}

// A 5.0 CONNECT with keep-alive `seconds`, no property, client id `id`.
inline std::string connect_v5_packet(uint8_t seconds, std::string_view id = "raw5") {
  std::string p = {0, 4, 'M', 'Q', 'T', 'T', 5, 0x02, 0, static_cast<char>(seconds), 0, 0,
                   static_cast<char>(id.size())};
  p.append(id);
  return std::string{0x10, static_cast<char>(p.size())} + p;
}

// The next whole packet from `s` (bytes after it stay in `buffered`); empty on EOF/timeout.
inline std::string next_packet(tcp_socket& s, std::string& buffered) {
  while (true) {
    std::size_t length = 0;
    std::size_t at = 1;
    for (unsigned shift = 0; at < buffered.size() && at < 5; shift += 7) {
      const auto byte = static_cast<uint8_t>(buffered[at++]);
      length |= std::size_t{byte & 0x7fu} << shift;
      if ((byte & 0x80) == 0) {
        if (buffered.size() >= at + length) {
          std::string packet = buffered.substr(0, at + length);
          buffered.erase(0, at + length);
          return packet;
        }
        break;
      }
    }
    if (s.read_some(buffered, wait_time) != tcp_socket::read_status::data) {
      return {};
    }
  }
}

}  // namespace wsa::test

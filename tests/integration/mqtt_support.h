// What the MQTT integration tests share: the outside clients (mosquitto_pub, mosquitto_sub,
// paho through mqtt_paho.py), a server with MQTT on, and a few raw packets for the cases no
// client library will send. Counters are read with support/metrics_reader.h (metric_sum).
#pragma once

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
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

// mosquitto_sub at QoS 1 (with the session `options` say: -c -i ID...), printing "topic
// payload" lines until `count` messages (exit 27 after -W `seconds` without them).
inline std::string receive(uint16_t port, const std::vector<std::string>& options, int count,
                           int* status = nullptr, int seconds = 3) {
  child_process sub(with({mosquitto_sub, "-h", "127.0.0.1", "-p", std::to_string(port), "-q",
                          "1", "-v", "-C", std::to_string(count), "-W", std::to_string(seconds)},
                         options));
  const int code = sub.wait_exit(wait_time);
  if (status != nullptr) {
    *status = code;
  } else {
    EXPECT_EQ(code, 0) << sub.output();
  }
  return sub.output();
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

// An MQTT packet: `first` byte, the remaining length (variable byte integer), `body`.
inline std::string mqtt_packet(uint8_t first, std::string_view body) {
  std::string p(1, static_cast<char>(first));
  std::size_t n = body.size();
  do {
    const auto byte = static_cast<uint8_t>(n % 128);
    n /= 128;
    p += static_cast<char>(n > 0 ? byte | 0x80 : byte);
  } while (n > 0);
  p.append(body);
  return p;
}

// A device that never reconnects by itself (mosquitto_sub would take its session back at
// once) and subscribes as told: raw packets, a persistent session `id` (3.1.1 clean session
// 0; 5.0 session expiry 600 s) subscribed to `filters` at QoS 1 in one SUBSCRIBE (when the
// CONNACK accepted it, and there are any).
struct raw_device {
  tcp_socket s;
  std::string buffered;
  bool v5;
  std::string connack;

  raw_device(uint16_t port, std::string_view id, bool is_v5,
             const std::vector<std::string>& filters)
      : s(tcp_socket::connect(port)), v5(is_v5) {
    std::string body{0, 4, 'M', 'Q', 'T', 'T', static_cast<char>(v5 ? 5 : 4), 0, 0, 60};
    if (v5) {
      body += std::string{5, 0x11, 0, 0, 0x02, 0x58};  // Session Expiry Interval 600
    }
    body += std::string{0, static_cast<char>(id.size())};
    body.append(id);
    s.send_all(mqtt_packet(0x10, body));
    connack = next_packet(s, buffered);
    if (!accepted() || filters.empty()) {
      return;
    }
    std::string sub{0, 1};
    if (v5) {
      sub += '\0';  // no properties
    }
    for (const std::string& filter : filters) {
      sub += std::string{0, static_cast<char>(filter.size())};
      sub.append(filter);
      sub += '\x01';
    }
    s.send_all(mqtt_packet(0x82, sub));
    EXPECT_EQ(static_cast<uint8_t>(next_packet(s, buffered)[0]), 0x90);
  }

  // CONNACK with return code / reason 0.
  bool accepted() const { return connack.size() >= 4 && connack[0] == 0x20 && connack[3] == 0; }

  // The next PUBLISH's payload, acknowledged unless told not to; empty when something else
  // came.
  std::string receive(bool acknowledge = true) {
    const std::string p = next_packet(s, buffered);
    if (p.empty() || (static_cast<uint8_t>(p[0]) >> 4) != 3) {
      return {};
    }
    std::size_t at = 1;
    while (static_cast<uint8_t>(p[at]) & 0x80) {
      ++at;
    }
    ++at;
    const std::size_t topic = (static_cast<uint8_t>(p[at]) << 8) | static_cast<uint8_t>(p[at + 1]);
    at += 2 + topic;
    const std::string packet_id = p.substr(at, 2);
    at += 2;
    if (v5) {
      at += 1 + static_cast<uint8_t>(p[at]);  // (short properties)
    }
    if (acknowledge) {
      s.send_all(std::string{0x40, 2} + packet_id);
    }
    return p.substr(at);
  }

  // DISCONNECT (reason 0), then the server's close.
  void disconnect() {
    s.send_all(std::string{static_cast<char>(0xe0), 0});
    EXPECT_TRUE(s.wait_eof(wait_time));
  }
};

// mosquitto_sub's output lines sorted (messages of different topics come in no set order),
// without the "Timed out" it prints when -W ends it.
inline std::string sorted_lines(const std::string& text) {
  std::istringstream in(text);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    if (line != "Timed out") {
      lines.push_back(line);
    }
  }
  std::sort(lines.begin(), lines.end());
  std::string out;
  for (const std::string& line : lines) {
    out += line + "\n";
  }
  return out;
}

// The retained messages a new subscriber of `filter` gets now (all that come within a
// second, or the first `count` when given): "topic payload retain" lines, sorted (the
// copies' tree order is a hash order).
inline std::string retained_now(uint16_t port, const std::string& filter, int count = 0) {
  // Line-buffered: -W ends it with a signal, which would lose a block-buffered stdout.
  std::vector<std::string> args{"/usr/bin/stdbuf", "-oL", mosquitto_sub, "-h", "127.0.0.1",
                                "-p", std::to_string(port), "-t", filter, "-F", "%t %p %r",
                                "-W", "1"};
  if (count > 0) {
    args.insert(args.end(), {"-C", std::to_string(count)});
  }
  child_process sub(std::move(args));
  (void)sub.wait_exit(wait_time);
  return sorted_lines(sub.output());
}

// Changes travel through Redis to every node: asks again until a subscriber gets `expected`
// (`count`: as retained_now's, for a filter that can match no more than that).
inline testing::AssertionResult eventually(uint16_t port, const std::string& filter,
                                           const std::string& expected, int count = 0) {
  std::string got;
  for (int attempt = 0; attempt < 20; ++attempt) {
    got = retained_now(port, filter, count);
    if (got == expected) {
      return testing::AssertionSuccess();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return testing::AssertionFailure() << "got:\n" << got << "wanted:\n" << expected;
}

}  // namespace wsa::test

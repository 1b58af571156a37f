// The codec and session logic against MQTT clients nobody here wrote: Debian's
// mosquitto_pub / mosquitto_sub 2.0 and python3-paho-mqtt 1.6, in 3.1.1 and 5.0. The test
// plays a tiny broker on a loopback socket (port 0) built from this library alone: it
// decodes what the client sends, decides with `session`, and answers with the encoders and
// shared PUBLISH frames. The clients exit 0 only when the server's packets made sense to
// them (CONNACK accepted, SUBACK granted, PUBACK/PUBREC/PUBCOMP matched), and what they print
// shows that they read our PUBLISHes right. Every wait is bounded; children are killed on
// every path.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "decode_util.h"
#include "mqtt/connect.h"
#include "mqtt/encoder.h"
#include "mqtt/outbound.h"
#include "mqtt/payload.h"
#include "mqtt/publish.h"
#include "mqtt/session.h"
#include "support/child_process.h"

namespace wsa::mqtt::test {
namespace {

using clock_type = std::chrono::steady_clock;
constexpr auto io_timeout = std::chrono::seconds(20);

// A client program with its stdout and stderr in one pipe, killed if still running at the end.
class child : public wsa::test::child_process {
 public:
  using child_process::child_process;
  /// Waits for the exit (reading its output meanwhile): the exit status, or -1 on timeout.
  int wait() { return wait_exit(std::chrono::duration_cast<std::chrono::milliseconds>(io_timeout)); }
};

// One client connection to the test's broker.
class peer {
 public:
  peer() {
    listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    listen(listen_fd_, 4);
    socklen_t len = sizeof a;
    getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
  }
  peer(const peer&) = delete;
  peer& operator=(const peer&) = delete;
  ~peer() {
    if (fd_ >= 0) {
      close(fd_);
    }
    close(listen_fd_);
  }

  std::string port() const { return std::to_string(port_); }

  bool accept_client() {
    pollfd p{listen_fd_, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(std::chrono::milliseconds(io_timeout).count())) != 1) {
      return false;
    }
    fd_ = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    return fd_ >= 0;
  }

  /// The next packet from the client (decoded in place or gathered), or nullopt at the end
  /// of the stream, on a timeout or on a decode error (the test then fails).
  const packet* next() {
    for (;;) {
      if (!pending_.empty()) {
        std::string_view in(pending_);
        decode_error e;
        const decode_status s = decoder_.next(in, packet_, e);
        consumed_ = pending_.size() - in.size();
        if (s == decode_status::packet) {
          keep_ = std::move(pending_);  // the packet's views stay valid until the next call
          pending_ = keep_.substr(consumed_);
          return &packet_;
        }
        if (s == decode_status::error) {
          ADD_FAILURE() << "decode error: " << e.what;
          return nullptr;
        }
        pending_.clear();  // consumed into the decoder's buffer
      }
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, static_cast<int>(std::chrono::milliseconds(io_timeout).count())) != 1) {
        return nullptr;
      }
      char buf[4096];
      const ssize_t n = recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) {
        return nullptr;
      }
      pending_.assign(buf, static_cast<std::size_t>(n));
    }
  }

  const packet& expect(packet_type t) {
    const packet* p = next();
    static const packet none;
    if (p == nullptr) {
      ADD_FAILURE() << "expected " << packet_type_name(t) << ", got nothing";
      return none;
    }
    EXPECT_EQ(p->type, t) << describe(*p);
    return *p;
  }

  void send(std::string_view bytes) {
    while (!bytes.empty()) {
      const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n <= 0) {
        ADD_FAILURE() << "send failed";
        return;
      }
      bytes.remove_prefix(static_cast<std::size_t>(n));
    }
  }

  // --- a tiny broker made of the library -------------------------------------------------

  /// CONNECT -> negotiate -> session -> CONNACK.
  session& handshake() {
    const packet& p = expect(packet_type::connect);
    outcome_ = negotiate(p.connect, lim_, "auto-1");
    EXPECT_EQ(outcome_.code, reason::success) << outcome_.what;
    session_.emplace(outcome_.params, lim_, 0);
    window_.emplace(outcome_.params.outbound_window, lim_.max_pending);
    const connack_fields f = connack_for(outcome_, false);
    std::string out(connack_size(level(), f), '\0');
    write_connack(out.data(), level(), f);
    send(out);
    return *session_;
  }

  protocol level() const { return outcome_.params.level; }

  /// SUBSCRIBE -> SUBACK.
  void subscribe() {
    const packet& p = expect(packet_type::subscribe);
    auto allow = [](std::string_view) { return true; };
    subscribe_outcome out;
    session_->on_subscribe(p.subscribe, allow, out);
    std::string suback(suback_size(level(), out.codes), '\0');
    write_suback(suback.data(), level(), p.subscribe.packet_id, out.codes);
    send(suback);
  }

  /// Sends a message on `tag` as the server would: one shared frame per message, used as
  /// it is where possible, else a head of its own followed by the shared body.
  void deliver(std::string_view tag, std::string_view data, uint8_t message_qos, bool retained,
               std::string_view forwarded = {}) {
    delivery_plan plan;
    ASSERT_TRUE(session_->plan_delivery(tag, false, plan)) << tag;
    std::string topic;
    ASSERT_TRUE(tag_to_topic(tag, topic));
    std::string scratch;
    const outgoing_message m{topic, data_to_payload(data, scratch), forwarded};
    std::string shared(shared_frame_size(level(), m), '\0');
    write_shared_frame(shared.data(), level(), m);
    const std::string_view body =
        std::string_view(shared).substr(shared.size() - body_size(level(), m));
    delivery d;
    ASSERT_EQ(session_->prepare(m, plan, {.qos = message_qos, .retain = retained}, retained, 0, d),
              prepare_result::send);
    if (d.qos == 1) {
      uint16_t id = 0;
      ASSERT_EQ(window_->offer(std::string(tag), id),
                outbound_window<std::string>::offer_result::send);
      d.packet_id = id;
    }
    if (uses_shared_frame(d)) {
      send(shared);
      return;
    }
    std::string head(head_size(level(), m, d), '\0');
    write_head(head.data(), level(), m, d);
    send(head);
    send(body);
  }

  /// PUBACK for a delivery.
  void expect_puback() {
    const packet& p = expect(packet_type::puback);
    std::string acked;
    EXPECT_TRUE(window_->acknowledge(p.ack.packet_id, acked)) << p.ack.packet_id;
  }

  /// A PUBLISH from the client, answered through its whole QoS exchange. Returns
  /// "tag payload" as published.
  std::string serve_publish() {
    const packet* p = next();
    if (p == nullptr || p->type != packet_type::publish) {
      ADD_FAILURE() << "expected PUBLISH" << (p ? ": " + describe(*p) : "");
      return {};
    }
    auto allow = [](std::string_view) { return true; };
    const publish_decision d = session_->on_publish(p->publish, allow);
    EXPECT_EQ(d.what, publish_decision::action::publish) << d.why;
    std::string scratch;
    std::string result =
        std::string(d.tag) + " " + std::string(payload_to_data(p->publish.payload, scratch));
    const uint8_t qos = p->publish.qos;
    const uint16_t id = p->publish.packet_id;
    if (qos == 0) {
      return result;
    }
    const ack_fields ack = session_->publish_done(qos, id, reason::success);
    std::string out(ack_size(level(), ack), '\0');
    write_ack(out.data(), level(), qos == 1 ? packet_type::puback : packet_type::pubrec, ack);
    send(out);
    if (qos == 2) {
      const packet& rel = expect(packet_type::pubrel);
      const ack_fields comp = session_->on_pubrel(rel.ack.packet_id);
      out.assign(ack_size(level(), comp), '\0');
      write_ack(out.data(), level(), packet_type::pubcomp, comp);
      send(out);
    }
    return result;
  }

  void expect_disconnect() {
    const packet& p = expect(packet_type::disconnect);
    EXPECT_EQ(session_->on_disconnect(p.disconnect), reason::success);
    EXPECT_EQ(next(), nullptr) << "the client closes after DISCONNECT";
  }

  limits lim_;

 private:
  int listen_fd_ = -1;
  int fd_ = -1;
  uint16_t port_ = 0;
  decoder decoder_{1 << 20};
  packet packet_;
  std::string pending_;
  std::string keep_;
  std::size_t consumed_ = 0;
  connect_outcome outcome_;
  std::optional<session> session_;
  std::optional<outbound_window<std::string>> window_;
};

const char* const mosquitto_pub = "/usr/bin/mosquitto_pub";
const char* const mosquitto_sub = "/usr/bin/mosquitto_sub";
const char* const python = "/usr/bin/python3";

bool have(const char* path) {
  if (access(path, X_OK) != 0) {
    ADD_FAILURE() << path << " is missing: scripts/install-deps.sh installs it";
    return false;
  }
  return true;
}

TEST(mqtt_client_interop, mosquitto_pub_v311_qos1_and_qos2) {
  ASSERT_TRUE(have(mosquitto_pub));
  for (const char* qos : {"1", "2"}) {
    peer server;
    child pub({mosquitto_pub,
               "-h",
               "127.0.0.1",
               "-p",
               server.port(),
               "-V",
               "mqttv311",
               "-i",
               "dev-1",
               "-u",
               "ignored",
               "-P",
               "the.jwt",
               "-q",
               qos,
               "-t",
               "sensors/1/temp",
               "-m",
               "{\"t\":21.5}",
               "--will-topic",
               "sensors/1/status",
               "--will-payload",
               "gone"});
    ASSERT_TRUE(pub.started());
    ASSERT_TRUE(server.accept_client());
    session& s = server.handshake();
    EXPECT_EQ(s.params().client_id, "dev-1");
    EXPECT_EQ(s.params().will.tag, "sensors.1.status");
    EXPECT_EQ(server.serve_publish(), "sensors.1.temp {\"t\":21.5}");
    server.expect_disconnect();
    EXPECT_EQ(pub.wait(), 0) << pub.output();
  }
}

TEST(mqtt_client_interop, mosquitto_pub_v5_properties_and_alias) {
  ASSERT_TRUE(have(mosquitto_pub));
  peer server;
  child pub({mosquitto_pub, "-h",         "127.0.0.1", "-p",          server.port(),
             "-V",          "mqttv5",     "-i",        "dev-5",       "-P",
             "the.jwt",     "-q",         "1",         "-t",          "sensors/2",
             "-m",          "plain text", "-D",        "publish",     "user-property",
             "unit",        "C",          "-D",        "publish",     "message-expiry-interval",
             "30",          "-D",         "publish",   "topic-alias", "1"});
  ASSERT_TRUE(pub.started());
  ASSERT_TRUE(server.accept_client());
  server.handshake();
  EXPECT_EQ(server.serve_publish(), "sensors.2 \"plain text\"");
  server.expect_disconnect();
  EXPECT_EQ(pub.wait(), 0) << pub.output();
}

TEST(mqtt_client_interop, mosquitto_sub_v311_reads_our_publishes) {
  ASSERT_TRUE(have(mosquitto_sub));
  peer server;
  child sub({mosquitto_sub, "-h", "127.0.0.1", "-p", server.port(), "-V", "mqttv311", "-i", "sub-1",
             "-q", "1", "-t", "room/#", "-C", "3", "-F", "%t|%p|%q|%r"});
  ASSERT_TRUE(sub.started());
  ASSERT_TRUE(server.accept_client());
  server.handshake();
  server.subscribe();
  server.deliver("room.1.temp", "21.5", 0, false);  // QoS 0: the shared frame
  server.deliver("room", "\"text\"", 1, false);     // QoS 1: head + shared body
  server.expect_puback();
  server.deliver("room.2", "{\"$b64\":\"AAH/\"}", 1, true);  // retained, binary
  server.expect_puback();
  server.expect_disconnect();
  ASSERT_EQ(sub.wait(), 0) << sub.output();
  EXPECT_EQ(sub.output(), std::string("room/1/temp|21.5|0|0\nroom|text|1|0\nroom/2|") +
                              std::string("\x00\x01\xff", 3) + "|1|1\n");
}

// libmosquitto 2.0 (like paho-python 1.6) announces a Topic Alias Maximum when asked to but
// refuses a PUBLISH whose topic is left to an alias ("protocol error"): this is why the
// server assigns no aliases unless configured to (limits::max_outbound_aliases is 0). With
// the default, the client's announced maximum changes nothing and every PUBLISH carries its
// topic.
TEST(mqtt_client_interop, mosquitto_sub_v5_ids_properties) {
  ASSERT_TRUE(have(mosquitto_sub));
  peer server;
  child sub({mosquitto_sub,
             "-h",
             "127.0.0.1",
             "-p",
             server.port(),
             "-V",
             "mqttv5",
             "-i",
             "sub-5",
             "-q",
             "1",
             "-t",
             "room/+",
             "-C",
             "3",
             "-D",
             "connect",
             "topic-alias-maximum",
             "5",
             "-D",
             "subscribe",
             "subscription-identifier",
             "9",
             "-F",
             "%t|%p|%q|%P|%S|%A"});
  ASSERT_TRUE(sub.started());
  ASSERT_TRUE(server.accept_client());
  EXPECT_EQ(server.handshake().params().outbound_alias_maximum, 0);
  server.subscribe();
  const std::string user = unhex("26 0004 756e6974 0001 43");  // unit:C
  server.deliver("room.a", "1", 1, false, user);
  server.expect_puback();
  server.deliver("room.a", "2", 0, false);
  server.deliver("room.b", "3", 1, false);
  server.expect_puback();
  server.expect_disconnect();
  ASSERT_EQ(sub.wait(), 0) << sub.output();
  EXPECT_EQ(sub.output(), "room/a|1|1|unit:C|9|\nroom/a|2|0||9|\nroom/b|3|1||9|\n");
}

// With aliases turned on, libmosquitto reads an alias set together with its topic.
TEST(mqtt_client_interop, mosquitto_sub_v5_reads_an_alias_with_its_topic) {
  ASSERT_TRUE(have(mosquitto_sub));
  peer server;
  server.lim_.max_outbound_aliases = 4;
  child sub({mosquitto_sub, "-h", "127.0.0.1", "-p", server.port(), "-V", "mqttv5", "-i", "sub-5a",
             "-t", "room/+", "-C", "2", "-D", "connect", "topic-alias-maximum", "5", "-F",
             "%t|%p|%A"});
  ASSERT_TRUE(sub.started());
  ASSERT_TRUE(server.accept_client());
  EXPECT_EQ(server.handshake().params().outbound_alias_maximum, 4);
  server.subscribe();
  server.deliver("room.a", "1", 0, false);  // alias 1, topic sent
  server.deliver("room.b", "2", 0, false);  // alias 2, topic sent
  server.expect_disconnect();
  ASSERT_EQ(sub.wait(), 0) << sub.output();
  EXPECT_EQ(sub.output(), "room/a|1|1\nroom/b|2|2\n");
}

// paho, 3.1.1 and 5.0: CONNACK, SUBACK, two deliveries, then its QoS 1 and QoS 2 publishes.
void paho_round(const char* version) {
  ASSERT_TRUE(have(python));
  peer server;
  child paho({python, WSAGENT_MQTT_TEST_DIR "/paho_client.py", server.port(), version});
  ASSERT_TRUE(paho.started());
  ASSERT_TRUE(server.accept_client());
  session& s = server.handshake();
  EXPECT_EQ(s.params().client_id, "paho-it");
  server.subscribe();
  server.deliver("a.x", "{\"n\":1}", 0, false);
  server.deliver("a.y", "{\"$b64\":\"AAH/\"}", 1, false,
                 std::string(version) == "5" ? unhex("26 0001 6b 0001 76") : "");
  server.expect_puback();
  EXPECT_EQ(server.serve_publish(), "a.from-paho \"hello 1\"");
  EXPECT_EQ(server.serve_publish(), "a.from-paho \"hello 2\"");
  server.expect_disconnect();
  ASSERT_EQ(paho.wait(), 0) << paho.output();
  const std::string& out = paho.output();
  EXPECT_NE(out.find("{\"event\": \"connack\", \"rc\": 0, \"session_present\": false}"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("\"event\": \"suback\", \"granted\": [1]"), std::string::npos) << out;
  EXPECT_NE(out.find("\"topic\": \"a/x\", \"payload\": \"7b226e223a317d\", \"qos\": 0"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("\"topic\": \"a/y\", \"payload\": \"0001ff\", \"qos\": 1"), std::string::npos)
      << out;
  if (std::string(version) == "5") {
    EXPECT_NE(out.find("\"user\": [[\"k\", \"v\"]]"), std::string::npos) << out;
  }
  EXPECT_NE(out.find("{\"event\": \"published\", \"qos\": 2, \"ok\": true}"), std::string::npos)
      << out;
  EXPECT_NE(out.find("{\"event\": \"done\"}"), std::string::npos) << out;
}

TEST(mqtt_client_interop, paho_v311) { paho_round("311"); }
TEST(mqtt_client_interop, paho_v5) { paho_round("5"); }

}  // namespace
}  // namespace wsa::mqtt::test

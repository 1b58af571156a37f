// Draining (docs/protocol.md "Close codes": 1001 going away; docs/protocol.md "Draining"): on
// SIGTERM/SIGINT the node stops accepting, tells every WebSocket client to reconnect
// elsewhere (`reconnect`, at moments spread over --drain-spread), closes it with 1001 and
// exits 0 once they are gone, or after --drain-timeout. With --drain-delay, /readyz answers
// 503 first while the node goes on accepting and serving, so that balancers move away before
// the listener closes.
#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <string>
#include <thread>
#include <vector>

#include "support/http_client.h"
#include "support/server_process.h"
#include "support/ws_client.h"

namespace wsa::test {
namespace {

using clock_type = std::chrono::steady_clock;

TEST(Shutdown, SigtermClosesClientsWith1001AndExitsZero) {
  server_process server({"--no-auth", "--shards", "2", "--drain-timeout", "60s"});
  ASSERT_TRUE(server.start());
  std::vector<ws_client> clients;
  for (int i = 0; i < 20; ++i) {
    clients.push_back(ws_client::connect(server.port()));
    ASSERT_EQ(clients.back().call(R"({"op":"sub","id":1,"tags":["t"]})").op(), "ok");
  }

  server.signal(SIGTERM);
  for (ws_client& c : clients) {
    const ws_message close = c.wait_close(10s);
    EXPECT_EQ(close.close_code, 1001) << close.close_reason;
    c.send_close(1001);  // complete the close handshake
    EXPECT_TRUE(c.wait_eof(10s));
    c.socket().close();  // the server lingers until our FIN (or 2 s)
  }
  // Every client left: the node exits without waiting for its one-minute deadline.
  EXPECT_EQ(server.wait_exit(30s), 0) << server.log();
  // (the log is read by another thread: its last lines may come just after the exit)
  EXPECT_TRUE(server.wait_for_log("msg=stopped", 5s)) << server.log();

  int error = 0;
  EXPECT_FALSE(tcp_socket::try_connect(server.port(), error, 1s).is_open());
  EXPECT_EQ(error, ECONNREFUSED);
}

TEST(Shutdown, DrainingRefusesNewConnectionsAndEndsAtTheDeadline) {
  server_process server({"--no-auth", "--drain-timeout", "1s"});
  ASSERT_TRUE(server.start());
  ws_client polite = ws_client::connect(server.port());
  ws_client stubborn = ws_client::connect(server.port());  // never answers the close
  tcp_socket http_idle = tcp_socket::connect(server.port());  // no request yet

  const auto signalled = clock_type::now();
  server.signal(SIGTERM);
  EXPECT_EQ(polite.wait_close(3s).close_code, 1001);
  // The shard is draining now: the listener is gone while the stubborn client holds on.
  int error = 0;
  tcp_socket late = tcp_socket::try_connect(server.port(), error, 1s);
  EXPECT_FALSE(late.is_open()) << "a connection was accepted while draining";
  EXPECT_EQ(error, ECONNREFUSED);
  EXPECT_TRUE(http_idle.wait_eof(3s)) << "an HTTP connection outlived the drain start";

  // The stubborn client holds the drain until its deadline, then the node ends anyway.
  const int status = server.wait_exit(30s);
  EXPECT_EQ(status, 0) << server.log();
  EXPECT_GE(clock_type::now() - signalled, 1s) << "ended before the drain deadline";
  EXPECT_EQ(stubborn.wait_close(1s).close_code, 1001);
  EXPECT_TRUE(stubborn.wait_eof(1s));
}

TEST(Shutdown, QueuedMessagesGoOutBeforeThe1001) {
  server_process server({"--no-auth", "--drain-timeout", "3s"});
  ASSERT_TRUE(server.start());
  ws_client reader = ws_client::connect(server.port());
  ASSERT_EQ(reader.call(R"({"op":"sub","id":1,"tags":["q"]})").op(), "ok");
  ws_client pub = ws_client::connect(server.port());
  constexpr int count = 200;
  for (int n = 1; n <= count; ++n) {
    pub.send_text(R"({"op":"pub","tag":"q","data":)" + std::to_string(n) + "}");
  }
  ASSERT_EQ(pub.call(R"({"op":"ping","id":0})").op(), "ok");  // all published
  server.signal(SIGTERM);
  // Not read until now: everything queued comes first, then the close.
  for (int n = 1; n <= count; ++n) {
    const json_message m = reader.next_json();
    ASSERT_EQ(m.op(), "msg") << m.text();
    ASSERT_EQ(m.u64("/seq"), static_cast<uint64_t>(n));
  }
  EXPECT_EQ(reader.wait_close().close_code, 1001);
}

TEST(Shutdown, ClientsAreToldToReconnectAtMomentsSpreadOverTheDrainSpread) {
  server_process server(
      {"--no-auth", "--shards", "2", "--drain-spread", "2s", "--drain-timeout", "20s"});
  ASSERT_TRUE(server.start());
  std::vector<ws_client> clients;
  for (int i = 0; i < 12; ++i) {
    clients.push_back(ws_client::connect(server.port()));
    EXPECT_NE(clients.back().hello().text().find(R"("reconnect")"), std::string::npos)
        << "hello.features lists reconnect: " << clients.back().hello().text();
    ASSERT_EQ(clients.back().call(R"({"op":"sub","id":1,"tags":["spread"]})").op(), "ok");
  }

  server.signal(SIGTERM);
  // Each client: the reconnect notice, then 1001, at its own moment.
  // Each client read by its own thread, so that each time is when its close arrived.
  std::vector<clock_type::time_point> closed_at(clients.size());
  std::vector<std::string> notices(clients.size());
  std::vector<uint16_t> codes(clients.size());
  std::vector<std::thread> readers;
  for (std::size_t i = 0; i < clients.size(); ++i) {
    readers.emplace_back([&, i] {
      try {
        notices[i] = clients[i].wait_for("reconnect", 10s).text();
        codes[i] = clients[i].wait_close(10s).close_code;
        closed_at[i] = clock_type::now();
        clients[i].send_close(1001);
      } catch (const std::exception& e) {
        notices[i] = e.what();
      }
    });
  }
  for (std::thread& t : readers) {
    t.join();
  }
  for (std::size_t i = 0; i < clients.size(); ++i) {
    EXPECT_EQ(notices[i], R"({"op":"reconnect","within_ms":2000})");
    EXPECT_EQ(codes[i], 1001);
  }
  std::sort(closed_at.begin(), closed_at.end());
  // Twelve moments drawn within 2 s: all within 200 ms of each other has odds of ~1e-10.
  EXPECT_GE(closed_at.back() - closed_at.front(), 200ms) << "closed all at once";
  EXPECT_EQ(server.wait_exit(30s), 0) << server.log();
}

TEST(Shutdown, DrainDelayTurnsReadyzTo503WhileTheNodeStillServes) {
  server_process server({"--no-auth", "--shards", "2", "--drain-delay", "4s", "--drain-timeout",
                         "10s"});
  ASSERT_TRUE(server.start());
  EXPECT_EQ(http_get(server.port(), "/readyz").status, 200);
  ws_client old_client = ws_client::connect(server.port());
  ASSERT_EQ(old_client.call(R"({"op":"sub","id":1,"tags":["delay"]})").op(), "ok");

  const auto signalled = clock_type::now();
  server.signal(SIGTERM);
  http_response ready;
  for (int i = 0; i < 100; ++i) {
    ready = http_get(server.port(), "/readyz");
    if (ready.status == 503) {
      break;
    }
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(ready.status, 503);
  EXPECT_EQ(ready.body, "{\"status\":\"draining\"}\n");
  EXPECT_NE(http_get(server.port(), "/metrics").body.find("wsagent_ready 0\n"),
            std::string::npos);

  // Still accepting and serving: a new client connects and publishes, the old one receives.
  ws_client late = ws_client::connect(server.port());
  EXPECT_EQ(late.call(R"({"op":"pub","id":2,"tag":"delay","data":1})").op(), "ok");
  const json_message m = old_client.next_json();
  EXPECT_EQ(m.op(), "msg") << m.text();

  // Then the drain as usual, not before the delay is over.
  EXPECT_EQ(old_client.wait_close(15s).close_code, 1001);
  EXPECT_GE(clock_type::now() - signalled, 4s) << "drained before --drain-delay was over";
  EXPECT_EQ(late.wait_close(5s).close_code, 1001);
  old_client.send_close(1001);
  late.send_close(1001);
  EXPECT_EQ(server.wait_exit(30s), 0) << server.log();
  int error = 0;
  EXPECT_FALSE(tcp_socket::try_connect(server.port(), error, 1s).is_open());
}

TEST(Shutdown, SigintDrainsLikeSigterm) {
  server_process server({"--no-auth"});
  ASSERT_TRUE(server.start());
  ws_client c = ws_client::connect(server.port());
  server.signal(SIGINT);
  EXPECT_EQ(c.wait_close(3s).close_code, 1001);
  c.send_close(1001);
  EXPECT_TRUE(c.wait_eof(3s));
  c.socket().close();
  EXPECT_EQ(server.wait_exit(5s), 0) << server.log();
}

TEST(Shutdown, IdleServerStopsAtOnce) {
  // Nothing to drain: the node does not wait for its one-minute deadline.
  server_process server({"--no-auth", "--shards", "2", "--drain-timeout", "60s"});
  ASSERT_TRUE(server.start());
  EXPECT_EQ(server.stop(30s), 0) << server.log();
}

}  // namespace
}  // namespace wsa::test

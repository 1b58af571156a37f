// Connections that go away while their output waits behind the shard's bound of 64 sends a
// turn (src/server/shard_io.cpp, flush_dirty): a fan-out to 400 subscribers leaves most of
// them queued in dirty_ for later turns, and a quarter of them reset, a quarter close with
// a WebSocket close frame, and a quarter drop the TCP connection while the burst goes out.
// The rest must get every message in seq order, the leavers must be freed (a connection
// freed while still queued is a use-after-free that the ASan build reports), and the shard
// must keep serving.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "support/http_client.h"
#include "support/metrics_reader.h"
#include "support/server_process.h"
#include "support/ws_client.h"

namespace wsa::test {
namespace {

constexpr int subscriber_count = 400;  // six to seven turns of sends per message
constexpr int burst = 40;              // messages, in two halves around the first leavers
// Large enough that a turn's sends do not drain a message's fan-out at once.
const std::string filler(512, 'q');

enum class leaver { stays, resets, sends_close, drops_tcp };

leaver role_of(int index) {
  switch (index % 4) {
    case 1:
      return leaver::resets;
    case 2:
      return leaver::sends_close;
    case 3:
      return leaver::drops_tcp;
    default:
      return leaver::stays;
  }
}

void publish(ws_client& publisher, int from, int to) {
  // Unanswered and back to back: the fan-outs pile up in the subscribers' queues.
  for (int n = from; n <= to; ++n) {
    publisher.send_text(R"({"op":"pub","tag":"wide","data":{"n":)" + std::to_string(n) +
                        R"(,"pad":")" + filler + "\"}}");
  }
}

void expect_in_order(ws_client& sub, int from, int to, int index) {
  for (int n = from; n <= to; ++n) {
    const json_message m = sub.next_json(10s);
    ASSERT_EQ(m.op(), "msg") << "subscriber " << index << ": " << m.text().substr(0, 200);
    ASSERT_EQ(m.u64("/seq"), static_cast<uint64_t>(n)) << "subscriber " << index;
    ASSERT_EQ(m.u64("/data/n"), static_cast<uint64_t>(n)) << "subscriber " << index;
  }
}

TEST(SendBoundClose, LeaversWhileQueuedBehindTheBoundAreFreedAndTheRestGetEverything) {
  server_process server({"--no-auth", "--shards", "1", "--pub-rate", "0"});
  ASSERT_TRUE(server.start());
  std::vector<ws_client> subs;
  for (int i = 0; i < subscriber_count; ++i) {
    subs.push_back(ws_client::connect(server.port()));
    ASSERT_EQ(subs.back().call(R"({"op":"sub","id":1,"tags":["wide"]})").op(), "ok");
  }
  const std::string before = http_get(server.port(), "/metrics").body;
  ws_client publisher = ws_client::connect(server.port());

  publish(publisher, 1, burst / 2);
  // While the first half is being fanned out: resets and close frames.
  for (int i = 0; i < subscriber_count; ++i) {
    if (role_of(i) == leaver::resets) {
      subs[i].socket().reset();
    } else if (role_of(i) == leaver::sends_close) {
      subs[i].send_close(1000);
    }
  }
  publish(publisher, burst / 2 + 1, burst);
  for (int i = 0; i < subscriber_count; ++i) {
    if (role_of(i) == leaver::drops_tcp) {
      subs[i].socket().close();
    }
  }

  int survivors = 0;
  for (int i = 0; i < subscriber_count; ++i) {
    if (role_of(i) != leaver::stays) {
      continue;
    }
    ++survivors;
    expect_in_order(subs[i], 1, burst, i);
    if (HasFatalFailure()) {
      return;
    }
  }
  // A close frame is answered after what was queued before it: a gapless prefix, then the
  // echo of the close.
  for (int i = 0; i < subscriber_count; ++i) {
    if (role_of(i) != leaver::sends_close) {
      continue;
    }
    uint64_t last = 0;
    for (;;) {
      const ws_message got = subs[i].next_message(10s);
      if (got.opcode == ws_op::close) {
        EXPECT_EQ(got.close_code, 1000) << "subscriber " << i;
        break;
      }
      ASSERT_EQ(got.opcode, ws_op::text) << "subscriber " << i;
      const json_message m{got.payload};
      ASSERT_EQ(m.op(), "msg") << "subscriber " << i << ": " << got.payload.substr(0, 200);
      ASSERT_EQ(m.u64("/seq"), last + 1) << "subscriber " << i << ": a gap before the close";
      last = m.u64("/seq");
    }
    EXPECT_LE(last, static_cast<uint64_t>(burst));
  }

  const std::string after = http_get(server.port(), "/metrics").body;
  // The scenario happened: fan-outs were split over turns, so leavers were queued.
  EXPECT_GT(metric_sum_in(after, "wsagent_send_turns_split_total"),
            metric_sum_in(before, "wsagent_send_turns_split_total"));

  // Every leaver freed: the survivors, the publisher and the scrape itself remain.
  for (int i = 0; i < subscriber_count; ++i) {
    if (role_of(i) == leaver::sends_close) {
      subs[i].socket().close();
    }
  }
  const uint64_t expected = static_cast<uint64_t>(survivors) + 2;
  EXPECT_EQ(await_metric_sum(server.port(), "wsagent_connections", expected), expected);

  // Still serving: a newcomer and the survivors get the next publish, and nothing else was
  // queued for anyone.
  ws_client newcomer = ws_client::connect(server.port());
  ASSERT_EQ(newcomer.call(R"({"op":"sub","id":1,"tags":["wide"]})").op(), "ok");
  const json_message ok =
      publisher.call(R"({"op":"pub","id":7,"tag":"wide","data":{"n":)" +
                     std::to_string(burst + 1) + "}}");
  ASSERT_EQ(ok.op(), "ok") << ok.text();
  EXPECT_EQ(ok.u64("/seq"), static_cast<uint64_t>(burst + 1));
  expect_in_order(newcomer, burst + 1, burst + 1, -1);
  for (int i = 0; i < subscriber_count; ++i) {
    if (role_of(i) == leaver::stays) {
      expect_in_order(subs[i], burst + 1, burst + 1, i);
      if (HasFatalFailure()) {
        return;
      }
    }
  }
}

}  // namespace
}  // namespace wsa::test

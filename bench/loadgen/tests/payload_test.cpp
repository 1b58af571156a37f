// Payload tests: exact requested size, valid-looking JSON, stamp round trip inside a
// wsagent msg envelope and after re-encoding with spaces; op/id/seq readers.
#include <gtest/gtest.h>

#include <string>

#include "payload.h"
#include "result.h"

namespace wsa::loadgen {
namespace {

std::string body(const stamp& s, std::size_t size) {
  std::string out(data_size(s, size), '\0');
  char* end = write_data(out.data(), s, size);
  EXPECT_EQ(static_cast<std::size_t>(end - out.data()), out.size());
  return out;
}

TEST(payload, padded_to_requested_size) {
  stamp s{1234567890123456ull, 3, 42};
  std::string b = body(s, 64);
  EXPECT_EQ(b.size(), 64u);
  EXPECT_EQ(b.rfind("{\"t\":1234567890123456,\"i\":3,\"n\":42,\"p\":\"", 0), 0u);
  EXPECT_EQ(b.substr(b.size() - 3), "x\"}");
  EXPECT_EQ(body(s, 4096).size(), 4096u);
  std::string small = body(s, 0);  // too small a request: no padding, still whole JSON
  EXPECT_EQ(small, "{\"t\":1234567890123456,\"i\":3,\"n\":42,\"p\":\"\"}");
}

TEST(payload, stamp_from_msg_envelope_and_reencoded_json) {
  stamp s{987654321, 7, 4000000000u};
  std::string msg = "{\"op\":\"msg\",\"tag\":\"bench.t0\",\"seq\":58,\"data\":" + body(s, 80) + "}";
  stamp got;
  ASSERT_TRUE(parse_stamp(msg.data(), msg.size(), got));
  EXPECT_EQ(got.t, s.t);
  EXPECT_EQ(got.publisher, s.publisher);
  EXPECT_EQ(got.seq, s.seq);

  std::string spaced = "{\"op\": \"msg\", \"tag\": \"bench.t0\", \"seq\": 58, \"data\": "
                       "{\"t\": 55, \"i\": 2, \"n\": 9, \"p\": \"xx\"}}";
  ASSERT_TRUE(parse_stamp(spaced.data(), spaced.size(), got));
  EXPECT_EQ(got.t, 55u);
  EXPECT_EQ(got.publisher, 2u);
  EXPECT_EQ(got.seq, 9u);

  stamp fast;
  ASSERT_TRUE(parse_msg_stamp(msg.data(), msg.size(), msg_prefix("bench.t0"), fast));
  EXPECT_EQ(fast.t, s.t);
  EXPECT_EQ(fast.seq, s.seq);
  // Another tag than the subscriber's, or another layout: the search path still finds it.
  ASSERT_TRUE(parse_msg_stamp(msg.data(), msg.size(), msg_prefix("bench.t1"), fast));
  EXPECT_EQ(fast.t, s.t);
  ASSERT_TRUE(parse_msg_stamp(spaced.data(), spaced.size(), msg_prefix("bench.t0"), fast));
  EXPECT_EQ(fast.t, 55u);

  // Protocol 1.1 frames carry "ts" between seq and data: still the fast path's layout.
  std::string with_ts =
      "{\"op\":\"msg\",\"tag\":\"bench.t0\",\"seq\":58,\"ts\":1764950400123,\"data\":" +
      body(s, 80) + "}";
  ASSERT_TRUE(read_msg_stamp(with_ts.data(), with_ts.size(), msg_prefix("bench.t0"), fast));
  EXPECT_EQ(fast.t, s.t);
  EXPECT_EQ(fast.seq, s.seq);

  std::string none = "{\"op\":\"msg\",\"tag\":\"x\",\"seq\":1,\"data\":{\"text\":\"hi\"}}";
  EXPECT_FALSE(parse_stamp(none.data(), none.size(), got));
}

TEST(payload, op_id_and_seq_readers) {
  std::string ok = "{\"op\":\"ok\",\"id\":1,\"seq\":{\"bench.t0\":57},\"epoch\":{\"bench.t0\":\"9f\"}}";
  EXPECT_EQ(json_op(ok.data(), ok.size()), "ok");
  uint64_t v = 0;
  ASSERT_TRUE(json_u64(ok.data(), ok.size(), "\"id\"", v));
  EXPECT_EQ(v, 1u);
  ASSERT_TRUE(json_u64(ok.data(), ok.size(), "\"seq\"", v));
  EXPECT_EQ(v, 57u);
  std::string empty = "{\"op\":\"ok\",\"id\":1,\"seq\":{},\"epoch\":{\"a\":3}}";
  EXPECT_FALSE(json_u64(empty.data(), empty.size(), "\"seq\"", v));
  std::string spaced = "{ \"id\" : 12 , \"op\" : \"err\" }";
  EXPECT_EQ(json_op(spaced.data(), spaced.size()), "err");
  ASSERT_TRUE(json_u64(spaced.data(), spaced.size(), "\"id\"", v));
  EXPECT_EQ(v, 12u);
}

TEST(result, serialize_round_trip_and_merge) {
  run_result a;
  a.procs = 1;
  a.received_window = 10;
  a.window_ns = 1000;
  a.cpu_ns = 500;
  a.pub_window_per_tag = {2, 3};
  a.subs_per_tag = {4, 5};
  a.latency.record(1234);
  a.first_error = "boom";
  std::string wire;
  a.serialize(wire);
  run_result b;
  ASSERT_TRUE(b.deserialize(wire.data(), wire.size()));
  EXPECT_EQ(b.received_window, 10u);
  EXPECT_EQ(b.latency.count(), 1u);
  EXPECT_EQ(b.latency.max(), 1234u);
  EXPECT_EQ(b.first_error, "boom");
  EXPECT_DOUBLE_EQ(b.cpu_pct_max, 50.0);
  EXPECT_FALSE(b.deserialize(wire.data(), wire.size() - 3));

  run_result m;
  m.merge(b);
  m.merge(b);
  EXPECT_EQ(m.procs, 2u);
  EXPECT_EQ(m.received_window, 20u);
  EXPECT_EQ(m.window_ns, 1000u);       // side by side, not summed
  EXPECT_DOUBLE_EQ(m.cpu_pct(), 100.0);  // two processes at 50% each
  EXPECT_EQ(m.pub_window_per_tag[1], 6u);
  EXPECT_EQ(m.latency.count(), 2u);
}

}  // namespace
}  // namespace wsa::loadgen

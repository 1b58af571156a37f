// MQTT codec: decoding client packets (whole in the input, and gathered from small pieces),
// payload -> data mapping, and PUBLISH encoding for fan-out: one shared frame per message,
// then per subscriber either nothing (QoS 0: the shared frame by reference), a head written
// afresh, or a head template copied with its packet id patched (QoS 1).
#include <benchmark/benchmark.h>

#include <cstring>
#include <string>
#include <vector>

#include "mqtt/decoder.h"
#include "mqtt/payload.h"
#include "mqtt/publish.h"
#include "mqtt/session.h"

namespace {

using namespace wsa::mqtt;

std::string frame(uint8_t first, const std::string& body) {
  std::string out(1, static_cast<char>(first));
  char length[4];
  out.append(length, write_varint(length, static_cast<uint32_t>(body.size())));
  return out + body;
}

std::string be16(std::size_t v) { return {static_cast<char>(v >> 8), static_cast<char>(v & 0xff)}; }

std::string connect_packet(bool v5) {
  std::string body = be16(4) + "MQTT" + std::string(1, v5 ? 5 : 4) + "\x02" + be16(60);
  if (v5) {
    body += '\0';
  }
  return frame(0x10, body + be16(6) + "sensor");
}

// A QoS 1 PUBLISH on sensors/room-1/temp with a JSON payload of `size` bytes; 5.0 adds a
// user property and a message expiry interval.
std::string publish_packet(bool v5, std::size_t size, uint16_t id) {
  std::string payload = "{\"v\":\"" + std::string(size > 8 ? size - 8 : 0, 'x') + "\"}";
  std::string body = be16(19) + "sensors/room-1/temp" + be16(id);
  if (v5) {
    const std::string props = std::string("\x26", 1) + be16(4) + "unit" + be16(1) + "C" +
                              std::string("\x02\x00\x00\x00\x3c", 5);
    body += static_cast<char>(props.size());
    body += props;
  }
  return frame(0x32, body + payload);
}

void BM_decode_publish(benchmark::State& state) {
  const bool v5 = state.range(0) == 5;
  const auto size = static_cast<std::size_t>(state.range(1));
  std::string stream;
  constexpr int per_batch = 64;
  for (int i = 1; i <= per_batch; ++i) {
    stream += publish_packet(v5, size, static_cast<uint16_t>(i));
  }
  const std::string connect = connect_packet(v5);
  decoder d(1 << 20);
  std::string_view c(connect);
  packet p;
  decode_error e;
  d.next(c, p, e);
  for (auto _ : state) {
    std::string_view in(stream);
    while (!in.empty()) {
      if (d.next(in, p, e) != decode_status::packet) {
        state.SkipWithError("decode failed");
        return;
      }
      benchmark::DoNotOptimize(p.publish.payload.data());
    }
  }
  state.SetItemsProcessed(state.iterations() * per_batch);
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(stream.size()));
}
BENCHMARK(BM_decode_publish)->ArgsProduct({{4, 5}, {64, 1024}});

// The same stream arriving in 100-byte pieces: most packets are gathered in the decoder.
void BM_decode_publish_pieces(benchmark::State& state) {
  std::string stream;
  constexpr int per_batch = 64;
  for (int i = 1; i <= per_batch; ++i) {
    stream += publish_packet(false, 1024, static_cast<uint16_t>(i));
  }
  const std::string connect = connect_packet(false);
  decoder d(1 << 20);
  std::string_view c(connect);
  packet p;
  decode_error e;
  d.next(c, p, e);
  int64_t packets = 0;
  for (auto _ : state) {
    for (std::size_t at = 0; at < stream.size(); at += 100) {
      std::string_view in = std::string_view(stream).substr(at, 100);
      while (!in.empty()) {
        if (d.next(in, p, e) == decode_status::packet) {
          ++packets;
          benchmark::DoNotOptimize(p.publish.payload.data());
        }
      }
    }
  }
  state.SetItemsProcessed(packets);
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(stream.size()));
}
BENCHMARK(BM_decode_publish_pieces);

void BM_decode_connect(benchmark::State& state) {
  const std::string connect = connect_packet(true);
  for (auto _ : state) {
    decoder d(1 << 20);
    std::string_view in(connect);
    packet p;
    decode_error e;
    benchmark::DoNotOptimize(d.next(in, p, e));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_decode_connect);

void BM_payload_to_data(benchmark::State& state) {
  const auto size = static_cast<std::size_t>(state.range(0));
  const std::string json = "{\"v\":\"" + std::string(size - 8, 'x') + "\"}";
  std::string scratch;
  for (auto _ : state) {
    benchmark::DoNotOptimize(payload_to_data(json, scratch).data());
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(size));
}
BENCHMARK(BM_payload_to_data)->Arg(64)->Arg(1024)->Arg(16384);

// Fan-out of one message to `subscribers` 3.1.1 subscribers: the shared frame once, then
// per subscriber the bytes a connection's queue would take.
enum class fanout { qos0_shared, qos1_write_head, qos1_patch_head };

void run_fanout(benchmark::State& state, fanout how) {
  const auto subscribers = static_cast<std::size_t>(state.range(0));
  const std::string payload = "{\"v\":\"" + std::string(120, 'x') + "\"}";
  const outgoing_message m{"sensors/room-1/temp", payload, {}};
  std::vector<char> heads(subscribers * max_head_size(m.topic.size()));
  std::vector<const char*> refs(subscribers);  // what each subscriber's queue would hold
  std::vector<char> shared;
  uint16_t packet_id = 0;
  for (auto _ : state) {
    shared.resize(shared_frame_size(protocol::v311, m));
    write_shared_frame(shared.data(), protocol::v311, m);
    benchmark::DoNotOptimize(shared.data());
    switch (how) {
      case fanout::qos0_shared:
        for (std::size_t i = 0; i < subscribers; ++i) {
          refs[i] = shared.data();  // a reference to the shared frame
        }
        break;
      case fanout::qos1_write_head:
        for (std::size_t i = 0; i < subscribers; ++i) {
          const delivery d{.qos = 1, .packet_id = ++packet_id};
          write_head(heads.data() + i * max_head_size(m.topic.size()), protocol::v311, m, d);
        }
        break;
      case fanout::qos1_patch_head: {
        const delivery d{.qos = 1, .packet_id = 1};
        char head[max_head_size(255)];
        const std::size_t size =
            static_cast<std::size_t>(write_head(head, protocol::v311, m, d) - head);
        const std::size_t at = packet_id_offset(protocol::v311, m, d);
        for (std::size_t i = 0; i < subscribers; ++i) {
          char* out = heads.data() + i * max_head_size(m.topic.size());
          std::memcpy(out, head, size);
          patch_head(out, at, ++packet_id, false);
        }
        break;
      }
    }
    benchmark::DoNotOptimize(heads.data());
    benchmark::DoNotOptimize(refs.data());
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(subscribers));
}

void BM_fanout_qos0_shared(benchmark::State& state) { run_fanout(state, fanout::qos0_shared); }
void BM_fanout_qos1_write_head(benchmark::State& state) {
  run_fanout(state, fanout::qos1_write_head);
}
void BM_fanout_qos1_patch_head(benchmark::State& state) {
  run_fanout(state, fanout::qos1_patch_head);
}
BENCHMARK(BM_fanout_qos0_shared)->Arg(1)->Arg(100)->Arg(1000);
BENCHMARK(BM_fanout_qos1_write_head)->Arg(1)->Arg(100)->Arg(1000);
BENCHMARK(BM_fanout_qos1_patch_head)->Arg(1)->Arg(100)->Arg(1000);

// A session's decision on an inbound QoS 1 PUBLISH (alias lookup, topic -> tag, permission,
// receive maximum) and its PUBACK.
void BM_session_on_publish(benchmark::State& state) {
  limits lim;
  session_params params;
  params.client_id = "sensor";
  params.receive_maximum = 64;
  session s(params, lim, 0);
  const std::string bytes = connect_packet(false) + publish_packet(false, 64, 1);
  decoder d(1 << 20);
  std::string_view in(bytes);
  packet p;
  decode_error e;
  d.next(in, p, e);
  d.next(in, p, e);
  auto allow = [](std::string_view) { return true; };
  for (auto _ : state) {
    const publish_decision decision = s.on_publish(p.publish, allow);
    benchmark::DoNotOptimize(decision.tag.data());
    benchmark::DoNotOptimize(s.publish_done(1, p.publish.packet_id, reason::success));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_session_on_publish);

}  // namespace

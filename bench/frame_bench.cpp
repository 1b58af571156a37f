// WebSocket frames: encoding a server `msg` frame (header + JSON envelope + data) and
// decoding client frames through the wslay session (unmask, UTF-8 check, message assembly).
#include <benchmark/benchmark.h>

#include <string>

#include "json/writer.h"
#include "ws/frame.h"
#include "ws/session.h"

namespace {

void BM_encode_msg_frame(benchmark::State& state) {
  const std::string data = "{\"text\":\"" + std::string(static_cast<std::size_t>(state.range(0)), 'x') + "\"}";
  uint64_t seq = 1;
  for (auto _ : state) {
    const std::size_t json = wsa::msg_json_size("chat.lobby", seq, 1764950400123, data);
    wsa::frame* f = wsa::frame::allocate(wsa::frame_header_size(json) + json);
    const std::size_t header = wsa::write_frame_header(f->data(), wsa::ws_opcode::text, json);
    wsa::write_msg_json(f->data() + header, "chat.lobby", seq++, 1764950400123, data);
    benchmark::DoNotOptimize(f->data());
    f->unref();
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_encode_msg_frame)->Arg(64)->Arg(4096);

struct null_sink final : wsa::ws_sink {
  std::size_t bytes = 0;
  bool on_ws_message(void*, wsa::ws_opcode, char*, std::size_t size, std::size_t) override {
    bytes += size;
    return true;
  }
  void on_ws_output(void*, const char*, std::size_t) override {}
};

std::string masked_text(const std::string& payload) {
  std::string f;
  f.push_back(static_cast<char>(0x81));
  if (payload.size() < 126) {
    f.push_back(static_cast<char>(0x80 | payload.size()));
  } else {
    f.push_back(static_cast<char>(0x80 | 126));
    f.push_back(static_cast<char>(payload.size() >> 8));
    f.push_back(static_cast<char>(payload.size() & 0xff));
  }
  const char key[4] = {1, 2, 3, 4};
  f.append(key, 4);
  for (std::size_t i = 0; i < payload.size(); ++i) {
    f.push_back(static_cast<char>(payload[i] ^ key[i % 4]));
  }
  return f;
}

// A recv buffer holding 16 publish frames, decoded by one session as the shard does.
void BM_decode_client_frames(benchmark::State& state) {
  const std::string pub = "{\"op\":\"pub\",\"tag\":\"chat.lobby\",\"data\":{\"text\":\"" +
                          std::string(static_cast<std::size_t>(state.range(0)), 'x') + "\"}}";
  std::string input;
  for (int i = 0; i < 16; ++i) {
    input += masked_text(pub);
  }
  null_sink sink;
  wsa::ws_session session(&sink, 1 << 20, 64);
  for (auto _ : state) {
    session.feed(input.data(), input.size());
  }
  benchmark::DoNotOptimize(sink.bytes);
  state.SetItemsProcessed(state.iterations() * 16);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * input.size()));
}
BENCHMARK(BM_decode_client_frames)->Arg(64)->Arg(4096);

}  // namespace

// Benchmarks of the json module: parsing the client frames that dominate traffic (pub with a
// small payload, sub with recovery) and writing the msg frame of the fan-out hot path.
// Run a Release build: build-*/bench/command_bench
#include <benchmark/benchmark.h>

#include <cstring>
#include <string>
#include <vector>

#include "json/command.h"
#include "json/writer.h"

namespace wsa {
namespace {

// A frame in a buffer with the parser's padding after it, as the WebSocket layer hands it.
struct padded_frame {
  explicit padded_frame(std::string_view text) : size(text.size()) {
    bytes.assign(text.begin(), text.end());
    bytes.resize(text.size() + json_padding(), ' ');
  }
  std::vector<char> bytes;
  std::size_t size;
};

// 64 bytes of data: a chat message object.
constexpr std::string_view data_64 =
    R"({"user":"alice","text":"hello everyone, how is it going today?"})";
static_assert(data_64.size() == 64);

void parse_frame(benchmark::State& state, std::string_view text) {
  command_parser parser(64 * 1024);
  const padded_frame frame(text);
  command cmd;
  parse_error err;
  for (auto _ : state) {
    const bool ok = parser.parse(frame.bytes.data(), frame.size, frame.bytes.size(), cmd, err);
    benchmark::DoNotOptimize(ok);
    benchmark::DoNotOptimize(cmd.data.data());
    if (!ok) {
      state.SkipWithError(err.reason);
      break;
    }
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * frame.size));
}

void bm_parse_pub(benchmark::State& state) {
  parse_frame(state, R"({"op":"pub","id":4,"tag":"chat.lobby","data":)" + std::string(data_64) +
                         "}");
}
BENCHMARK(bm_parse_pub);

void bm_parse_pub_escaped_tag(benchmark::State& state) {
  parse_frame(state, R"({"op":"pub","id":4,"tag":"chat\u002elobby","data":)" +
                         std::string(data_64) + "}");
}
BENCHMARK(bm_parse_pub_escaped_tag);

void bm_parse_sub(benchmark::State& state) {
  parse_frame(state, R"({"op":"sub","id":2,"tags":["chat.lobby","sensors.*","news.eu"],)"
                     R"("since":{"chat.lobby":41,"news.eu":{"seq":7,"epoch":"9f2c"}}})");
}
BENCHMARK(bm_parse_sub);

void bm_parse_ping(benchmark::State& state) { parse_frame(state, R"({"op":"ping","id":5})"); }
BENCHMARK(bm_parse_ping);

void bm_write_msg(benchmark::State& state) {
  char buf[256];
  uint64_t seq = 1234567;
  for (auto _ : state) {
    const std::size_t size = msg_json_size("chat.lobby", seq, 1764950400123, data_64);
    char* end = write_msg_json(buf, "chat.lobby", seq, 1764950400123, data_64);
    benchmark::DoNotOptimize(size);
    benchmark::DoNotOptimize(end);
    benchmark::ClobberMemory();
    ++seq;
  }
}
BENCHMARK(bm_write_msg);

void bm_append_ok_sub(benchmark::State& state) {
  const sub_ack_entry tags[] = {{"chat.lobby", 57, "9f2c", false},
                                {"news.eu", 1200, "77aa", true}};
  std::string out;
  out.reserve(256);
  for (auto _ : state) {
    out.clear();
    append_ok_sub(out, "2", tags);
    benchmark::DoNotOptimize(out.data());
  }
}
BENCHMARK(bm_append_ok_sub);

}  // namespace
}  // namespace wsa

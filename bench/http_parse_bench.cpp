// HTTP request-head parsing and the WebSocket handshake, per request: a browser's upgrade
// (~500 bytes, 13 fields), a Prometheus scrape of /metrics, the same upgrade arriving in
// 64-byte pieces (with parse_progress), heads arriving a byte at a time (resumed, or parsed
// from the start each time), and the whole 101 answer (checks, SHA-1, response).
#include <benchmark/benchmark.h>

#include <string>
#include <string_view>

#include "http/request.h"
#include "http/websocket_handshake.h"

namespace {

const std::string browser_upgrade =
    "GET /ws?token=eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ1MSJ9.c2ln HTTP/1.1\r\n"
    "Host: chat.example.com\r\n"
    "Connection: Upgrade\r\n"
    "Pragma: no-cache\r\n"
    "Cache-Control: no-cache\r\n"
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36\r\n"
    "Upgrade: websocket\r\n"
    "Origin: https://chat.example.com\r\n"
    "Sec-WebSocket-Version: 13\r\n"
    "Accept-Encoding: gzip, deflate, br\r\n"
    "Accept-Language: en-US,en;q=0.9\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"
    "Sec-WebSocket-Protocol: wsagent.v1\r\n"
    "\r\n";

const std::string metrics_get =
    "GET /metrics HTTP/1.1\r\n"
    "Host: 10.0.0.5:8080\r\n"
    "User-Agent: Prometheus/2.45.0\r\n"
    "Accept: application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5\r\n"
    "Accept-Encoding: gzip\r\n"
    "\r\n";

void parse_whole(benchmark::State& state, const std::string& request) {
  wsa::http_request r;
  for (auto _ : state) {
    const wsa::parse_result res = wsa::parse_request(request, 8192, r);
    benchmark::DoNotOptimize(res);
    benchmark::DoNotOptimize(r);
    if (res.status != wsa::parse_status::complete) {
      state.SkipWithError("not complete");
      break;
    }
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * request.size()));
  state.counters["bytes"] = static_cast<double>(request.size());
}

void BM_parse_browser_upgrade(benchmark::State& state) { parse_whole(state, browser_upgrade); }
BENCHMARK(BM_parse_browser_upgrade);

void BM_parse_metrics_get(benchmark::State& state) { parse_whole(state, metrics_get); }
BENCHMARK(BM_parse_metrics_get);

void BM_parse_browser_upgrade_in_64_byte_pieces(benchmark::State& state) {
  wsa::http_request r;
  const std::string_view in = browser_upgrade;
  for (auto _ : state) {
    wsa::parse_progress progress{};
    wsa::parse_result res;
    for (std::size_t n = 64;; n += 64) {
      res = wsa::parse_request(in.substr(0, std::min(n, in.size())), 8192, r, &progress);
      if (res.status != wsa::parse_status::incomplete) {
        break;
      }
    }
    benchmark::DoNotOptimize(res);
    benchmark::DoNotOptimize(r);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * browser_upgrade.size()));
}
BENCHMARK(BM_parse_browser_upgrade_in_64_byte_pieces);

// A head of state.range(0) bytes (filler headers) arriving one byte at a time, as a slow
// client sends it: each arrival is parsed as the shard does, resuming from parse_progress
// (linear in the head), or from the start every time as the shard did before (quadratic).
std::string long_head(std::size_t size) {
  // 32 fields (the parser allows 64), as long as it takes.
  std::string head = "GET /metrics HTTP/1.1\r\nHost: h\r\n";
  const std::size_t value = size / 32 > 16 ? size / 32 - 16 : 1;
  for (int i = 0; i < 32; ++i) {
    head += "X-Filler-" + std::to_string(i) + ": " + std::string(value, 'f') + "\r\n";
  }
  return head + "\r\n";
}

void head_byte_by_byte(benchmark::State& state, bool resume) {
  const std::string head = long_head(static_cast<std::size_t>(state.range(0)));
  wsa::http_request r;
  for (auto _ : state) {
    wsa::parse_progress progress{};
    std::string received;
    wsa::parse_result res;
    for (const char byte : head) {
      received.push_back(byte);
      res = wsa::parse_request(received, 1 << 20, r, resume ? &progress : nullptr);
    }
    benchmark::DoNotOptimize(res);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * head.size()));
}
void BM_head_byte_by_byte_resumed(benchmark::State& state) { head_byte_by_byte(state, true); }
BENCHMARK(BM_head_byte_by_byte_resumed)->Arg(1024)->Arg(8192)->Arg(65536);
void BM_head_byte_by_byte_from_start(benchmark::State& state) { head_byte_by_byte(state, false); }
BENCHMARK(BM_head_byte_by_byte_from_start)->Arg(1024)->Arg(8192)->Arg(65536);

void BM_upgrade_answer(benchmark::State& state) {
  wsa::http_request r;
  std::string out;
  out.reserve(256);
  for (auto _ : state) {
    wsa::parse_request(browser_upgrade, 8192, r);
    const wsa::upgrade_check check = wsa::check_upgrade(r);
    const auto accept = wsa::accept_key(r.sec_websocket_key);
    out.clear();
    wsa::build_switching_protocols(out, std::string_view(accept.data(), accept.size()),
                                   check.select_subprotocol);
    benchmark::DoNotOptimize(out.data());
  }
}
BENCHMARK(BM_upgrade_answer);

}  // namespace

// libFuzzer target: the WebSocket frame stream as a shard's session sees it (src/ws/session.h,
// the only wslay user). The input chooses the message size limit and how the bytes are cut
// into receives; the rest is what a client sends after the upgrade. Besides memory errors
// it checks the session's contract:
// - no message larger than the limit is ever handed over, and each has its padding;
// - text messages are valid UTF-8 (wslay checks them; invalid ones close with 1007);
// - the same bytes give the same messages, close frame and verdict whether they arrive
//   whole or cut into pieces ("bytes in any split");
// - pongs answer pings in order, each with its ping's payload; how many pings of a batch
//   get one depends on the cut (wslay answers the latest ping of what one receive holds,
//   RFC 6455 5.5.3 allows it), but unless the stream is refused the latest ping is always
//   answered. The pongs of a run are those of the byte-by-byte run with some left out;
// - after a verdict other than ok, nothing more is handed over.
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_support.h"
#include "ws/session.h"

namespace {

constexpr std::size_t padding = 64;

bool valid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t n = 0;
    uint32_t cp = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xe0) == 0xc0) {
      n = 1;
      cp = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
      n = 2;
      cp = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
      n = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    for (std::size_t k = 1; k <= n; ++k) {
      if (i + k >= s.size()) {
        return false;
      }
      const auto d = static_cast<unsigned char>(s[i + k]);
      if ((d & 0xc0) != 0x80) {
        return false;
      }
      cp = (cp << 6) | (d & 0x3f);
    }
    static constexpr uint32_t min_for[] = {0, 0x80, 0x800, 0x10000};
    if (cp < min_for[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
      return false;
    }
    i += n + 1;
  }
  return true;
}

struct recording_sink final : wsa::ws_sink {
  std::size_t max_message = 0;
  std::size_t stop_after = 0;  // 0: never ask to stop
  bool stopped = false;
  std::vector<std::string> messages;  // opcode byte + payload
  std::string output;

  bool on_ws_message(void*, wsa::ws_opcode opcode, char* data, std::size_t size,
                     std::size_t capacity) override {
    WSA_FUZZ_REQUIRE(!stopped);
    WSA_FUZZ_REQUIRE(size <= max_message);
    WSA_FUZZ_REQUIRE(capacity >= size + padding);
    WSA_FUZZ_REQUIRE(opcode == wsa::ws_opcode::text || opcode == wsa::ws_opcode::binary);
    const std::string_view payload(data, size);
    if (opcode == wsa::ws_opcode::text) {
      WSA_FUZZ_REQUIRE(valid_utf8(payload));
    }
    std::string m(1, static_cast<char>(opcode));
    m.append(payload);
    messages.push_back(std::move(m));
    if (stop_after != 0 && messages.size() == stop_after) {
      stopped = true;
      return false;
    }
    return true;
  }
  void on_ws_output(void*, const char* data, std::size_t size) override {
    output.append(data, size);
  }
};

struct run_result {
  std::vector<std::string> messages;
  std::vector<std::string> pongs;  // payloads
  std::string other_output;        // every control frame but pongs (the close), whole
  wsa::ws_session::result verdict = wsa::ws_session::result::ok;
  uint16_t close_code = 0;
};

// Splits the session's output (unmasked control frames of at most 125 bytes) into pongs
// and the rest.
void sort_output(const std::string& output, run_result& r) {
  std::size_t at = 0;
  while (at < output.size()) {
    WSA_FUZZ_REQUIRE(output.size() - at >= 2);
    const auto first = static_cast<unsigned char>(output[at]);
    const std::size_t length = static_cast<unsigned char>(output[at + 1]);
    WSA_FUZZ_REQUIRE(length <= 125);  // unmasked, 7-bit length
    WSA_FUZZ_REQUIRE(output.size() - at >= 2 + length);
    if (first == 0x8a) {
      r.pongs.push_back(output.substr(at + 2, length));
    } else {
      WSA_FUZZ_REQUIRE(first == 0x88);  // only pongs and a close are ever written
      r.other_output.append(output, at, 2 + length);
    }
    at += 2 + length;
  }
}

// `some` is `all` with elements left out, in the same order.
bool is_subsequence(const std::vector<std::string>& some, const std::vector<std::string>& all) {
  std::size_t j = 0;
  for (const std::string& s : some) {
    while (j < all.size() && all[j] != s) {
      ++j;
    }
    if (j == all.size()) {
      return false;
    }
    ++j;
  }
  return true;
}

// Holds between the same bytes read whole (or cut) and read one byte at a time.
void require_same(const run_result& r, const run_result& bytewise) {
  WSA_FUZZ_REQUIRE(r.verdict == bytewise.verdict);
  WSA_FUZZ_REQUIRE(r.close_code == bytewise.close_code);
  WSA_FUZZ_REQUIRE(r.messages == bytewise.messages);
  WSA_FUZZ_REQUIRE(r.other_output == bytewise.other_output);
  WSA_FUZZ_REQUIRE(is_subsequence(r.pongs, bytewise.pongs));
  // A refused frame (1002, 1007 or 1009, sent by wslay or by the shard) may end the feed
  // before its pongs are flushed; the connection is failed anyway. Otherwise the latest
  // ping is answered.
  using result = wsa::ws_session::result;
  const bool refused = r.verdict == result::protocol_error || r.verdict == result::too_big ||
                       r.close_code == 1002 || r.close_code == 1007 || r.close_code == 1009;
  if (!refused) {
    WSA_FUZZ_REQUIRE(r.pongs.empty() == bytewise.pongs.empty());
    WSA_FUZZ_REQUIRE(r.pongs.empty() || r.pongs.back() == bytewise.pongs.back());
  }
}

// Feeds `stream` in pieces whose sizes cycle through `cuts` (empty: whole), as the shard
// does: until a verdict other than ok.
run_result run(std::string_view stream, std::size_t max_message, std::size_t stop_after,
               const std::vector<std::size_t>& cuts) {
  recording_sink sink;
  sink.max_message = max_message;
  sink.stop_after = stop_after;
  wsa::ws_session session(&sink, max_message, padding);
  int owner = 0;
  session.attach(&owner);
  run_result r;
  std::size_t at = 0;
  std::size_t next_cut = 0;
  do {
    std::size_t n = stream.size() - at;
    if (!cuts.empty()) {
      n = std::min(n, cuts[next_cut++ % cuts.size()]);
    }
    // A copy per receive, as from a provided buffer that is recycled right after.
    const std::string piece(stream.substr(at, n));
    at += n;
    r.verdict = session.feed(piece.data(), piece.size());
  } while (r.verdict == wsa::ws_session::result::ok && at < stream.size());
  if (r.verdict == wsa::ws_session::result::closing) {
    r.close_code = session.close_code_sent();
    WSA_FUZZ_REQUIRE(r.close_code >= 1000);
  }
  r.messages = std::move(sink.messages);
  sort_output(sink.output, r);
  return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  wsa::fuzz::input in(data, size);
  const std::size_t max_message = 1 + (std::size_t{in.byte()} << 4 | in.byte() >> 4);
  const std::size_t stop_after = in.byte() & 7;
  std::vector<std::size_t> cuts;
  const unsigned cut_count = 1 + (in.byte() & 7);
  for (unsigned i = 0; i < cut_count; ++i) {
    cuts.push_back(1 + in.byte());
  }
  const std::string_view stream = in.rest();

  const run_result bytewise = run(stream, max_message, stop_after, {1});
  require_same(run(stream, max_message, stop_after, {}), bytewise);
  require_same(run(stream, max_message, stop_after, cuts), bytewise);
  return 0;
}

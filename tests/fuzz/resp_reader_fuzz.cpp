// libFuzzer target: RESP2 replies as a hostile Redis would send them (src/redis/resp_reader.h,
// our RESP2 parser), and the broker's readers of what arrives on the subscriber link
// (src/broker/redis_scripts.h: channel names and live payloads). The input chooses how the
// bytes are cut into receives; the rest is the byte stream from "Redis". Checks:
// - the same bytes give the same replies (and the same error, at the same reply) whole,
//   cut as chosen, and byte by byte;
// - every view of a reply is walkable: types known, strings inside the reader's text,
//   arrays of the stated size (nested as deep as the reader allows, 8);
// - after an error the reader stays failed until reset(), and a reset reader reads a
//   well-formed reply again;
// - with a reply size limit (--redis-max-reply-bytes), the same verdict however the bytes
//   are cut, and the replies before a refused one as without a limit;
// - a live payload that parses has a seq and an epoch without spaces, and its data is the
//   rest; a channel that parses to a tag is exactly "wsa:{tag}".
#include <string>
#include <string_view>
#include <vector>

#include "broker/redis_scripts.h"
#include "fuzz_support.h"
#include "redis/resp_reader.h"

namespace {

// A reply as text, walking every element.
void describe(const wsa::resp_view& v, std::string& out, int depth) {
  WSA_FUZZ_REQUIRE(depth < 16);
  switch (v.type()) {
    case wsa::resp_type::string:
    case wsa::resp_type::status:
    case wsa::resp_type::error: {
      out.push_back(static_cast<char>('0' + static_cast<int>(v.type())));
      const std::string_view s = v.str();
      out.append(std::to_string(s.size())).push_back(':');
      out.append(s);
      if (v.type() == wsa::resp_type::string) {
        std::string_view tag;
        if (wsa::redis_channel_tag(s, tag)) {
          WSA_FUZZ_REQUIRE(std::string("wsa:{") + std::string(tag) + "}" == s);
        }
        uint64_t seq = 0;
        std::string_view epoch;
        int64_t ts_ms = 0;
        std::string_view data;
        if (wsa::redis_parse_live(s, seq, epoch, ts_ms, data)) {
          WSA_FUZZ_REQUIRE(epoch.find(' ') == std::string_view::npos);
          WSA_FUZZ_REQUIRE(data.data() + data.size() == s.data() + s.size());
        }
      }
      return;
    }
    case wsa::resp_type::integer:
      out.append("i").append(std::to_string(v.integer()));
      return;
    case wsa::resp_type::nil:
      out.append("n");
      return;
    case wsa::resp_type::array: {
      out.append("a").append(std::to_string(v.size())).push_back('[');
      for (std::size_t i = 0; i < v.size(); ++i) {
        describe(v[i], out, depth + 1);
      }
      out.push_back(']');
      return;
    }
  }
  WSA_FUZZ_REQUIRE(false);  // an unknown type
}

// Replies, then "E" if the stream turned out malformed.
std::string read_all(std::string_view stream, const std::vector<std::size_t>& cuts,
                     std::size_t max_reply_bytes = 0) {
  wsa::resp_reader reader;
  reader.set_max_reply_bytes(max_reply_bytes);
  std::string out;
  std::size_t at = 0;
  std::size_t next_cut = 0;
  while (at < stream.size()) {
    std::size_t n = stream.size() - at;
    if (!cuts.empty()) {
      n = std::min(n, cuts[next_cut++ % cuts.size()]);
    }
    const std::string piece(stream.substr(at, n));  // the receive buffer is reused after
    at += n;
    if (!reader.feed(piece.data(), piece.size())) {
      out.append("E");
      return out;
    }
    wsa::resp_view v;
    for (;;) {
      const wsa::resp_reader::result r = reader.next(v);
      if (r == wsa::resp_reader::result::none) {
        break;
      }
      if (r == wsa::resp_reader::result::error) {
        WSA_FUZZ_REQUIRE(reader.error_text() != nullptr);
        WSA_FUZZ_REQUIRE(!reader.too_large() || max_reply_bytes != 0);
        // Sticky: more bytes do not revive it.
        WSA_FUZZ_REQUIRE(!reader.feed("+OK\r\n", 5) ||
                         reader.next(v) == wsa::resp_reader::result::error);
        reader.reset();
        WSA_FUZZ_REQUIRE(reader.feed(":7\r\n", 4));
        WSA_FUZZ_REQUIRE(reader.next(v) == wsa::resp_reader::result::reply);
        WSA_FUZZ_REQUIRE(v.type() == wsa::resp_type::integer && v.integer() == 7);
        out.append("E");
        return out;
      }
      describe(v, out, 0);
      out.push_back('\n');
    }
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  wsa::fuzz::input in(data, size);
  std::vector<std::size_t> cuts;
  const unsigned cut_count = 1 + (in.byte() & 3);
  for (unsigned i = 0; i < cut_count; ++i) {
    cuts.push_back(1 + in.byte());
  }
  const std::string_view stream = in.rest();
  const std::string whole = read_all(stream, {});
  WSA_FUZZ_REQUIRE(read_all(stream, cuts) == whole);
  if (stream.size() <= 512) {
    WSA_FUZZ_REQUIRE(read_all(stream, {1}) == whole);
  }
  // --redis-max-reply-bytes (a limit taken from the input's size, so that the seeds keep
  // their layout): the same outcome however the bytes are cut, and the replies before a
  // refused one exactly as without a limit. (A reply refused for its size in one cut may
  // be found malformed in another, before its size is known: both end the stream, "E".)
  const std::size_t limit = 40 + (size * 37) % 600;
  const std::string limited = read_all(stream, {}, limit);
  WSA_FUZZ_REQUIRE(read_all(stream, cuts, limit) == limited);
  if (stream.size() <= 512) {
    WSA_FUZZ_REQUIRE(read_all(stream, {1}, limit) == limited);
  }
  if (!limited.empty() && limited.back() == 'E') {
    WSA_FUZZ_REQUIRE(whole.compare(0, limited.size() - 1, limited, 0, limited.size() - 1) == 0);
  } else {
    WSA_FUZZ_REQUIRE(limited == whole);
  }
  return 0;
}

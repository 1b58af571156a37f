// libFuzzer target: protocol commands as clients send them (src/json/command.h). The input
// is one text frame. Besides memory errors (simdjson reads up to the padding, never past)
// it checks the parser's contract:
// - parsing is deterministic, and the raw views (`id`, `data`) lie inside the frame;
// - a frame over the parser's limit is refused with too_large;
// - an accepted `data` is itself valid JSON: put into a fresh pub frame it parses to the
//   same bytes (what the server passes through byte for byte must be JSON);
// - an accepted `id` echoes back: `{"op":"ping","id":<id>}` parses with the same id.
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_support.h"
#include "json/command.h"

namespace {

constexpr std::size_t max_frame = 4096;

bool inside(std::string_view v, const char* begin, std::size_t size) {
  return v.empty() || (v.data() >= begin && v.data() + v.size() <= begin + size);
}

struct parsed {
  bool ok = false;
  std::string code;
  std::string id;
  wsa::op_kind op = wsa::op_kind::ping;
  std::string tag;
  std::string data;
  std::string token;
  std::vector<std::string> tags;
  std::vector<std::string> since;  // "tag seq epoch"
  bool operator==(const parsed&) const = default;
};

parsed parse(wsa::command_parser& parser, std::string_view frame) {
  // The frame in a buffer of its own with the padding after it (as the session delivers).
  std::vector<char> buffer(frame.size() + wsa::json_padding(), '\0');
  if (!frame.empty()) {
    std::memcpy(buffer.data(), frame.data(), frame.size());
  }
  wsa::command cmd;
  wsa::parse_error error;
  parsed p;
  p.ok = parser.parse(buffer.data(), frame.size(), buffer.size(), cmd, error);
  if (!p.ok) {
    p.code = error.code;
    WSA_FUZZ_REQUIRE(p.code == "bad_request" || p.code == "too_large");
    WSA_FUZZ_REQUIRE(inside(error.id, buffer.data(), frame.size()));
    p.id = error.id;
    return p;
  }
  WSA_FUZZ_REQUIRE(inside(cmd.id, buffer.data(), frame.size()));
  WSA_FUZZ_REQUIRE(inside(cmd.data, buffer.data(), frame.size()));
  p.id = cmd.id;
  p.op = cmd.op;
  p.tag = cmd.tag;
  p.data = cmd.data;
  p.token = cmd.token;
  for (std::string_view t : cmd.tags) {
    p.tags.emplace_back(t);
  }
  for (const wsa::since_entry& s : cmd.since) {
    p.since.push_back(std::string(s.tag) + ' ' + std::to_string(s.seq) + ' ' +
                      std::string(s.epoch));
  }
  return p;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  static wsa::command_parser parser(max_frame);
  const std::string_view frame(reinterpret_cast<const char*>(data), size);
  const parsed first = parse(parser, frame);
  WSA_FUZZ_REQUIRE(parse(parser, frame) == first);
  if (size > max_frame) {
    WSA_FUZZ_REQUIRE(!first.ok && first.code == "too_large");
    return 0;
  }
  if (!first.ok) {
    return 0;
  }
  if (first.op == wsa::op_kind::pub) {
    const std::string again = R"({"op":"pub","tag":"t","data":)" + first.data + "}";
    if (again.size() <= max_frame) {
      const parsed second = parse(parser, again);
      WSA_FUZZ_REQUIRE(second.ok);
      WSA_FUZZ_REQUIRE(second.data == first.data);
    }
  }
  if (!first.id.empty()) {
    const std::string ping = R"({"op":"ping","id":)" + first.id + "}";
    const parsed echoed = parse(parser, ping);
    WSA_FUZZ_REQUIRE(echoed.ok);
    WSA_FUZZ_REQUIRE(echoed.id == first.id);
  }
  return 0;
}

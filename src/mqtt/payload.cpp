// Payload <-> data mapping. Base64 goes through libsodium (standard alphabet with padding,
// strict: no whitespace, no junk, canonical padding bits). See payload.h.
#include "mqtt/payload.h"

#include <sodium.h>

#include <algorithm>
#include <cstdint>

#include "json/validate.h"
#include "json/writer.h"
#include "util/utf8.h"

namespace wsa::mqtt {
namespace {

constexpr int max_json_depth = 64;  // as the command parser (json/command.h)
constexpr std::string_view b64_open = "{\"$b64\":\"";
constexpr std::string_view b64_close = "\"}";

bool is_json_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_json_space(s.front())) {
    s.remove_prefix(1);
  }
  while (!s.empty() && is_json_space(s.back())) {
    s.remove_suffix(1);
  }
  return s;
}

// The index of the closing quote of the string literal starting at s[0] == '"', or
// s.size() if there is none (only when the caller broke the valid-JSON contract).
std::size_t string_end(std::string_view s) {
  std::size_t i = 1;
  while (i < s.size() && s[i] != '"') {
    i += s[i] == '\\' ? 2 : 1;
  }
  return std::min(i, s.size());
}

// {"$b64":"..."} with any JSON whitespace: the base64 text (unescaped into `scratch`).
bool b64_member(std::string_view object, std::string& scratch, std::string_view& text) {
  std::string_view s = trim(object.substr(1));  // after '{'
  if (s.empty() || s.front() != '"') {
    return false;
  }
  const std::size_t key_end = string_end(s);
  if (key_end == s.size() || !unescape_json_string(s.substr(1, key_end - 1), scratch) ||
      scratch != "$b64") {
    return false;
  }
  s = trim(s.substr(key_end + 1));
  if (s.empty() || s.front() != ':') {
    return false;
  }
  s = trim(s.substr(1));
  if (s.empty() || s.front() != '"') {
    return false;
  }
  const std::size_t value_end = string_end(s);
  if (value_end == s.size() || trim(s.substr(value_end + 1)) != "}") {
    return false;  // another member follows
  }
  if (!unescape_json_string(s.substr(1, value_end - 1), scratch)) {
    return false;
  }
  text = scratch;
  return true;
}

}  // namespace

payload_kind classify_payload(std::string_view payload) {
  if (is_valid_json(payload, max_json_depth)) {
    return payload_kind::json;
  }
  return valid_utf8(payload) ? payload_kind::text : payload_kind::binary;
}

std::string_view payload_to_data(std::string_view payload, std::string& scratch) {
  scratch.clear();
  switch (classify_payload(payload)) {
    case payload_kind::json:
      return payload;
    case payload_kind::text:
      append_json_string(scratch, payload);
      return scratch;
    case payload_kind::binary: {
      const std::size_t encoded =
          sodium_base64_ENCODED_LEN(payload.size(), sodium_base64_VARIANT_ORIGINAL);
      scratch.resize(b64_open.size() + encoded);  // encoded counts sodium's NUL
      scratch.replace(0, b64_open.size(), b64_open);
      sodium_bin2base64(scratch.data() + b64_open.size(), encoded,
                        reinterpret_cast<const unsigned char*>(payload.data()), payload.size(),
                        sodium_base64_VARIANT_ORIGINAL);
      scratch.resize(scratch.size() - 1);  // the NUL
      scratch += b64_close;
      return scratch;
    }
  }
  return payload;
}

std::string_view data_to_payload(std::string_view data, std::string& scratch) {
  const std::string_view s = trim(data);
  if (s.size() >= 2 && s.front() == '"') {
    const std::string_view body = s.substr(1, s.size() - 2);
    if (body.find('\\') == std::string_view::npos) {
      return body;
    }
    return unescape_json_string(body, scratch) ? std::string_view(scratch) : data;
  }
  if (s.size() >= 2 && s.front() == '{') {
    std::string_view text;
    if (b64_member(s, scratch, text)) {
      std::string bytes(text.size() / 4 * 3 + 3, '\0');
      std::size_t size = 0;
      if (sodium_base642bin(reinterpret_cast<unsigned char*>(bytes.data()), bytes.size(),
                            text.data(), text.size(), nullptr, &size, nullptr,
                            sodium_base64_VARIANT_ORIGINAL) == 0) {
        bytes.resize(size);
        scratch = std::move(bytes);
        return scratch;
      }
    }
  }
  return data;
}

}  // namespace wsa::mqtt

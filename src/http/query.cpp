// Query-string parameter lookup with percent-decoding. See query.h.
#include "http/query.h"

namespace wsa {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

// Decodes the byte at s[i], advancing i. Returns -1 on a malformed escape.
int decode_one(std::string_view s, std::size_t& i) {
  const char c = s[i];
  if (c == '+') {
    ++i;
    return ' ';
  }
  if (c != '%') {
    ++i;
    return static_cast<unsigned char>(c);
  }
  if (s.size() - i < 3) {
    return -1;
  }
  const int hi = hex_value(s[i + 1]);
  const int lo = hex_value(s[i + 2]);
  if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
    return -1;
  }
  i += 3;
  return hi * 16 + lo;
}

enum class match { yes, no, malformed };

match decoded_equals(std::string_view encoded, std::string_view want) {
  std::size_t i = 0;
  std::size_t j = 0;
  bool equal = true;
  while (i < encoded.size()) {
    const int c = decode_one(encoded, i);
    if (c < 0) {
      return match::malformed;
    }
    if (equal && (j >= want.size() || static_cast<unsigned char>(want[j]) != c)) {
      equal = false;  // keep going: a malformed escape later in the name still counts
    }
    ++j;
  }
  return equal && j == want.size() ? match::yes : match::no;
}

}  // namespace

query_value find_query_param(std::string_view query, std::string_view name, std::span<char> out) {
  query_value result;
  std::size_t start = 0;
  while (start < query.size()) {
    std::size_t end = query.find('&', start);
    if (end == std::string_view::npos) {
      end = query.size();
    }
    const std::string_view param = query.substr(start, end - start);
    start = end + 1;
    if (param.empty()) {
      continue;
    }
    const std::size_t eq = param.find('=');
    const std::string_view raw_name = param.substr(0, eq);
    const match m = decoded_equals(raw_name, name);
    if (m == match::malformed) {
      return query_value{query_status::malformed, 0};
    }
    if (m == match::no) {
      continue;
    }
    if (result.status == query_status::found) {
      return query_value{query_status::duplicate, 0};
    }
    const std::string_view raw_value =
        eq == std::string_view::npos ? std::string_view{} : param.substr(eq + 1);
    std::size_t length = 0;
    for (std::size_t i = 0; i < raw_value.size();) {
      const int c = decode_one(raw_value, i);
      if (c < 0) {
        return query_value{query_status::malformed, 0};
      }
      if (length == out.size()) {
        return query_value{query_status::too_long, 0};
      }
      out[length++] = static_cast<char>(c);
    }
    result = query_value{query_status::found, length};
  }
  return result;
}

}  // namespace wsa

// Query-string parameter lookup with percent-decoding. See query.h.
#include "http/query.h"

#include "util/percent.h"

namespace wsa {
namespace {

// Decodes the byte at s[i], advancing i. Returns -1 on a malformed escape, and for an escape
// that decodes to NUL (no parameter we read may hold one).
int decode_one(std::string_view s, std::size_t& i) {
  const bool escape = s[i] == '%';
  const int c = percent_decode_next(s, i, /*plus_is_space=*/true);
  return escape && c == 0 ? -1 : c;
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

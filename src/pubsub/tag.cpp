// Tag and pattern validation, matching, coverage and the MQTT topic mapping. See tag.h.
// Pure functions over string_views: no allocation except into the caller's MQTT out string.
#include "pubsub/tag.h"

namespace wsa {
namespace {

bool printable(char c) {
  const auto u = static_cast<unsigned char>(c);
  return u >= 0x21 && u <= 0x7e;
}

// Walks the '.'-separated segments of a string. An empty string is one empty segment and a
// trailing dot yields a final empty segment, so invalid input never looks shorter than it is.
class segment_cursor {
 public:
  explicit segment_cursor(std::string_view s) : rest_(s) {}

  bool next(std::string_view& segment) {
    if (done_) {
      return false;
    }
    const std::size_t dot = rest_.find('.');
    if (dot == std::string_view::npos) {
      segment = rest_;
      done_ = true;
    } else {
      segment = rest_.substr(0, dot);
      rest_.remove_prefix(dot + 1);
    }
    return true;
  }

 private:
  std::string_view rest_;
  bool done_ = false;
};

bool is_star(std::string_view segment) { return segment.size() == 1 && segment[0] == '*'; }
bool is_gt(std::string_view segment) { return segment.size() == 1 && segment[0] == '>'; }

}  // namespace

bool is_valid_tag(std::string_view tag) {
  if (tag.empty() || tag.size() > max_tag_bytes) {
    return false;
  }
  bool segment_empty = true;
  for (const char c : tag) {
    if (c == '.') {
      if (segment_empty) {
        return false;
      }
      segment_empty = true;
    } else if (!printable(c) || c == '*' || c == '>') {
      return false;
    } else {
      segment_empty = false;
    }
  }
  return !segment_empty;
}

bool is_valid_pattern(std::string_view pattern) {
  if (pattern.empty() || pattern.size() > max_tag_bytes) {
    return false;
  }
  std::size_t segment_length = 0;
  char segment_first = 0;
  bool segment_wild = false;  // the segment holds '*' or '>'
  bool after_gt = false;      // a `>` segment ended: nothing may follow it
  for (const char c : pattern) {
    if (c == '.') {
      if (segment_length == 0 || (segment_wild && segment_length != 1)) {
        return false;
      }
      after_gt = segment_first == '>';
      segment_length = 0;
      segment_wild = false;
      continue;
    }
    if (!printable(c) || after_gt) {
      return false;
    }
    if (segment_length == 0) {
      segment_first = c;
    }
    segment_wild = segment_wild || c == '*' || c == '>';
    ++segment_length;
  }
  return segment_length != 0 && !(segment_wild && segment_length != 1);
}

bool is_wildcard(std::string_view pattern) {
  segment_cursor cursor(pattern);
  std::string_view segment;
  while (cursor.next(segment)) {
    if (is_star(segment) || is_gt(segment)) {
      return true;
    }
  }
  return false;
}

bool pattern_matches(std::string_view pattern, std::string_view tag) {
  segment_cursor p(pattern);
  segment_cursor t(tag);
  std::string_view ps;
  std::string_view ts;
  while (p.next(ps)) {
    if (is_gt(ps)) {
      return t.next(ts);  // one or more segments left
    }
    if (!t.next(ts)) {
      return false;
    }
    if (!is_star(ps) && ps != ts) {
      return false;
    }
  }
  return !t.next(ts);
}

// Segment by segment, with L(x) the tags x matches:
// - outer `>` takes any non-empty remainder, whatever inner has there (`>` included);
// - inner `>` stands for remainders of every length >= 1, which no fixed-length outer suffix
//   (anything not starting with `>`) can take all of;
// - outer `*` takes any single inner segment (literal or `*`);
// - an outer literal takes only the same literal: inner `*` also stands for other segments.
// Then both must end together.
bool pattern_covers(std::string_view outer, std::string_view inner) {
  segment_cursor o(outer);
  segment_cursor i(inner);
  std::string_view os;
  std::string_view is;
  while (o.next(os)) {
    const bool inner_has = i.next(is);
    if (is_gt(os)) {
      return inner_has;
    }
    if (!inner_has || is_gt(is)) {
      return false;
    }
    if (!is_star(os) && os != is) {
      return false;
    }
  }
  return !i.next(is);
}

bool mqtt_topic_to_tag(std::string_view topic, bool allow_wildcards, std::string& out) {
  if (topic.empty() || topic.size() > max_tag_bytes || topic[0] == '$') {
    return false;
  }
  std::size_t level_length = 0;
  bool level_wild = false;
  bool previous_hash = false;  // a `#` level ended: nothing may follow it
  char level_first = 0;
  for (const char c : topic) {
    if (c == '/') {
      if (level_length == 0 || (level_wild && level_length != 1)) {
        return false;
      }
      previous_hash = level_first == '#';
      level_length = 0;
      level_wild = false;
      continue;
    }
    if (!printable(c) || c == '.' || c == '*' || c == '>' || previous_hash) {
      return false;
    }
    if (c == '+' || c == '#') {
      if (!allow_wildcards) {
        return false;
      }
      level_wild = true;
    }
    if (level_length == 0) {
      level_first = c;
    }
    ++level_length;
  }
  if (level_length == 0 || (level_wild && level_length != 1)) {
    return false;
  }
  out.assign(topic);
  for (char& c : out) {
    switch (c) {
      case '/':
        c = '.';
        break;
      case '+':
        c = '*';
        break;
      case '#':
        c = '>';
        break;
      default:
        break;
    }
  }
  return true;
}

bool tag_to_mqtt_topic(std::string_view tag, std::string& out) {
  if (!is_valid_pattern(tag) || tag[0] == '$') {
    return false;
  }
  for (const char c : tag) {
    if (c == '/' || c == '+' || c == '#') {
      return false;
    }
  }
  out.assign(tag);
  for (char& c : out) {
    switch (c) {
      case '.':
        c = '/';
        break;
      case '*':
        c = '+';
        break;
      case '>':
        c = '#';
        break;
      default:
        break;
    }
  }
  return true;
}

}  // namespace wsa

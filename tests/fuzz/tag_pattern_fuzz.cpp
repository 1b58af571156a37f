// libFuzzer target: tag and pattern validation and matching, differential against slow
// reference implementations written from docs/protocol.md "Tags" alone:
// - is_valid_tag / is_valid_pattern / is_wildcard against a segment-by-segment reading of
//   the rules;
// - pattern_matches against a recursive segment matcher, for every (pattern, tag) pair;
// - subscription_index (the trie every fan-out walks) against that matcher: each tag must
//   report exactly the subscribers of the matching patterns, before and after removals;
// - pattern_covers: whatever it claims must hold for the tags at hand;
// - redis_pattern_glob: under Redis' own glob rules (a port of stringmatchlen) the glob must
//   match the channel of every tag the pattern matches;
// - the MQTT mapping round-trips.
// Input: lines; each line is tried as a tag and as a pattern.
#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include "broker/redis_scripts.h"
#include "fuzz_support.h"
#include "pubsub/subscription_index.h"
#include "pubsub/tag.h"

namespace {

std::vector<std::string_view> segments_of(std::string_view s) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  for (;;) {
    const std::size_t dot = s.find('.', start);
    out.push_back(s.substr(start, dot == std::string_view::npos ? dot : dot - start));
    if (dot == std::string_view::npos) {
      return out;
    }
    start = dot + 1;
  }
}

bool reference_valid(std::string_view s, bool allow_wildcards) {
  if (s.empty() || s.size() > 255) {
    return false;
  }
  for (const char c : s) {
    if (c < 0x21 || c > 0x7e) {
      return false;
    }
  }
  const std::vector<std::string_view> segments = segments_of(s);
  for (std::size_t i = 0; i < segments.size(); ++i) {
    const std::string_view seg = segments[i];
    if (seg.empty()) {
      return false;
    }
    if (seg == "*" || seg == ">") {
      if (!allow_wildcards || (seg == ">" && i + 1 != segments.size())) {
        return false;
      }
      continue;
    }
    if (seg.find_first_of("*>") != std::string_view::npos) {
      return false;  // wildcards only as whole segments
    }
  }
  return true;
}

bool reference_match(const std::vector<std::string_view>& p, std::size_t pi,
                     const std::vector<std::string_view>& t, std::size_t ti) {
  if (pi == p.size()) {
    return ti == t.size();
  }
  if (p[pi] == ">") {
    return ti < t.size();  // one or more segments, and `>` is last
  }
  if (ti == t.size()) {
    return false;
  }
  return (p[pi] == "*" || p[pi] == t[ti]) && reference_match(p, pi + 1, t, ti + 1);
}

bool reference_match(std::string_view pattern, std::string_view tag) {
  return reference_match(segments_of(pattern), 0, segments_of(tag), 0);
}

// Redis' stringmatchlen (util.c), case-sensitive: `*`, `?`, `[...]` with `^` and ranges,
// `\` escapes the next character.
bool redis_glob_match(std::string_view p, std::string_view s) {
  std::size_t i = 0;
  std::size_t j = 0;
  while (i < p.size()) {
    switch (p[i]) {
      case '*': {
        while (i + 1 < p.size() && p[i + 1] == '*') {
          ++i;
        }
        if (i + 1 == p.size()) {
          return true;
        }
        for (std::size_t k = j; k <= s.size(); ++k) {
          if (redis_glob_match(p.substr(i + 1), s.substr(k))) {
            return true;
          }
        }
        return false;
      }
      case '?':
        if (j == s.size()) {
          return false;
        }
        ++j;
        break;
      case '[': {
        if (j == s.size()) {
          return false;
        }
        ++i;
        const bool negate = i < p.size() && p[i] == '^';
        if (negate) {
          ++i;
        }
        bool match = false;
        for (;;) {
          if (i < p.size() && p[i] == '\\' && i + 1 < p.size()) {
            ++i;
            match = match || p[i] == s[j];
          } else if (i >= p.size() || p[i] == ']') {
            break;
          } else if (i + 2 < p.size() && p[i + 1] == '-') {
            const char lo = std::min(p[i], p[i + 2]);
            const char hi = std::max(p[i], p[i + 2]);
            match = match || (s[j] >= lo && s[j] <= hi);
            i += 2;
          } else {
            match = match || p[i] == s[j];
          }
          ++i;
        }
        if (i >= p.size()) {
          --i;  // Redis: an unterminated class ends at the pattern's end
        }
        if (match == negate) {
          return false;
        }
        ++j;
        break;
      }
      case '\\':
        if (i + 1 < p.size()) {
          ++i;
        }
        [[fallthrough]];
      default:
        if (j == s.size() || p[i] != s[j]) {
          return false;
        }
        ++j;
        break;
    }
    ++i;
  }
  return j == s.size();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  wsa::fuzz::input in(data, size);
  std::vector<std::string_view> tags;
  std::vector<std::string_view> patterns;
  std::string text;
  while (!in.empty() && tags.size() + patterns.size() < 24) {
    const std::string_view s = in.until('\n', 300);
    const bool tag = wsa::is_valid_tag(s);
    const bool pattern = wsa::is_valid_pattern(s);
    WSA_FUZZ_REQUIRE(tag == reference_valid(s, false));
    WSA_FUZZ_REQUIRE(pattern == reference_valid(s, true));
    WSA_FUZZ_REQUIRE(!tag || pattern);
    if (pattern) {
      WSA_FUZZ_REQUIRE(wsa::is_wildcard(s) == !tag);
      patterns.push_back(s);
      // MQTT: whatever maps to a topic maps back to the same tag or pattern.
      if (wsa::tag_to_mqtt_topic(s, text)) {
        std::string back;
        WSA_FUZZ_REQUIRE(wsa::mqtt_topic_to_tag(text, !tag, back));
        WSA_FUZZ_REQUIRE(back == s);
      }
    }
    if (tag) {
      tags.push_back(s);
    }
    std::string mapped;
    if (wsa::mqtt_topic_to_tag(s, true, mapped)) {
      WSA_FUZZ_REQUIRE(wsa::is_valid_pattern(mapped));
    }
  }

  std::string glob;
  for (const std::string_view p : patterns) {
    WSA_FUZZ_REQUIRE(wsa::pattern_covers(p, p));
    wsa::redis_pattern_glob(p, glob);
    for (const std::string_view t : tags) {
      const bool match = wsa::pattern_matches(p, t);
      WSA_FUZZ_REQUIRE(match == reference_match(p, t));
      if (match) {
        const std::string channel = std::string("wsa:{") + std::string(t) + "}";
        WSA_FUZZ_REQUIRE(redis_glob_match(glob, channel));
      }
      for (const std::string_view q : patterns) {
        // `p` covers `q`: every tag `q` matches, `p` matches.
        if (wsa::pattern_covers(p, q) && wsa::pattern_matches(q, t)) {
          WSA_FUZZ_REQUIRE(match);
        }
      }
    }
  }

  // The index against the reference: subscriber i holds patterns[i] (repeats allowed: the
  // index refuses a second identical subscription of one subscriber, not of two).
  wsa::subscription_index index;
  std::vector<bool> held(patterns.size(), false);
  for (std::size_t i = 0; i < patterns.size(); ++i) {
    held[i] = index.add(patterns[i], static_cast<uint32_t>(i));
    WSA_FUZZ_REQUIRE(held[i]);
    WSA_FUZZ_REQUIRE(index.contains(patterns[i], static_cast<uint32_t>(i)));
  }
  for (int round = 0; round < 2; ++round) {
    for (const std::string_view t : tags) {
      std::vector<uint32_t> got;
      index.for_each_subscriber(t, [&](uint32_t s) { got.push_back(s); });
      std::vector<uint32_t> want;
      for (std::size_t i = 0; i < patterns.size(); ++i) {
        if (held[i] && reference_match(patterns[i], t)) {
          want.push_back(static_cast<uint32_t>(i));
        }
      }
      std::sort(got.begin(), got.end());
      WSA_FUZZ_REQUIRE(got == want);
      WSA_FUZZ_REQUIRE(index.has_subscribers(t) == !want.empty());
    }
    // Second round: every other subscription removed.
    for (std::size_t i = 0; i < patterns.size(); i += 2) {
      WSA_FUZZ_REQUIRE(index.remove(patterns[i], static_cast<uint32_t>(i)) == held[i]);
      held[i] = false;
    }
  }
  for (std::size_t i = 0; i < patterns.size(); ++i) {
    if (held[i]) {
      WSA_FUZZ_REQUIRE(index.remove(patterns[i], static_cast<uint32_t>(i)));
    }
  }
  WSA_FUZZ_REQUIRE(index.empty());
  return 0;
}

// Option value syntax. See values.h.
#include "cli/values.h"

#include <algorithm>
#include <array>
#include <limits>
#include <vector>

#include "util/ascii.h"

namespace wsa {
namespace {

std::string quoted(std::string_view text) { return "'" + std::string(text) + "'"; }

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Reads the leading digits of `text` into `out`; false on overflow. `used` counts them.
bool read_digits(std::string_view text, uint64_t& out, std::size_t& used) {
  out = 0;
  used = 0;
  while (used < text.size() && is_digit(text[used])) {
    const uint64_t digit = static_cast<uint64_t>(text[used] - '0');
    if (out > (std::numeric_limits<uint64_t>::max() - digit) / 10) {
      return false;
    }
    out = out * 10 + digit;
    ++used;
  }
  return true;
}

std::string range_text(uint64_t min, uint64_t max, std::string (*show)(uint64_t)) {
  return "(" + show(min) + ".." + show(max) + ")";
}

std::string show_plain(uint64_t v) { return std::to_string(v); }

}  // namespace

bool parse_bool(std::string_view text, bool& out, std::string& why) {
  for (std::string_view yes : {"true", "1", "yes", "on"}) {
    if (iequals(text, yes)) {
      out = true;
      return true;
    }
  }
  for (std::string_view no : {"false", "0", "no", "off"}) {
    if (iequals(text, no)) {
      out = false;
      return true;
    }
  }
  why = "bad boolean " + quoted(text) + " (expected true/false, 1/0, yes/no or on/off)";
  return false;
}

bool parse_count(std::string_view text, uint64_t min, uint64_t max, uint64_t& out,
                 std::string& why) {
  uint64_t value = 0;
  std::size_t used = 0;
  const bool fits = read_digits(text, value, used);
  if (text.empty() || (fits && used != text.size())) {
    why = "bad number " + quoted(text) + " (expected a whole decimal number)";
    return false;
  }
  if (!fits || value < min || value > max) {
    why = quoted(text) + " is out of range " + range_text(min, max, show_plain);
    return false;
  }
  out = value;
  return true;
}

bool parse_size(std::string_view text, uint64_t min, uint64_t max, uint64_t& out,
                std::string& why) {
  const std::string expected =
      "bad size " + quoted(text) +
      " (expected a whole number of bytes with an optional suffix k, m or g, e.g. 64k or 1MiB)";
  uint64_t value = 0;
  std::size_t used = 0;
  if (!read_digits(text, value, used)) {
    why = quoted(text) + " is out of range " + range_text(min, max, format_size);
    return false;
  }
  if (used == 0) {
    why = expected;
    return false;
  }
  const std::string_view suffix = text.substr(used);
  struct unit {
    std::string_view names[3];
    uint64_t factor;
  };
  static constexpr std::array<unit, 4> units = {{
      {{"", "b", "b"}, 1},
      {{"k", "kb", "kib"}, uint64_t{1} << 10},
      {{"m", "mb", "mib"}, uint64_t{1} << 20},
      {{"g", "gb", "gib"}, uint64_t{1} << 30},
  }};
  uint64_t factor = 0;
  for (const unit& u : units) {
    for (std::string_view name : u.names) {
      if (iequals(suffix, name)) {
        factor = u.factor;
      }
    }
  }
  if (factor == 0) {
    why = expected;
    return false;
  }
  if (value > std::numeric_limits<uint64_t>::max() / factor || value * factor < min ||
      value * factor > max) {
    why = quoted(text) + " is out of range " + range_text(min, max, format_size);
    return false;
  }
  out = value * factor;
  return true;
}

bool parse_duration(std::string_view text, time_unit unit, uint64_t min, uint64_t max,
                    uint64_t& out, std::string& why) {
  const bool in_seconds = unit == time_unit::seconds;
  const auto show = in_seconds
                        ? +[](uint64_t v) { return format_duration(v, time_unit::seconds); }
                        : +[](uint64_t v) { return format_duration(v, time_unit::milliseconds); };
  const std::string expected = "bad duration " + quoted(text) +
                               " (expected whole numbers with units ms, s, m, h or d, " +
                               "e.g. 250ms, 5s, 1m30s; a bare number means " +
                               (in_seconds ? "seconds" : "milliseconds") + ")";
  const std::string out_of_range = quoted(text) + " is out of range " + range_text(min, max, show);
  if (text.empty()) {
    why = expected;
    return false;
  }
  // Accumulate in milliseconds; uint64 milliseconds cover 584 million years, so a component
  // that overflows is out of range for every option.
  uint64_t total_ms = 0;
  std::string_view rest = text;
  while (!rest.empty()) {
    uint64_t value = 0;
    std::size_t used = 0;
    if (!read_digits(rest, value, used)) {
      why = out_of_range;
      return false;
    }
    if (used == 0) {
      why = expected;
      return false;
    }
    rest.remove_prefix(used);
    std::size_t unit_len = 0;
    while (unit_len < rest.size() && !is_digit(rest[unit_len])) {
      ++unit_len;
    }
    const std::string_view unit_name = rest.substr(0, unit_len);
    rest.remove_prefix(unit_len);
    uint64_t factor_ms = 0;
    if (unit_name.empty()) {
      // A bare number is allowed only on its own: "1m30" would be ambiguous.
      if (used != text.size()) {
        why = expected;
        return false;
      }
      factor_ms = in_seconds ? 1000 : 1;
    } else if (unit_name == "ms") {
      factor_ms = 1;
    } else if (unit_name == "s") {
      factor_ms = 1000;
    } else if (unit_name == "m") {
      factor_ms = 60 * 1000;
    } else if (unit_name == "h") {
      factor_ms = 3600 * 1000;
    } else if (unit_name == "d") {
      factor_ms = 24 * 3600 * 1000;
    } else {
      why = expected;
      return false;
    }
    if (value > (std::numeric_limits<uint64_t>::max() - total_ms) / factor_ms) {
      why = out_of_range;
      return false;
    }
    total_ms += value * factor_ms;
  }
  uint64_t result = total_ms;
  if (in_seconds) {
    if (total_ms % 1000 != 0) {
      why = quoted(text) + " is not a whole number of seconds";
      return false;
    }
    result = total_ms / 1000;
  }
  if (result < min || result > max) {
    why = out_of_range;
    return false;
  }
  out = result;
  return true;
}

std::string format_size(uint64_t bytes) {
  static constexpr std::array<std::pair<uint64_t, std::string_view>, 3> units = {{
      {uint64_t{1} << 30, "GiB"},
      {uint64_t{1} << 20, "MiB"},
      {uint64_t{1} << 10, "KiB"},
  }};
  for (const auto& [factor, name] : units) {
    if (bytes != 0 && bytes % factor == 0) {
      return std::to_string(bytes / factor) + std::string(name);
    }
  }
  return std::to_string(bytes);
}

std::string format_duration(uint64_t value, time_unit unit) {
  uint64_t ms = unit == time_unit::seconds ? value * 1000 : value;
  if (ms == 0) {
    return "0s";
  }
  static constexpr std::array<std::pair<uint64_t, std::string_view>, 5> units = {{
      {uint64_t{24} * 3600 * 1000, "d"},
      {3600 * 1000, "h"},
      {60 * 1000, "m"},
      {1000, "s"},
      {1, "ms"},
  }};
  std::string text;
  for (const auto& [factor, name] : units) {
    if (ms >= factor) {
      text += std::to_string(ms / factor);
      text += name;
      ms %= factor;
    }
  }
  return text;
}

std::string_view closest_name(std::string_view name, std::span<const std::string_view> candidates) {
  // Optimal string alignment distance: typos are mostly one insertion, deletion,
  // substitution or swap of neighbours.
  auto distance = [](std::string_view a, std::string_view b) {
    const std::size_t n = a.size();
    const std::size_t m = b.size();
    std::vector<std::size_t> d((n + 1) * (m + 1));
    auto at = [&](std::size_t i, std::size_t j) -> std::size_t& { return d[i * (m + 1) + j]; };
    for (std::size_t i = 0; i <= n; ++i) {
      at(i, 0) = i;
    }
    for (std::size_t j = 0; j <= m; ++j) {
      at(0, j) = j;
    }
    for (std::size_t i = 1; i <= n; ++i) {
      for (std::size_t j = 1; j <= m; ++j) {
        const std::size_t cost = ascii_lower(a[i - 1]) == ascii_lower(b[j - 1]) ? 0 : 1;
        at(i, j) = std::min({at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost});
        if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
          at(i, j) = std::min(at(i, j), at(i - 2, j - 2) + 1);
        }
      }
    }
    return at(n, m);
  };
  std::string_view best;
  std::size_t best_distance = std::numeric_limits<std::size_t>::max();
  for (std::string_view candidate : candidates) {
    std::size_t dist = distance(name, candidate);
    // A prefix ("--max-msg" for "--max-message-bytes") is a plausible abbreviation.
    if (name.size() >= 3 && candidate.starts_with(name)) {
      dist = std::min<std::size_t>(dist, 1);
    }
    if (dist < best_distance) {
      best_distance = dist;
      best = candidate;
    }
  }
  const std::size_t allowed = std::max<std::size_t>(2, name.size() / 3);
  return best_distance <= allowed ? best : std::string_view();
}

}  // namespace wsa

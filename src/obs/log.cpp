#include "obs/log.h"

#include <unistd.h>

#include <atomic>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <ctime>

#include "json/writer.h"
#include "util/utf8.h"

namespace wsa {
namespace {

std::atomic<int> min_level{static_cast<int>(log_level::info)};
std::atomic<bool> json_format{false};
thread_local int this_shard = -1;

const char* level_name(log_level level) {
  switch (level) {
    case log_level::debug: return "debug";
    case log_level::info: return "info";
    case log_level::warn: return "warn";
    case log_level::error: return "error";
  }
  return "info";
}

// A JSON string of `value`; bytes that are not well-formed UTF-8 become U+FFFD.
void append_json_value(std::string& out, std::string_view value) {
  if (valid_utf8(value)) {
    append_json_string(out, value);
    return;
  }
  std::string clean;
  clean.reserve(value.size() + 8);
  for (std::size_t i = 0; i < value.size();) {
    const std::size_t n = utf8_sequence_length(value, i);
    if (n == 0) {
      clean.append("\xEF\xBF\xBD");
      ++i;
    } else {
      clean.append(value.substr(i, n));
      i += n;
    }
  }
  append_json_string(out, clean);
}

// Quotes a value when logfmt needs it (spaces, quotes, '=' or empty).
void append_value(std::string& out, std::string_view value) {
  bool quote = value.empty();
  for (char c : value) {
    if (c == ' ' || c == '"' || c == '=' || c == '\\' || static_cast<unsigned char>(c) < 0x20) {
      quote = true;
      break;
    }
  }
  if (!quote) {
    out.append(value);
    return;
  }
  out.push_back('"');
  for (char c : value) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (c == '\n') {
      out.append("\\n");
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02x", static_cast<unsigned char>(c));
      out.append(hex);
    } else {
      out.push_back(c);
    }
  }
  out.push_back('"');
}

}  // namespace

void set_log_level(log_level level) { min_level.store(static_cast<int>(level)); }

bool log_enabled(log_level level) {
  return static_cast<int>(level) >= min_level.load(std::memory_order_relaxed);
}

bool parse_log_level(std::string_view text, log_level& out) {
  for (auto level : {log_level::debug, log_level::info, log_level::warn, log_level::error}) {
    if (text == level_name(level)) {
      out = level;
      return true;
    }
  }
  return false;
}

void set_log_format(log_format format) { json_format.store(format == log_format::json); }

bool parse_log_format(std::string_view text, log_format& out) {
  if (text == "text" || text == "json") {
    out = text == "json" ? log_format::json : log_format::text;
    return true;
  }
  return false;
}

const char* log_level_name(log_level level) { return level_name(level); }

void set_log_shard(int shard) { this_shard = shard; }

log_line::log_line(log_level level, std::string_view msg)
    : json_(json_format.load(std::memory_order_relaxed)) {
  line_.reserve(160);
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  tm utc{};
  gmtime_r(&ts.tv_sec, &utc);
  char stamp[64];
  std::snprintf(stamp, sizeof stamp, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ",
                utc.tm_year + 1900, utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min,
                utc.tm_sec, ts.tv_nsec / 1000000);
  if (json_) {
    line_.append("{\"ts\":\"");
    line_.append(stamp);
    line_.append("\",\"level\":\"");
    line_.append(level_name(level));
    line_.push_back('"');
  } else {
    line_.append("ts=");
    line_.append(stamp);
    line_.append(" level=");
    line_.append(level_name(level));
  }
  if (this_shard >= 0) {
    kv_number("shard", std::to_string(this_shard));
  }
  kv("msg", msg);
}

log_line::~log_line() {
  if (json_) {
    line_.push_back('}');
  }
  line_.push_back('\n');
  // One write per line: concurrent shards never interleave inside a line.
  const char* p = line_.data();
  size_t left = line_.size();
  while (left > 0) {
    ssize_t n = ::write(STDERR_FILENO, p, left);
    if (n <= 0) {
      break;
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
}

log_line& log_line::kv(std::string_view key, std::string_view value) {
  if (json_) {
    line_.push_back(',');
    append_json_value(line_, key);
    line_.push_back(':');
    append_json_value(line_, value);
  } else {
    line_.push_back(' ');
    line_.append(key);
    line_.push_back('=');
    append_value(line_, value);
  }
  return *this;
}

log_line& log_line::kv_number(std::string_view key, std::string_view digits) {
  if (!json_) {
    return kv(key, digits);
  }
  line_.push_back(',');
  append_json_value(line_, key);
  line_.push_back(':');
  line_.append(digits);
  return *this;
}

log_line& log_line::kv(std::string_view key, int64_t value) {
  return kv_number(key, std::to_string(value));
}

log_line& log_line::kv(std::string_view key, uint64_t value) {
  return kv_number(key, std::to_string(value));
}

log_line& log_line::kv(std::string_view key, double value) {
  if (!std::isfinite(value)) {
    return kv(key, std::string_view(std::isnan(value) ? "NaN" : value > 0 ? "+Inf" : "-Inf"));
  }
  char text[32];
  std::snprintf(text, sizeof text, "%.3f", value);
  return kv_number(key, text);
}

}  // namespace wsa

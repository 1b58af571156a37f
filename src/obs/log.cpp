#include "obs/log.h"

#include <unistd.h>

#include <atomic>
#include <cinttypes>
#include <cstdio>
#include <ctime>

namespace wsa {
namespace {

std::atomic<int> min_level{static_cast<int>(log_level::info)};
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

void set_log_shard(int shard) { this_shard = shard; }

log_line::log_line(log_level level, std::string_view msg) {
  line_.reserve(160);
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  tm utc{};
  gmtime_r(&ts.tv_sec, &utc);
  char stamp[96];
  std::snprintf(stamp, sizeof stamp, "ts=%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ level=",
                utc.tm_year + 1900, utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min,
                utc.tm_sec, ts.tv_nsec / 1000000);
  line_.append(stamp);
  line_.append(level_name(level));
  if (this_shard >= 0) {
    line_.append(" shard=");
    line_.append(std::to_string(this_shard));
  }
  line_.append(" msg=");
  append_value(line_, msg);
}

log_line::~log_line() {
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
  line_.push_back(' ');
  line_.append(key);
  line_.push_back('=');
  append_value(line_, value);
  return *this;
}

log_line& log_line::kv(std::string_view key, int64_t value) {
  return kv(key, std::string_view(std::to_string(value)));
}

log_line& log_line::kv(std::string_view key, uint64_t value) {
  return kv(key, std::string_view(std::to_string(value)));
}

log_line& log_line::kv(std::string_view key, double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.3f", value);
  return kv(key, std::string_view(text));
}

}  // namespace wsa

// Structured logging: one line per event on stderr, logfmt by default, e.g.
//   ts=2026-11-28T19:00:00.123Z level=info shard=0 msg=listening addr=127.0.0.1:8080
// or, with --log-format json, one JSON object per line with the same fields in the same order:
//   {"ts":"2026-11-28T19:00:00.123Z","level":"info","shard":0,"msg":"listening","addr":"..."}
// JSON values are strings except the numbers given as numbers; bytes that are not UTF-8
// become U+FFFD, so every line parses.
// Any thread may log; each line goes out in one write(2), so lines never interleave.
// Logging is for events (startup, refusals, failures), never per message.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace wsa {

enum class log_level { debug = 0, info = 1, warn = 2, error = 3 };
enum class log_format { text, json };

void set_log_level(log_level level);
bool log_enabled(log_level level);
/// Parses "debug", "info", "warn", "error"; false for anything else.
bool parse_log_level(std::string_view text, log_level& out);
/// Set once at startup, before other threads log.
void set_log_format(log_format format);
/// Parses "text", "json"; false for anything else.
bool parse_log_format(std::string_view text, log_format& out);
/// "debug", "info", "warn" or "error".
const char* log_level_name(log_level level);
/// Tags every line this thread logs with shard=N (shard threads call it once).
void set_log_shard(int shard);

/// Builds one line; writes it when destroyed. Use through WSA_LOG.
class log_line {
 public:
  log_line(log_level level, std::string_view msg);
  log_line(const log_line&) = delete;
  log_line& operator=(const log_line&) = delete;
  ~log_line();

  log_line& kv(std::string_view key, std::string_view value);
  log_line& kv(std::string_view key, const char* value) { return kv(key, std::string_view(value)); }
  log_line& kv(std::string_view key, const std::string& value) {
    return kv(key, std::string_view(value));
  }
  log_line& kv(std::string_view key, int64_t value);
  log_line& kv(std::string_view key, uint64_t value);
  log_line& kv(std::string_view key, int value) { return kv(key, int64_t{value}); }
  log_line& kv(std::string_view key, unsigned value) { return kv(key, uint64_t{value}); }
  log_line& kv(std::string_view key, double value);

 private:
  /// A value that is a number (written bare in JSON).
  log_line& kv_number(std::string_view key, std::string_view digits);

  std::string line_;
  bool json_;
};

}  // namespace wsa

#define WSA_LOG(level, msg)                            \
  if (!::wsa::log_enabled(::wsa::log_level::level)) { \
  } else                                               \
    ::wsa::log_line(::wsa::log_level::level, msg)

// Log lines in both formats, read back from a file that stands in for stderr.
#include "obs/log.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <simdjson.h>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace wsa {
namespace {

using fields = std::vector<std::pair<std::string, std::string>>;

// Points fd 2 at a temporary file for the life of the object; lines() reads what was logged.
class captured_stderr {
 public:
  captured_stderr() {
    std::fflush(stderr);
    saved_ = ::dup(STDERR_FILENO);
    char name[] = "/tmp/wsa_log_test_XXXXXX";
    file_ = ::mkstemp(name);
    ::unlink(name);
    ::dup2(file_, STDERR_FILENO);
  }
  ~captured_stderr() {
    ::dup2(saved_, STDERR_FILENO);
    ::close(saved_);
    ::close(file_);
  }
  std::vector<std::string> lines() const {
    std::string all;
    char buf[4096];
    ssize_t n = 0;
    for (off_t at = 0; (n = ::pread(file_, buf, sizeof buf, at)) > 0; at += n) {
      all.append(buf, static_cast<std::size_t>(n));
    }
    std::vector<std::string> out;
    std::size_t start = 0;
    for (std::size_t nl; (nl = all.find('\n', start)) != std::string::npos; start = nl + 1) {
      out.push_back(all.substr(start, nl - start));
    }
    EXPECT_EQ(start, all.size()) << "the last line has no newline";
    return out;
  }

 private:
  int saved_ = -1;
  int file_ = -1;
};

// Every test leaves the process logging text at info, without a shard, as it found it.
class log_test : public ::testing::Test {
 protected:
  void TearDown() override {
    set_log_format(log_format::text);
    set_log_level(log_level::info);
    set_log_shard(-1);
  }
};

// key=value pairs of a logfmt line, quoted values unescaped.
fields parse_logfmt(const std::string& line) {
  fields out;
  std::size_t i = 0;
  while (i < line.size()) {
    const std::size_t eq = line.find('=', i);
    EXPECT_NE(eq, std::string::npos) << line;
    if (eq == std::string::npos) {
      break;
    }
    std::string key = line.substr(i, eq - i);
    std::string value;
    i = eq + 1;
    if (i < line.size() && line[i] == '"') {
      for (++i; i < line.size() && line[i] != '"'; ++i) {
        if (line[i] == '\\' && i + 1 < line.size()) {
          ++i;
          value.push_back(line[i] == 'n' ? '\n' : line[i]);
        } else {
          value.push_back(line[i]);
        }
      }
      ++i;  // closing quote
    } else {
      const std::size_t end = std::min(line.find(' ', i), line.size());
      value = line.substr(i, end - i);
      i = end;
    }
    out.emplace_back(std::move(key), std::move(value));
    if (i < line.size() && line[i] == ' ') {
      ++i;
    }
  }
  return out;
}

// Members of one JSON object in their order; numbers in their raw text. Fails the test when
// the line is not exactly one JSON object.
fields parse_json_object(const std::string& line, std::vector<std::string>* numbers = nullptr) {
  fields out;
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  const auto error = parser.parse(line).get(doc);
  EXPECT_EQ(error, simdjson::SUCCESS) << line;
  if (error || !doc.is_object()) {
    ADD_FAILURE() << "not a JSON object: " << line;
    return out;
  }
  simdjson::dom::object object;
  if (doc.get(object) != simdjson::SUCCESS) {
    return out;
  }
  for (const simdjson::dom::key_value_pair member : object) {
    std::string_view text;
    std::string value;
    if (member.value.get(text) == simdjson::SUCCESS) {
      value = std::string(text);
    } else {
      value = simdjson::to_string(member.value);
      if (numbers != nullptr) {
        numbers->push_back(std::string(member.key));
      }
    }
    out.emplace_back(std::string(member.key), std::move(value));
  }
  return out;
}

void log_sample_event() {
  WSA_LOG(warn, "redis connection lost")
      .kv("addr", "127.0.0.1:6379")
      .kv("why", "Connection reset by peer")
      .kv("attempt", 3)
      .kv("pending", uint64_t{18446744073709551615ULL})
      .kv("delay_s", 0.25)
      .kv("offset", int64_t{-7});
}

TEST_F(log_test, text_format_is_logfmt_with_timestamp_level_shard_and_message_first) {
  captured_stderr err;
  set_log_shard(2);
  log_sample_event();
  const auto lines = err.lines();
  ASSERT_EQ(lines.size(), 1u);
  const fields f = parse_logfmt(lines[0]);
  ASSERT_EQ(f.size(), 10u) << lines[0];
  EXPECT_EQ(f[0].first, "ts");
  EXPECT_EQ(f[0].second.size(), 24u) << "2026-11-28T19:00:00.123Z";
  EXPECT_EQ(f[0].second.back(), 'Z');
  EXPECT_EQ(f[1], (std::pair<std::string, std::string>{"level", "warn"}));
  EXPECT_EQ(f[2], (std::pair<std::string, std::string>{"shard", "2"}));
  EXPECT_EQ(f[3], (std::pair<std::string, std::string>{"msg", "redis connection lost"}));
  EXPECT_NE(lines[0].find(" msg=\"redis connection lost\" addr=127.0.0.1:6379 "),
            std::string::npos)
      << "values with spaces are quoted, others are bare: " << lines[0];
}

TEST_F(log_test, json_format_has_the_same_fields_in_the_same_order_as_text) {
  captured_stderr err;
  set_log_shard(2);
  log_sample_event();
  set_log_format(log_format::json);
  log_sample_event();
  const auto lines = err.lines();
  ASSERT_EQ(lines.size(), 2u);
  fields text = parse_logfmt(lines[0]);
  std::vector<std::string> numbers;
  fields json = parse_json_object(lines[1], &numbers);
  ASSERT_EQ(json.size(), text.size()) << lines[1];
  for (std::size_t i = 0; i < text.size(); ++i) {
    EXPECT_EQ(json[i].first, text[i].first);
    if (json[i].first == "ts") {  // the two lines were written a moment apart
      continue;
    }
    if (std::find(numbers.begin(), numbers.end(), json[i].first) != numbers.end()) {
      EXPECT_EQ(std::stod(json[i].second), std::stod(text[i].second)) << json[i].first;
    } else {
      EXPECT_EQ(json[i].second, text[i].second) << json[i].first;
    }
  }
  EXPECT_EQ(numbers,
            (std::vector<std::string>{"shard", "attempt", "pending", "delay_s", "offset"}))
      << "numbers logged as numbers are JSON numbers, the rest strings: " << lines[1];
  EXPECT_EQ(lines[1].rfind("{\"ts\":\"", 0), 0u) << lines[1];
}

TEST_F(log_test, json_escapes_quotes_controls_and_newlines_and_keeps_one_object_per_line) {
  captured_stderr err;
  set_log_format(log_format::json);
  const std::string nasty = "a \"quoted\" back\\slash\nnew line\ttab\x01\x1f end";
  WSA_LOG(error, nasty).kv("why", nasty).kv("key with \"quote\"", "v");
  const auto lines = err.lines();
  ASSERT_EQ(lines.size(), 1u) << "a newline inside a value must not split the line";
  const fields f = parse_json_object(lines[0]);
  ASSERT_EQ(f.size(), 5u);
  EXPECT_EQ(f[1].second, "error");
  EXPECT_EQ(f[2].second, nasty);
  EXPECT_EQ(f[3].second, nasty);
  EXPECT_EQ(f[4].first, "key with \"quote\"");
}

TEST_F(log_test, json_replaces_bytes_that_are_not_utf8_so_every_line_parses) {
  captured_stderr err;
  set_log_format(log_format::json);
  // A stray continuation byte, a truncated sequence, an overlong '/', a surrogate, and valid
  // two-, three- and four-byte characters that must survive.
  const std::string bytes = "x\x80y \xc3 \xc0\xaf \xed\xa0\x80 \xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80";
  WSA_LOG(info, "peer sent bytes").kv("head", bytes);
  const auto lines = err.lines();
  ASSERT_EQ(lines.size(), 1u);
  const fields f = parse_json_object(lines[0]);
  ASSERT_EQ(f.size(), 4u);
  const std::string r = "\xef\xbf\xbd";  // U+FFFD
  EXPECT_EQ(f[3].second, "x" + r + "y " + r + " " + r + r + " " + r + r + r +
                             " \xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
}

TEST_F(log_test, json_writes_non_finite_numbers_as_strings) {
  captured_stderr err;
  set_log_format(log_format::json);
  WSA_LOG(info, "ratio")
      .kv("nan", std::nan(""))
      .kv("inf", std::numeric_limits<double>::infinity())
      .kv("ninf", -std::numeric_limits<double>::infinity());
  const auto lines = err.lines();
  ASSERT_EQ(lines.size(), 1u);
  std::vector<std::string> numbers;
  const fields f = parse_json_object(lines[0], &numbers);
  ASSERT_EQ(f.size(), 6u) << lines[0];
  EXPECT_TRUE(numbers.empty()) << lines[0];
  EXPECT_EQ(f[3].second, "NaN");
  EXPECT_EQ(f[4].second, "+Inf");
  EXPECT_EQ(f[5].second, "-Inf");
}

TEST_F(log_test, level_filter_applies_to_json_too) {
  captured_stderr err;
  set_log_format(log_format::json);
  set_log_level(log_level::warn);
  WSA_LOG(info, "dropped");
  WSA_LOG(warn, "kept");
  const auto lines = err.lines();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(parse_json_object(lines[0])[2].second, "kept");
}

TEST_F(log_test, json_lines_from_many_threads_never_interleave) {
  captured_stderr err;
  set_log_format(log_format::json);
  constexpr int threads = 4;
  constexpr int per_thread = 200;
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([t] {
      set_log_shard(t);
      for (int i = 0; i < per_thread; ++i) {
        WSA_LOG(info, "tick").kv("i", i).kv("pad", std::string(200, 'a' + t));
      }
    });
  }
  for (auto& th : pool) {
    th.join();
  }
  const auto lines = err.lines();
  ASSERT_EQ(lines.size(), static_cast<std::size_t>(threads * per_thread));
  for (const std::string& line : lines) {
    const fields f = parse_json_object(line);
    ASSERT_EQ(f.size(), 6u) << line;
    EXPECT_EQ(f[5].second, std::string(200, static_cast<char>('a' + std::stoi(f[2].second))));
  }
}

TEST_F(log_test, parse_log_format_accepts_text_and_json_only) {
  log_format out = log_format::text;
  EXPECT_TRUE(parse_log_format("json", out));
  EXPECT_EQ(out, log_format::json);
  EXPECT_TRUE(parse_log_format("text", out));
  EXPECT_EQ(out, log_format::text);
  EXPECT_FALSE(parse_log_format("JSON", out));
  EXPECT_FALSE(parse_log_format("logfmt", out));
  EXPECT_EQ(out, log_format::text);
}

}  // namespace
}  // namespace wsa

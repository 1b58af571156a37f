#include "support/metrics_reader.h"

#include <charconv>
#include <string>
#include <thread>

#include "support/http_client.h"

namespace wsa::test {

namespace {

// Calls fn(name, labels, value) for every sample line ("name{labels} value" or "name value").
template <class Fn>
void for_each_line(std::string_view text, Fn&& fn) {
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) {
      end = text.size();
    }
    const std::string_view line = text.substr(start, end - start);
    start = end + 1;
    const std::size_t space = line.rfind(' ');
    if (line.empty() || line[0] == '#' || space == std::string_view::npos) {
      continue;
    }
    const std::size_t name_end = std::min(line.find('{'), space);
    fn(line.substr(0, name_end), line.substr(name_end, space - name_end),
       line.substr(space + 1));
  }
}

// Calls fn(labels, value) for every sample of metric `name`.
template <class Fn>
void for_each_sample(std::string_view text, std::string_view name, Fn&& fn) {
  for_each_line(text, [&](std::string_view n, std::string_view labels, std::string_view v) {
    uint64_t value = 0;
    if (n == name) {
      std::from_chars(v.data(), v.data() + v.size(), value);
      fn(labels, value);
    }
  });
}

}  // namespace

uint64_t metric_sum_in(std::string_view text, std::string_view name) {
  uint64_t total = 0;
  for_each_sample(text, name, [&](std::string_view, uint64_t value) { total += value; });
  return total;
}

uint64_t metric_of_shard(std::string_view text, std::string_view name, unsigned shard) {
  const std::string label = "shard=\"" + std::to_string(shard) + "\"";
  uint64_t found = 0;
  for_each_sample(text, name, [&](std::string_view labels, uint64_t value) {
    if (labels.find(label) != std::string_view::npos) {
      found = value;
    }
  });
  return found;
}

uint64_t histogram_bucket_in(std::string_view text, std::string_view name, std::string_view le) {
  const std::string bucket = std::string(name) + "_bucket";
  const std::string label = "{le=\"" + std::string(le) + "\"}";
  uint64_t found = 0;
  for_each_sample(text, bucket, [&](std::string_view labels, uint64_t value) {
    if (labels == label) {
      found = value;
    }
  });
  return found;
}

uint64_t metric_sum(uint16_t port, std::string_view name) {
  return metric_sum_in(http_get(port, "/metrics").body, name);
}

uint64_t await_metric_sum(uint16_t port, std::string_view name, uint64_t expected,
                          std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  uint64_t value = metric_sum(port, name);
  while (value != expected && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    value = metric_sum(port, name);
  }
  return value;
}

std::map<std::string, double> metric_sums_in(std::string_view text) {
  std::map<std::string, double> sums;
  for_each_line(text, [&](std::string_view name, std::string_view, std::string_view value) {
    sums[std::string(name)] += std::stod(std::string(value));
  });
  return sums;
}

}  // namespace wsa::test

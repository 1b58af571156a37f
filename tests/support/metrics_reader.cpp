#include "support/metrics_reader.h"

#include <charconv>
#include <string>

#include "support/http_client.h"

namespace wsa::test {

namespace {

// Calls fn(labels, value) for every sample of metric `name`.
template <class Fn>
void for_each_sample(std::string_view text, std::string_view name, Fn&& fn) {
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) {
      end = text.size();
    }
    const std::string_view line = text.substr(start, end - start);
    start = end + 1;
    // "name{labels} value" or "name value"; skips other metrics sharing the prefix.
    if (!line.starts_with(name) || line.size() <= name.size() ||
        (line[name.size()] != '{' && line[name.size()] != ' ')) {
      continue;
    }
    const std::size_t space = line.rfind(' ');
    uint64_t value = 0;
    std::from_chars(line.data() + space + 1, line.data() + line.size(), value);
    fn(line.substr(name.size(), space - name.size()), value);
  }
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

uint64_t metric_sum(uint16_t port, std::string_view name) {
  return metric_sum_in(http_get(port, "/metrics").body, name);
}

}  // namespace wsa::test

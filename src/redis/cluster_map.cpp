// Cluster topology replies and redirections; see cluster_map.h.
#include "redis/cluster_map.h"

#include <arpa/inet.h>

#include <charconv>

#include "redis/slot.h"

namespace wsa {
namespace {

bool parse_number(std::string_view text, uint64_t max, uint64_t& out) {
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size() && !text.empty() && out <= max;
}

bool is_numeric_host(const std::string& host) {
  unsigned char buf[sizeof(in6_addr)];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

bool starts_with_word(std::string_view error, std::string_view word) {
  return error.starts_with(word) && (error.size() == word.size() || error[word.size()] == ' ');
}

// The master of one range: [host, port, id, metadata?]. Redis 7 gives the preferred endpoint
// first (an IP unless cluster-preferred-endpoint-type says otherwise) and, for a hostname
// endpoint, the IP among the metadata pairs.
bool parse_master(resp_view node, cluster_slot_range& range, std::string& why) {
  if (!node.is_array() || node.size() < 3 || node[1].type() != resp_type::integer ||
      node[2].type() != resp_type::string ||
      (node[0].type() != resp_type::string && node[0].type() != resp_type::nil)) {
    why = "a CLUSTER SLOTS node is not [host, port, id, ...]";
    return false;
  }
  const int64_t port = node[1].integer();
  if (port < 1 || port > 65535) {
    why = "a CLUSTER SLOTS node has port " + std::to_string(port);
    return false;
  }
  range.port = static_cast<uint16_t>(port);
  range.host.assign(node[0].str());
  range.id.assign(node[2].str());
  if (!range.host.empty() && !is_numeric_host(range.host) && node.size() > 3 &&
      node[3].is_array()) {
    const resp_view meta = node[3];
    for (std::size_t i = 0; i + 1 < meta.size(); i += 2) {
      if (meta[i].str() == "ip" && meta[i + 1].type() == resp_type::string) {
        range.host.assign(meta[i + 1].str());
        break;
      }
    }
  }
  return true;
}

}  // namespace

bool parse_cluster_slots(resp_view reply, std::vector<cluster_slot_range>& out, std::string& why) {
  out.clear();
  if (reply.is_error()) {
    why = std::string(reply.str());
    return false;
  }
  if (!reply.is_array()) {
    why = "CLUSTER SLOTS did not answer an array";
    return false;
  }
  for (std::size_t i = 0; i < reply.size(); ++i) {
    const resp_view entry = reply[i];
    if (!entry.is_array() || entry.size() < 3 || entry[0].type() != resp_type::integer ||
        entry[1].type() != resp_type::integer) {
      why = "a CLUSTER SLOTS entry is not [first, last, master, ...]";
      return false;
    }
    const int64_t first = entry[0].integer();
    const int64_t last = entry[1].integer();
    if (first < 0 || last < first || last >= cluster_slot_count) {
      why = "CLUSTER SLOTS gave the range " + std::to_string(first) + "-" + std::to_string(last);
      return false;
    }
    cluster_slot_range range;
    range.first = static_cast<uint16_t>(first);
    range.last = static_cast<uint16_t>(last);
    if (!parse_master(entry[2], range, why)) {
      return false;
    }
    out.push_back(std::move(range));
  }
  return true;
}

bool split_host_port(std::string_view text, std::string_view& host, uint16_t& port) {
  const std::size_t colon = text.rfind(':');
  uint64_t value = 0;
  if (colon == std::string_view::npos || !parse_number(text.substr(colon + 1), 65535, value) ||
      value == 0) {
    return false;
  }
  host = text.substr(0, colon);
  port = static_cast<uint16_t>(value);
  return true;
}

cluster_redirect parse_redirect(std::string_view error) {
  cluster_redirect r;
  cluster_redirect::kind type;
  if (error.starts_with("MOVED ")) {
    type = cluster_redirect::kind::moved;
    error.remove_prefix(6);
  } else if (error.starts_with("ASK ")) {
    type = cluster_redirect::kind::ask;
    error.remove_prefix(4);
  } else {
    return r;
  }
  const std::size_t space = error.find(' ');
  uint64_t slot = 0;
  if (space == std::string_view::npos ||
      !parse_number(error.substr(0, space), cluster_slot_count - 1, slot) ||
      !split_host_port(error.substr(space + 1), r.host, r.port)) {
    return r;
  }
  r.slot = static_cast<uint16_t>(slot);
  r.type = type;
  return r;
}

bool is_tryagain_error(std::string_view error) { return starts_with_word(error, "TRYAGAIN"); }
bool is_clusterdown_error(std::string_view error) { return starts_with_word(error, "CLUSTERDOWN"); }
bool is_noscript_error(std::string_view error) { return starts_with_word(error, "NOSCRIPT"); }

}  // namespace wsa

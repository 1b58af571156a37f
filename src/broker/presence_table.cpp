// See presence_table.h.
#include "broker/presence_table.h"

namespace wsa {

bool presence_table::join(std::string_view tag, std::string_view member, std::string_view who) {
  auto t = tags_.find(tag);
  if (t == tags_.end()) {
    t = tags_.emplace(std::string(tag), string_map<std::string>{}).first;
  }
  if (t->second.find(member) != t->second.end()) {
    return false;
  }
  t->second.emplace(std::string(member), std::string(who));
  ++members_;
  return true;
}

bool presence_table::leave(std::string_view tag, std::string_view member, std::string& who) {
  const auto t = tags_.find(tag);
  if (t == tags_.end()) {
    return false;
  }
  const auto m = t->second.find(member);
  if (m == t->second.end()) {
    return false;
  }
  who = std::move(m->second);
  t->second.erase(m);
  --members_;
  if (t->second.empty()) {
    tags_.erase(t);
  }
  return true;
}

uint64_t presence_table::list(std::string_view tag, uint32_t limit, uint64_t max_bytes,
                              std::string& who_array) const {
  who_array.assign("[");
  const auto t = tags_.find(tag);
  if (t == tags_.end()) {
    who_array.push_back(']');
    return 0;
  }
  uint32_t listed = 0;
  for (const auto& [member, who] : t->second) {
    if (listed == limit || who_array.size() + who.size() + 2 > max_bytes) {
      break;
    }
    who_array.append(listed == 0 ? "" : ",").append(who);
    ++listed;
  }
  who_array.push_back(']');
  return t->second.size();
}

}  // namespace wsa

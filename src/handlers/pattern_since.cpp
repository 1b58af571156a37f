#include "handlers/pattern_since.h"

#include "pubsub/tag.h"

namespace wsa {

const char* check_pattern_since(const command& cmd, uint32_t max_tags) {
  for (const since_entry& s : cmd.since) {
    if (!s.pattern_form) {
      continue;
    }
    if (!is_wildcard(s.tag)) {
      return "since for an exact tag is N or {\"seq\":N,\"epoch\":\"...\"}; "
             "{\"ts\":..,\"tags\":{..}} is for patterns";
    }
    if (s.known_count > max_tags) {
      return "since of a pattern names more tags than --max-recovery-tags";
    }
    for (uint32_t i = s.known_begin; i < s.known_begin + s.known_count; ++i) {
      const std::string_view tag = cmd.since_known[i].tag;
      if (!is_valid_tag(tag) || !pattern_matches(s.tag, tag)) {
        return "since tags of a pattern must be exact tags the pattern matches";
      }
    }
  }
  return nullptr;
}

void known_positions_of(const command& cmd, std::vector<known_position>& out) {
  out.clear();
  for (const since_entry& k : cmd.since_known) {
    out.push_back({k.tag, k.seq, k.epoch});
  }
}

}  // namespace wsa

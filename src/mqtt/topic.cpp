// Topic <-> tag, with MQTT's parent-matching `#`. See topic.h.
#include "mqtt/topic.h"

#include "pubsub/tag.h"

namespace wsa::mqtt {

bool topic_to_tag(std::string_view topic, std::string& tag) {
  return mqtt_topic_to_tag(topic, false, tag);  // refuses '$' topics and wildcards
}

bool filter_to_patterns(std::string_view filter, filter_patterns& out) {
  std::string pattern;
  if (!mqtt_topic_to_tag(filter, true, pattern)) {
    return false;
  }
  out.second.clear();
  if (pattern.size() >= 2 && pattern.ends_with(".>")) {
    out.second = pattern;
    pattern.resize(pattern.size() - 2);  // the parent: `a` for `a.>`, `*` for `*.>`
  }
  out.first = std::move(pattern);
  return true;
}

bool tag_to_topic(std::string_view tag, std::string& topic) {
  return is_valid_tag(tag) && tag_to_mqtt_topic(tag, topic);  // refuses '$', '/', '+', '#'
}

}  // namespace wsa::mqtt

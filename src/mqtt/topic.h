// MQTT topics and wsagent tags (docs/protocol.md, "MQTT mapping"): '/' <-> '.', '+' <-> '*', '#'
// <-> '>', on top of pubsub/tag.h's one-to-one mapping. MQTT's `#` also matches its parent level
// (`a/#` matches `a`), while `a.>` needs one more segment: a filter ending in `/#` stands for
// two patterns. Topics that map to no valid tag are refused, and so are topics starting with
// `$` (MQTT keeps those for the server, and its wildcards never match them, [MQTT-4.7.2-1]):
// a tag starting with `$` is never delivered to MQTT clients either.
// Pure functions: any thread.
#pragma once

#include <string>
#include <string_view>

namespace wsa::mqtt {

/// The tag of a PUBLISH (or will) topic name; false when it has none.
bool topic_to_tag(std::string_view topic, std::string& tag);

/// The tag patterns a topic filter subscribes to: one, or two for `.../#` (the parent and
/// the `>` pattern; a lone `#` is `>` alone, which already matches every tag).
struct filter_patterns {
  std::string first;
  std::string second;  ///< empty unless the filter ends in `/#`
};
bool filter_to_patterns(std::string_view filter, filter_patterns& out);

/// The topic name a message of `tag` is delivered under; false when the tag has none (it
/// holds '/', '+' or '#', or starts with '$'): MQTT subscribers do not get such messages.
bool tag_to_topic(std::string_view tag, std::string& topic);

}  // namespace wsa::mqtt

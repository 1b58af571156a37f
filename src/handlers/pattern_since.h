// The pattern form of `since` in a `sub` (protocol 1.1 "Recovery on patterns"), checked
// before anything changes, and turned into the router's known positions. See
// docs/protocol.md; the parser (json/command.h) has read the form, these are its rules.
#pragma once

#include <cstdint>
#include <vector>

#include "broker/broker.h"
#include "json/command.h"

namespace wsa {

/// Null when every pattern form in `cmd.since` may be served, else the `bad_request`
/// reason: the form names an exact tag; more known positions than `max_tags`
/// (--max-recovery-tags); a known tag that is not an exact tag the pattern matches.
const char* check_pattern_since(const command& cmd, uint32_t max_tags);

/// cmd.since_known as the router's known positions, index for index.
void known_positions_of(const command& cmd, std::vector<known_position>& out);

}  // namespace wsa

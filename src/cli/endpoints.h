// The syntax of `--listen` and `--broker` values, checked at startup so that a typo is
// reported before any socket is opened. Name resolution is not done here (the server
// resolves --listen, the Redis broker resolves its host). Pure functions: any thread.
#pragma once

#include <string>
#include <string_view>

#include "wsa/config.h"

namespace wsa {

/// `--listen`: "host:port", "ipv4:port", "[ipv6]:port" or ":port" (all IPv4 addresses).
bool parse_listen(std::string_view text, listen_endpoint& out, std::string& why);

/// `--broker`: "embedded" or a redis:// URL. Errors never repeat the password.
bool parse_broker(std::string_view text, broker_url& out, std::string& why);

/// The broker text with any password replaced by "***", for logs and error messages.
std::string redact_broker(std::string_view text);

}  // namespace wsa

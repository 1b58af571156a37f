// RESP2 command encoding (https://redis.io/docs/reference/protocol-spec/): a command is an
// array of bulk strings, appended straight into the caller's send buffer. Nothing here
// allocates except the buffer growing, which reuses its capacity once warm.
// Plain functions: any thread.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

namespace wsa {

/// Appends the header of a command of `count` arguments: "*<count>\r\n".
void resp_array(std::string& out, std::size_t count);

/// Appends one argument as a bulk string: "$<len>\r\n<bytes>\r\n". Binary safe.
void resp_bulk(std::string& out, std::string_view arg);

/// Appends one integer argument as a bulk string of its decimal digits.
void resp_bulk(std::string& out, uint64_t arg);

/// Appends one argument made of `parts` concatenated (a key such as "wsa:{" tag "}:log"),
/// without building the concatenation first.
void resp_bulk_concat(std::string& out, std::initializer_list<std::string_view> parts);

/// Appends a whole command: the array header and every argument.
void resp_command(std::string& out, std::initializer_list<std::string_view> args);

/// Bytes resp_bulk(out, arg) appends for an argument of `size` bytes.
std::size_t resp_bulk_size(std::size_t size);

}  // namespace wsa

// HS256 tokens made without src/auth (nettle's HMAC, our own base64url), so that the server
// is checked against an independent minter: any header, any claims, any signing input.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace wsa::test {

/// Unpadded base64url (RFC 4648 section 5).
std::string b64url(std::string_view bin);

/// Seconds since the Unix epoch, now.
int64_t unix_now();

/// `signing_input` + "." + base64url(HMAC-SHA256(key, signing_input)).
std::string hs256_raw(std::string_view signing_input, std::string_view key);

/// A compact JWS over these header and payload texts, signed with HS256.
std::string hs256(std::string_view payload, std::string_view key,
                  std::string_view header = R"({"alg":"HS256","typ":"JWT"})");

/// Claims {"sub":<sub>,"iat":now,"exp":<exp>,"perm":<perm>}<extra...>.
std::string claims_json(int64_t exp, std::string_view perm = R"({"pub":[">"],"sub":[">"]})",
                        std::string_view extra = "", std::string_view sub = "alice");

}  // namespace wsa::test

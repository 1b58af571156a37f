// Arguments of the tool subcommands `wsagent keygen` and `wsagent token` (command line only:
// they run once by hand or from a script). What they do lives with the auth module; this
// file only turns their words into settings and checks what can be checked without keys.
// Startup only, one thread.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "cli/option_table.h"

namespace wsa {

/// `wsagent keygen`: a new Ed25519 key pair.
struct keygen_args {
  std::string out_private;  ///< private JWK (kty OKP, crv Ed25519, d, x, kid), mode 0600
  std::string out_jwks;     ///< public JWKS {"keys":[...]} for `serve --jwks`
  std::string kid;          ///< empty: derived from the public key (e.g. RFC 7638 thumbprint)
  bool force = false;       ///< overwrite existing files (else refuse)
};

/// `wsagent token`: one signed JWT printed to stdout.
struct token_args {
  std::string key_file;                ///< private JWK: EdDSA
  std::string hmac_secret_file;        ///< shared secret: HS256 (exactly one of the two)
  std::string sub;                     ///< `sub` claim, required
  std::vector<std::string> pub;        ///< `perm.pub` patterns
  std::vector<std::string> subscribe;  ///< `perm.sub` patterns
  uint32_t ttl_s = 3600;               ///< `exp` = now + ttl
  std::string kid;                     ///< header `kid`; empty: the key file's kid (EdDSA)
};

std::span<const option_row<keygen_args>> keygen_options();
std::span<const option_row<token_args>> token_options();

/// `args` are the words after the subcommand. Same statuses and messages as serve.
parse_status parse_keygen_args(std::span<const std::string_view> args, keygen_args& out,
                               std::string& message);
parse_status parse_token_args(std::span<const std::string_view> args, token_args& out,
                              std::string& message);

}  // namespace wsa

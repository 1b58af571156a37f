// Settings of the tool subcommands `wsagent keygen` and `wsagent token` (src/cli fills them
// from the command line; tools/commands.h runs them). Plain structs.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

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
  std::string iss;                     ///< `iss` claim; empty: none
  std::string aud;                     ///< `aud` claim; empty: none
};

}  // namespace wsa

// The token-minting side, for `wsagent keygen` and `wsagent token` (and for tests): Ed25519
// key generation, JWK/JWKS text, and signing compact JWS tokens with EdDSA or HS256.
// Tokens carry {"alg","typ":"JWT"[,"kid"]} and {"sub"[,"iss","aud"],"iat","exp",
// "perm":{"pub","sub"}},
// which jwt.h verifies and any JOSE library can read.
// Cold path, any thread (key generation needs crypto_init() first).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "auth/keys.h"

namespace wsa {

/// RFC 7638 JWK thumbprint of an Ed25519 public key: base64url(SHA-256 of
/// {"crv":"Ed25519","kty":"OKP","x":"..."}), 43 characters.
std::string jwk_thumbprint(const ed25519_public_key& key);

/// A fresh key pair from the system's randomness. `kid` empty: its thumbprint.
void generate_ed25519(std::string_view kid, ed25519_private_key& out);

/// {"kty":"OKP","crv":"Ed25519","alg":"EdDSA","use":"sig","kid":..,"x":..,"d":..} + "\n".
std::string private_jwk_json(const ed25519_private_key& key);
/// {"keys":[ public JWKs ]} + "\n", for `serve --jwks`.
std::string public_jwks_json(std::span<const ed25519_public_key> keys);

/// What a token grants, and for how long.
struct token_spec {
  std::string_view sub;                    ///< required, non-empty UTF-8
  std::span<const std::string> pub;        ///< perm.pub patterns
  std::span<const std::string> subscribe;  ///< perm.sub patterns
  int64_t now_s = 0;                       ///< iat; exp = now + ttl
  uint32_t ttl_s = 3600;                   ///< > 0
  std::string_view kid;                    ///< header kid; EdDSA: empty means the key's kid
  std::string_view iss;                    ///< `iss` claim; empty: none
  std::string_view aud;                    ///< `aud` claim (one audience); empty: none
};

/// The claims JSON of `spec`; false with `error` for an empty or non-UTF-8 sub, an invalid
/// pattern or a zero ttl.
bool token_payload_json(const token_spec& spec, std::string& out, std::string& error);

bool mint_eddsa(const token_spec& spec, const ed25519_private_key& key, std::string& token,
                std::string& error);
/// `secret` must not be empty.
bool mint_hs256(const token_spec& spec, std::string_view secret, std::string& token,
                std::string& error);

/// Signs any header and payload text as a compact JWS (no checks: tests build odd tokens).
std::string sign_eddsa(std::string_view header_json, std::string_view payload_json,
                       const ed25519_private_key& key);
std::string sign_hs256(std::string_view header_json, std::string_view payload_json,
                       std::string_view secret);

/// Writes `contents` to a new file with mode 0600 (a private key). Refuses to replace an
/// existing file unless `overwrite`.
bool write_private_file(const std::string& path, std::string_view contents, bool overwrite,
                        std::string& error);
/// Same with mode 0644 (a public JWKS).
bool write_public_file(const std::string& path, std::string_view contents, bool overwrite,
                       std::string& error);

}  // namespace wsa

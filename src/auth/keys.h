// The keys that verify tokens: Ed25519 public keys by `kid` (from a JWKS, RFC 7517/8037) and
// an optional HS256 shared secret, plus the private JWK the token minter signs with.
//
// A key_set is filled once at startup and then only read: after loading it may be shared by
// every shard thread without locks (all const members are safe to call concurrently).
//
// JWKS policy: keys that are not OKP/Ed25519, or are marked for another `use`/`alg`, are
// skipped with a warning (a JWKS shared with other services may hold RSA or EC keys); a
// malformed Ed25519 key, a duplicate `kid` or a JWKS with no usable key is an error and
// nothing of that document is added. A key without `kid` is allowed (one at most).
//
// Selection (find_ed25519): a token with `kid` gets exactly the key with that kid; a token
// without `kid` gets the only Ed25519 key when there is exactly one, and is refused when
// there are several (trying each would let one token cost N verifications). The HS256
// secret has no kid: an HS256 token's `kid`, if any, is not used.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace wsa {

/// Initialises libsodium (sodium_init). Call once in main before starting threads; false if
/// the library cannot start (no usable randomness source). Safe to call again.
bool crypto_init();

inline constexpr std::size_t ed25519_public_bytes = 32;
inline constexpr std::size_t ed25519_secret_bytes = 64;  ///< libsodium form: seed || public
inline constexpr std::size_t ed25519_seed_bytes = 32;    ///< JWK `d` (RFC 8037 section 2)
inline constexpr std::size_t ed25519_signature_bytes = 64;
inline constexpr std::size_t hs256_mac_bytes = 32;
/// Key files are read whole; larger ones are refused as not what they claim to be.
inline constexpr std::size_t max_key_file_bytes = 1 << 20;

struct ed25519_public_key {
  std::string kid;  ///< empty: the key has no kid
  std::array<unsigned char, ed25519_public_bytes> pk{};
};

/// An Ed25519 key pair (the minting side). The secret bytes are wiped on destruction.
struct ed25519_private_key {
  ed25519_public_key pub;
  std::array<unsigned char, ed25519_secret_bytes> sk{};
  ed25519_private_key() = default;
  ed25519_private_key(const ed25519_private_key&) = default;
  ed25519_private_key& operator=(const ed25519_private_key&) = default;
  ~ed25519_private_key();
};

/// Parses a private JWK {"kty":"OKP","crv":"Ed25519","d":..,"x":..[,"kid":..]}. `x` must be
/// the public key `d` derives. On failure `error` says why and `out` is unspecified.
bool parse_private_jwk(std::string_view json, ed25519_private_key& out, std::string& error);
bool load_private_jwk_file(const std::string& path, ed25519_private_key& out,
                           std::string& error);

/// Reads a shared secret file: its bytes, minus one trailing "\n" (or "\r\n"). Refuses an
/// empty secret; warns about one shorter than 32 bytes (RFC 7518 section 3.2 asks for at
/// least 256 bits) and about a file readable by group or others.
bool read_hmac_secret_file(const std::string& path, std::string& secret, std::string& error,
                           std::vector<std::string>& warnings);

/// Reads a whole (small) file into `out`.
bool read_small_file(const std::string& path, std::string& out, std::string& error);

class key_set {
 public:
  key_set();
  ~key_set();
  key_set(key_set&&) noexcept;
  key_set& operator=(key_set&&) noexcept;
  key_set(const key_set&) = delete;
  key_set& operator=(const key_set&) = delete;

  /// Adds the Ed25519 keys of a JWKS document {"keys":[...]} (see the policy above).
  /// All or nothing: on false, `error` says why and the set is unchanged.
  bool add_jwks(std::string_view json, std::string& error, std::vector<std::string>& warnings);
  bool add_jwks_file(const std::string& path, std::string& error,
                     std::vector<std::string>& warnings);

  /// Adds one key; false on a duplicate kid or a public key that is not a valid point.
  bool add_ed25519(const ed25519_public_key& key, std::string& error);

  /// Sets (replaces) the HS256 secret; refuses an empty one.
  bool set_hmac_secret(std::string_view secret, std::string& error);
  bool set_hmac_secret_file(const std::string& path, std::string& error,
                            std::vector<std::string>& warnings);

  bool empty() const { return ed25519_.empty() && !hmac_; }
  bool has_hmac() const { return hmac_ != nullptr; }
  std::span<const ed25519_public_key> ed25519_keys() const { return ed25519_; }

  enum class pick : uint8_t {
    found,
    none_configured,  ///< no Ed25519 key at all
    unknown_kid,      ///< the token's kid names no key
    kid_required,     ///< no kid in the token, and several keys
  };
  /// Picks the Ed25519 key for a token header (`has_kid`: the header had a `kid`).
  pick find_ed25519(bool has_kid, std::string_view kid, const ed25519_public_key*& out) const;

  /// HMAC-SHA256 of `input` with the secret (has_hmac() must be true). Does not allocate.
  void hmac_sha256(std::string_view input, unsigned char mac[hs256_mac_bytes]) const;
  /// Constant-time check of an HS256 signature; false when no secret is set.
  bool hmac_verify(std::string_view input, const unsigned char mac[hs256_mac_bytes]) const;

 private:
  struct hmac_key;  // libsodium state keyed once, copied per use; wiped on destruction
  std::vector<ed25519_public_key> ed25519_;
  std::unique_ptr<hmac_key> hmac_;
};

/// Ed25519 verification of a detached signature (libsodium; strict on non-canonical input).
bool ed25519_verify(const ed25519_public_key& key, std::string_view message,
                    const unsigned char sig[ed25519_signature_bytes]);

}  // namespace wsa

// Verification of compact JWS tokens carrying wsagent's JWT claims (docs/protocol.md, "Tokens").
//
// Two layers, usable apart (the RFC examples exercise the first one alone):
// 1. verify_signature: size limit, split into three parts, strict base64url, the header
//    (`alg` EdDSA or HS256 and nothing else; `crit` refused; `typ`, if present, "JWT" or
//    "application/jwt", case-insensitive; `kid` optional; other members such as `jwk` or
//    `jku` are ignored: keys never come from the token), key selection (keys.h), then the
//    signature over the text "b64(header).b64(payload)". Yields the decoded payload bytes.
// 2. check_claims: the payload as a JSON object; `sub` (non-empty string) and `exp`
//    (number) required, `nbf` and `iat` optional numbers, `perm` optional ({"pub":[..],
//    "sub":[..]}, each list optional, every entry a valid tag pattern; no `perm` means no
//    permission). `iss`, when present, must be a string and `aud` a string or an array of
//    strings (RFC 7519 4.1.1, 4.1.3); when verify_limits names an issuer or an audience,
//    a token without that `iss`, or whose `aud` does not hold that audience, is refused.
//    `info` (protocol 1.1 presence) is optional: an object of at most 1 KiB once minified.
//    Other claims are ignored. A member named twice in the
//    header, the claims or `perm` is refused. Time: refused when now >= exp + leeway
//    (RFC 7519: valid only *before* exp) or now + leeway < nbf. Fractional dates are rounded
//    towards refusal (exp down, nbf up). `iat` is only type-checked.
// verify() runs both. Checks run in the order listed, so a token with several faults gets
// the first one's reason; the signature is checked before any claim is parsed, so unsigned
// input never reaches the claims parser.
//
// The current time is passed in (seconds since the epoch), so tests and the server's coarse
// clock decide it. No exception leaves these functions (only running out of memory, which
// terminates). Reasons are static values: log them, count them; the client only gets
// "unauthorized" (docs/protocol.md).
//
// One token_verifier per shard, used by that shard's thread only (it owns reusable buffers
// and a JSON parser); the key_set it reads must outlive it and may be shared.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "auth/keys.h"
#include "auth/perm.h"

namespace wsa {

enum class jwt_alg : uint8_t { eddsa, hs256 };

/// "EdDSA" or "HS256".
const char* jwt_alg_name(jwt_alg alg);

enum class token_error : uint8_t {
  ok,
  too_large,         ///< longer than verify_limits::max_token_bytes: refused unread
  bad_format,        ///< not three dot-separated parts, or an empty header
  bad_base64,        ///< a part is not strict unpadded base64url
  bad_json,          ///< header or claims: not a JSON object, or a member named twice
  bad_header,        ///< no `alg`, a header member of the wrong type, `typ` not JWT
  crit_unsupported,  ///< the header has `crit`: no extension is understood
  alg_not_allowed,   ///< `none`, any other alg, or an alg with no key configured
  unknown_kid,       ///< `kid` names no configured Ed25519 key
  kid_required,      ///< no `kid`, and several Ed25519 keys are configured
  bad_signature,     ///< wrong length or does not verify
  missing_claim,     ///< no `sub` or no `exp`
  bad_claim,         ///< `sub` not a non-empty string, `exp`/`nbf`/`iat` not a number
  expired,           ///< now >= exp + leeway
  not_yet_valid,     ///< now + leeway < nbf
  bad_perm,          ///< `perm` malformed, or an entry is not a valid tag pattern
  wrong_issuer,      ///< an issuer is required and `iss` is missing or another
  wrong_audience,    ///< an audience is required and `aud` is missing or does not hold it
};
inline constexpr int token_error_count = 18;

/// Stable snake_case name, e.g. "expired" (for logs and metric labels).
const char* token_error_name(token_error e);
/// One sentence for people, e.g. "the token has expired".
const char* token_error_text(token_error e);

struct token_status {
  token_error error = token_error::ok;
  const char* detail = "";  ///< static text naming the part at fault ("exp", "header"...)
  bool ok() const { return error == token_error::ok; }
};

/// "expired (exp): the token has expired" for a log line.
std::string describe(token_status status);

struct verify_limits {
  std::size_t max_token_bytes = 8192;  ///< config::max_token_bytes
  uint32_t leeway_s = 30;              ///< config::token_leeway_s
  std::string audience;                ///< config::jwt_audience; empty: `aud` not required
  std::string issuer;                  ///< config::jwt_issuer; empty: `iss` not required
};

/// The largest `info` claim (minified) a token may carry (protocol 1.1 presence).
inline constexpr std::size_t max_info_bytes = 1024;

/// What a verified token grants. Dates are seconds since the epoch, clamped to +-2^62.
struct token_claims {
  std::string sub;
  /// Protocol 1.1 presence: the `info` claim (a JSON object of at most max_info_bytes once
  /// minified), as minified JSON text; empty: none.
  std::string info;
  int64_t exp_s = 0;
  int64_t nbf_s = 0;
  int64_t iat_s = 0;
  bool has_nbf = false;
  bool has_iat = false;
  jwt_alg alg = jwt_alg::eddsa;  ///< from the header (verify() only)
  std::string kid;               ///< from the header, empty if none (verify() only)
  permissions perm;
};

class token_verifier {
 public:
  /// `keys` must outlive the verifier. Allocates its buffers for `limits.max_token_bytes`.
  token_verifier(const key_set& keys, verify_limits limits);
  ~token_verifier();
  token_verifier(const token_verifier&) = delete;
  token_verifier& operator=(const token_verifier&) = delete;

  /// Both layers. On success `out` holds the claims; on failure `out` is untouched (so a
  /// refused refresh leaves the connection's current claims in place).
  token_status verify(std::string_view token, int64_t now_s, token_claims& out) noexcept;

  /// Layer 1. On success `payload` views the decoded payload, valid until the next call.
  token_status verify_signature(std::string_view token, std::string_view& payload) noexcept;

  /// Layer 2 on a payload (any bytes; copied if they are not verify_signature's own view).
  /// `out.alg`/`out.kid` are left as they were. On failure `out` is untouched.
  token_status check_claims(std::string_view payload, int64_t now_s, token_claims& out) noexcept;

  const verify_limits& limits() const { return limits_; }

 private:
  struct impl;  // the JSON parser stays out of this header
  verify_limits limits_;
  std::unique_ptr<impl> impl_;
};

}  // namespace wsa

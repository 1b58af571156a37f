// Token checks for a shard's handlers (docs/protocol.md "Connecting", "Tokens"): verifies a
// token once per connection or `auth` frame (never per message), counts and logs refusals
// (a flood of bad tokens must not flood the log), and reads the Bearer scheme. Null
// verifier: --no-auth, everything allowed. One per shard; shard thread only.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "auth/jwt.h"
#include "obs/metrics.h"
#include "wsa/config.h"

namespace wsa {

class key_set;

class token_gate {
 public:
  token_gate(const config& cfg, const key_set& keys, shard_metrics& metrics);

  /// Authentication is on.
  bool required() const { return verifier_ != nullptr; }
  /// Verifies `token` into claims(), counting and logging a refusal as coming from `where`.
  token_status verify(std::string_view token, std::string_view where);
  /// The claims of the last token verify() accepted (moved from by the caller).
  token_claims& claims() { return claims_; }
  /// The unix second from which that token is refused: its exp plus --token-leeway, the
  /// moment verify() itself would refuse it (exp is required and clamped to +-2^62, the
  /// leeway to an hour: no overflow).
  int64_t expiry_s() const { return claims_.exp_s + leeway_s_; }
  /// A buffer for a percent-decoded ?token= (max_token_bytes + 1).
  std::vector<char>& query_token_buffer() { return query_token_; }
  /// A failure that never reached verify() (no token, malformed header), counted.
  void count_failure() { metrics_.auth_failures.add(); }

 private:
  shard_metrics& metrics_;
  std::unique_ptr<token_verifier> verifier_;
  token_claims claims_;
  std::vector<char> query_token_;
  int64_t leeway_s_ = 0;    // --token-leeway
  int log_budget_ = 0;      // refusals still logged this second...
  int64_t log_second_ = 0;  // ...which is this unix second
};

/// The credentials of "Bearer <token>" (RFC 6750 section 2.1; the scheme is
/// case-insensitive). Empty when the header holds another scheme.
std::string_view bearer_credentials(std::string_view authorization);

}  // namespace wsa

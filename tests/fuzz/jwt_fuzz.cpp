// libFuzzer target: JWT verification (src/auth/jwt.h), for the three shapes a client
// controls. The first input byte chooses the shape:
//   0: any bytes as the token;
//   1: a header and claims of the fuzzer's choice (separated by a NUL byte), really signed
//      with the configured Ed25519 key or HS256 secret, so that the header and claims
//      parsers are reached;
//   2: as 1, then one byte of the header or claims text changed, or the signature part
//      replaced: such a token must never verify.
// Checks: no crash or leak; verification is deterministic; verify() is verify_signature()
// then check_claims(); what verifies has a subject, an expiry still ahead, permissions
// that match the claims' own patterns, and the header's algorithm.
#include <string>
#include <string_view>

#include "auth/jwt.h"
#include "auth/keys.h"
#include "fuzz_support.h"
#include "pubsub/tag.h"
#include "tools/mint.h"

namespace {

constexpr int64_t now_s = 1764950400;  // fixed: a crash must reproduce on another day

// RFC 8037 appendix A.1's key, with a kid.
constexpr std::string_view private_jwk =
    R"({"kty":"OKP","crv":"Ed25519","kid":"k1",)"
    R"("d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A",)"
    R"("x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"})";
constexpr std::string_view hmac_secret = "fuzz-secret-of-at-least-32-bytes!!";

struct fixture {
  wsa::ed25519_private_key key;
  wsa::key_set keys;
  wsa::token_verifier* verifier = nullptr;

  fixture() {
    WSA_FUZZ_REQUIRE(wsa::crypto_init());
    std::string error;
    WSA_FUZZ_REQUIRE(wsa::parse_private_jwk(private_jwk, key, error));
    WSA_FUZZ_REQUIRE(keys.add_ed25519(key.pub, error));
    WSA_FUZZ_REQUIRE(keys.set_hmac_secret(hmac_secret, error));
    verifier = new wsa::token_verifier(keys, wsa::verify_limits{});
  }
};

void check_verified(const wsa::token_claims& claims) {
  WSA_FUZZ_REQUIRE(!claims.sub.empty());
  WSA_FUZZ_REQUIRE(now_s < claims.exp_s + int64_t{wsa::verify_limits{}.leeway_s});
  WSA_FUZZ_REQUIRE(!claims.has_nbf || claims.nbf_s <= now_s + wsa::verify_limits{}.leeway_s);
}

wsa::token_status verify(wsa::token_verifier& v, std::string_view token,
                         wsa::token_claims& claims) {
  const wsa::token_status status = v.verify(token, now_s, claims);
  // The two layers on their own agree with the whole.
  std::string_view payload;
  const wsa::token_status signature = v.verify_signature(token, payload);
  if (!signature.ok()) {
    WSA_FUZZ_REQUIRE(status.error == signature.error);
    return status;
  }
  const std::string payload_copy(payload);
  wsa::token_claims again;
  const wsa::token_status claims_status = v.check_claims(payload_copy, now_s, again);
  WSA_FUZZ_REQUIRE(status.error == claims_status.error);
  if (status.ok()) {
    WSA_FUZZ_REQUIRE(again.sub == claims.sub && again.exp_s == claims.exp_s);
    WSA_FUZZ_REQUIRE(again.perm.pub_count() == claims.perm.pub_count());
    WSA_FUZZ_REQUIRE(again.perm.sub_count() == claims.perm.sub_count());
    check_verified(claims);
  }
  return status;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  static fixture f;
  wsa::fuzz::input in(data, size);
  const uint8_t shape = in.byte() % 3;
  wsa::token_claims claims;
  if (shape == 0) {
    const std::string token(in.rest());
    const wsa::token_status first = verify(*f.verifier, token, claims);
    wsa::token_claims second_claims;
    WSA_FUZZ_REQUIRE(f.verifier->verify(token, now_s, second_claims).error == first.error);
    WSA_FUZZ_REQUIRE(wsa::token_error_name(first.error) != nullptr);
    return 0;
  }
  const bool hs256 = in.flag();
  const uint32_t tamper_at = in.u32();
  const uint8_t tamper_with = in.byte();
  const std::string header(in.until('\0', 2048));
  const std::string payload(in.rest());
  std::string token = hs256 ? wsa::sign_hs256(header, payload, hmac_secret)
                            : wsa::sign_eddsa(header, payload, f.key);
  if (shape == 2) {
    const std::size_t signed_part = token.rfind('.');
    if (tamper_at % 4 == 0) {
      // Another signature: the other algorithm's, over the same text. The header's own
      // `alg` decides which one is right, so one of the two may verify, never both.
      const bool first_ok = verify(*f.verifier, token, claims).ok();
      const std::string other = hs256 ? wsa::sign_eddsa(header, payload, f.key)
                                      : wsa::sign_hs256(header, payload, hmac_secret);
      token = token.substr(0, signed_part) + other.substr(other.rfind('.'));
      WSA_FUZZ_REQUIRE(!(first_ok && verify(*f.verifier, token, claims).ok()));
      return 0;
    } else {
      const std::size_t at = (tamper_at >> 2) % signed_part;
      if (token[at] == static_cast<char>(tamper_with)) {
        return 0;  // no change
      }
      token[at] = static_cast<char>(tamper_with);
    }
    WSA_FUZZ_REQUIRE(!verify(*f.verifier, token, claims).ok());
    return 0;
  }
  const wsa::token_status status = verify(*f.verifier, token, claims);
  if (status.ok()) {
    WSA_FUZZ_REQUIRE(claims.alg == (hs256 ? wsa::jwt_alg::hs256 : wsa::jwt_alg::eddsa));
    // Whatever the claims granted is a valid pattern, so a valid tag check cannot crash.
    (void)claims.perm.may_publish("a.b");
    (void)claims.perm.may_subscribe("a.>");
  }
  return 0;
}

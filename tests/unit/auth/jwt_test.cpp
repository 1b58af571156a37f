// Token verification: the RFC 8037 and RFC 7515 examples (signature layer), every refusal
// reason, leeway edges, kid selection and key rotation, and what a verified token yields.
#include "auth/jwt.h"

#include <gtest/gtest.h>

#include <ostream>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "auth_test_util.h"

namespace wsa {

void PrintTo(token_error e, std::ostream* os) { *os << token_error_name(e); }

namespace {

using test::make_key;
using test::raw_eddsa;
using test::raw_hs256;

constexpr int64_t now = 1'700'000'000;
constexpr std::string_view k1_header = R"({"alg":"EdDSA","typ":"JWT","kid":"k1"})";
constexpr std::string_view hs_header = R"({"alg":"HS256","typ":"JWT"})";
const std::string secret = "a shared secret of at least thirty-two bytes";

std::string claims(int64_t exp, std::string_view extra = "") {
  return R"({"sub":"alice","exp":)" + std::to_string(exp) + std::string(extra) +
         R"(,"perm":{"pub":["chat.*"],"sub":["chat.>","news"]}})";
}

std::string b64(std::string_view s) { return base64url_encode(s); }

class auth_jwt : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { test::need_crypto(); }

  void SetUp() override {
    k1_ = make_key("k1");
    std::string error;
    ASSERT_TRUE(keys_.add_ed25519(k1_.pub, error)) << error;
    ASSERT_TRUE(keys_.set_hmac_secret(secret, error)) << error;
  }

  std::string eddsa(std::string_view payload, std::string_view header = k1_header) const {
    return sign_eddsa(header, payload, k1_);
  }

  token_status run(std::string_view token, int64_t at = now, uint32_t leeway = 30) {
    token_verifier v(keys_, verify_limits{8192, leeway});
    token_claims out;
    return v.verify(token, at, out);
  }

  ed25519_private_key k1_;
  key_set keys_;
};

// --- The RFC examples ------------------------------------------------------------------

TEST_F(auth_jwt, rfc8037_a4_ed25519_signature_verifies) {
  key_set ks;
  std::string error;
  std::vector<std::string> warnings;
  ASSERT_TRUE(ks.add_jwks(test::rfc8037_public_jwks, error, warnings)) << error;
  token_verifier v(ks, verify_limits{});
  std::string_view payload;
  const token_status s = v.verify_signature(test::rfc8037_jws, payload);
  ASSERT_TRUE(s.ok()) << describe(s);
  EXPECT_EQ(payload, "Example of Ed25519 signing");

  // The payload is not a claims set: the claims layer refuses it, the signature layer did not.
  token_claims out;
  EXPECT_EQ(v.verify(test::rfc8037_jws, now, out).error, token_error::bad_json);

  // Any change to the signed text or the signature breaks it.
  std::string forged(test::rfc8037_jws);
  forged[forged.find('.') + 3] ^= 0x01;  // payload character, still base64url
  EXPECT_EQ(v.verify_signature(forged, payload).error, token_error::bad_signature);
  forged = std::string(test::rfc8037_jws);
  forged[forged.size() - 5] = forged[forged.size() - 5] == 'A' ? 'B' : 'A';
  EXPECT_EQ(v.verify_signature(forged, payload).error, token_error::bad_signature);
}

TEST_F(auth_jwt, rfc8037_a4_refused_with_another_key_or_kid) {
  key_set other;
  std::string error;
  ASSERT_TRUE(other.add_ed25519(k1_.pub, error));
  token_verifier v(other, verify_limits{});
  std::string_view payload;
  EXPECT_EQ(v.verify_signature(test::rfc8037_jws, payload).error, token_error::bad_signature);
}

TEST_F(auth_jwt, rfc7515_a1_hs256_signature_verifies_and_claims_layer_is_separate) {
  key_set ks;
  std::string error;
  ASSERT_TRUE(ks.set_hmac_secret(test::rfc7515_secret(), error)) << error;
  token_verifier v(ks, verify_limits{8192, 0});  // no leeway: exp counts to the second
  std::string_view payload;
  const token_status s = v.verify_signature(test::rfc7515_jws, payload);
  ASSERT_TRUE(s.ok()) << describe(s);
  EXPECT_EQ(payload, test::rfc7515_payload);

  // The example has `exp` but no `sub`: refused by the claims layer only.
  token_claims out;
  out.sub = "unchanged";
  const token_status c = v.check_claims(payload, 1300819380 - 100, out);
  EXPECT_EQ(c.error, token_error::missing_claim);
  EXPECT_STREQ(c.detail, "sub");
  EXPECT_EQ(out.sub, "unchanged");
  EXPECT_EQ(v.verify(test::rfc7515_jws, 1300819380 - 100, out).error,
            token_error::missing_claim);

  // With a `sub` added (claims checked on their own, no signature involved), its `exp` counts.
  const std::string with_sub = R"({"iss":"joe","sub":"joe","exp":1300819380})";
  EXPECT_TRUE(v.check_claims(with_sub, 1300819380 - 1, out).ok());
  EXPECT_EQ(out.sub, "joe");
  EXPECT_EQ(out.exp_s, 1300819380);
  EXPECT_EQ(v.check_claims(with_sub, 1300819380, out).error, token_error::expired);

  std::string forged(test::rfc7515_jws);
  forged.back() = forged.back() == 'k' ? 'l' : 'k';
  EXPECT_NE(v.verify_signature(forged, payload).error, token_error::ok);
  key_set wrong;
  ASSERT_TRUE(wrong.set_hmac_secret("not the key", error));
  token_verifier w(wrong, verify_limits{});
  EXPECT_EQ(w.verify_signature(test::rfc7515_jws, payload).error, token_error::bad_signature);
}

// --- What a good token yields ----------------------------------------------------------------

TEST_F(auth_jwt, eddsa_token_yields_claims_and_permissions) {
  token_verifier v(keys_, verify_limits{});
  token_claims out;
  const std::string token =
      eddsa(R"({"sub":"al\u00e9\"x","exp":1700003600,"nbf":1699999000,"iat":1699999000.9,)"
            R"("aud":"ignored","perm":{"pub":["chat.*"],"sub":["chat.>","news"],"x":1}})");
  const token_status s = v.verify(token, now, out);
  ASSERT_TRUE(s.ok()) << describe(s);
  EXPECT_EQ(out.sub, "al\xc3\xa9\"x");
  EXPECT_EQ(out.exp_s, 1700003600);
  EXPECT_TRUE(out.has_nbf);
  EXPECT_EQ(out.nbf_s, 1699999000);
  EXPECT_TRUE(out.has_iat);
  EXPECT_EQ(out.iat_s, 1699999000);
  EXPECT_EQ(out.alg, jwt_alg::eddsa);
  EXPECT_EQ(out.kid, "k1");
  EXPECT_TRUE(out.perm.may_publish("chat.room1"));
  EXPECT_FALSE(out.perm.may_publish("news"));
  EXPECT_TRUE(out.perm.may_subscribe("chat.>"));
  EXPECT_TRUE(out.perm.may_subscribe("news"));
  EXPECT_FALSE(out.perm.may_subscribe("news.>"));
}

TEST_F(auth_jwt, hs256_token_ignores_kid_and_reports_it) {
  token_verifier v(keys_, verify_limits{});
  token_claims out;
  const std::string token =
      sign_hs256(R"({"alg":"HS256","kid":"whatever"})", claims(now + 60), secret);
  const token_status s = v.verify(token, now, out);
  ASSERT_TRUE(s.ok()) << describe(s);
  EXPECT_EQ(out.alg, jwt_alg::hs256);
  EXPECT_EQ(out.kid, "whatever");
  EXPECT_FALSE(out.has_nbf);
  EXPECT_FALSE(out.has_iat);
}

TEST_F(auth_jwt, no_perm_means_no_permission) {
  token_verifier v(keys_, verify_limits{});
  token_claims out;
  ASSERT_TRUE(v.verify(eddsa(R"({"sub":"bob","exp":1700000100})"), now, out).ok());
  EXPECT_FALSE(out.perm.may_publish("a"));
  EXPECT_FALSE(out.perm.may_subscribe("a"));
  ASSERT_TRUE(v.verify(eddsa(R"({"sub":"bob","exp":1700000100,"perm":{}})"), now, out).ok());
  EXPECT_FALSE(out.perm.may_publish("a"));
}

TEST_F(auth_jwt, typ_variants) {
  for (const char* typ : {"JWT", "jwt", "application/jwt", "Application/JWT"}) {
    const std::string h = std::string(R"({"alg":"EdDSA","kid":"k1","typ":")") + typ + "\"}";
    EXPECT_TRUE(run(eddsa(claims(now + 60), h)).ok()) << typ;
  }
  for (const char* typ : {"at+jwt", "JOSE", "JWS", ""}) {
    const std::string h = std::string(R"({"alg":"EdDSA","kid":"k1","typ":")") + typ + "\"}";
    EXPECT_EQ(run(eddsa(claims(now + 60), h)).error, token_error::bad_header) << typ;
  }
}

TEST_F(auth_jwt, header_members_that_carry_keys_are_ignored) {
  // A `jwk` in the header must never be trusted: the token names its own key here, and is
  // still checked against the configured one.
  ed25519_private_key attacker = make_key("k1");
  const std::string h = R"({"alg":"EdDSA","kid":"k1","jwk":{"kty":"OKP","crv":"Ed25519","x":")" +
                        base64url_encode(attacker.pub.pk) + R"("},"jku":"http://x"})";
  EXPECT_EQ(run(sign_eddsa(h, claims(now + 60), attacker)).error, token_error::bad_signature);
  EXPECT_TRUE(run(sign_eddsa(h, claims(now + 60), k1_)).ok());
}

TEST_F(auth_jwt, refused_token_leaves_previous_claims_in_place) {
  token_verifier v(keys_, verify_limits{});
  token_claims out;
  ASSERT_TRUE(v.verify(eddsa(claims(now + 60)), now, out).ok());
  const std::string bad[] = {eddsa(claims(now - 60)),
                             eddsa(R"({"sub":"mallory","exp":1700000100,"perm":{"pub":["a..b"]}})"),
                             eddsa(R"({"sub":"mallory"})"), "x.y.z"};
  for (const std::string& t : bad) {
    EXPECT_FALSE(v.verify(t, now, out).ok());
    EXPECT_EQ(out.sub, "alice");
    EXPECT_EQ(out.exp_s, now + 60);
    EXPECT_TRUE(out.perm.may_publish("chat.x"));
  }
}

// --- Every refusal -------------------------------------------------------------------------

struct refusal {
  const char* name;
  std::string token;
  token_error expected;
};

TEST_F(auth_jwt, every_refusal_reason) {
  const std::string good_claims = claims(now + 60);
  const std::string good = eddsa(good_claims);
  const std::string good_sig = good.substr(good.rfind('.'));
  const std::string hdr = b64(k1_header);
  const std::string pl = b64(good_claims);
  ed25519_private_key k2 = make_key("k1");  // same kid, other key
  const std::vector<refusal> cases = {
      {"too large", std::string(8193, 'a'), token_error::too_large},
      {"one part", "abc", token_error::bad_format},
      {"two parts", hdr + "." + pl, token_error::bad_format},
      {"four parts", good + ".x", token_error::bad_format},
      {"JWE (five parts)", "a.b.c.d.e", token_error::bad_format},
      {"empty header", "." + pl + good_sig, token_error::bad_format},
      {"empty", "", token_error::bad_format},
      {"padded header", hdr + "=." + pl + good_sig, token_error::bad_base64},
      {"standard alphabet", "+" + hdr.substr(1) + "." + pl + good_sig, token_error::bad_base64},
      {"leading space", " " + good, token_error::bad_base64},
      {"payload junk", raw_eddsa(hdr + "." + pl + "!", k1_), token_error::bad_base64},
      {"payload padding", raw_eddsa(hdr + "." + b64("{}") + "=", k1_), token_error::bad_base64},
      {"signature junk", good.substr(0, good.size() - 1) + "*", token_error::bad_base64},
      {"header not JSON", eddsa(good_claims, "{\"alg\":\"EdDSA\""), token_error::bad_json},
      {"header array", eddsa(good_claims, "[\"EdDSA\"]"), token_error::bad_json},
      {"header twice alg", eddsa(good_claims, R"({"alg":"EdDSA","kid":"k1","alg":"HS256"})"),
       token_error::bad_json},
      {"header twice kid", eddsa(good_claims, R"({"alg":"EdDSA","kid":"k1","kid":"k2"})"),
       token_error::bad_json},
      {"claims not JSON", eddsa("{\"sub\":\"a\","), token_error::bad_json},
      {"claims string", eddsa("\"alice\""), token_error::bad_json},
      {"claims empty", eddsa(""), token_error::bad_json},
      {"claims trailing", eddsa(good_claims + "{}"), token_error::bad_json},
      {"claims twice sub", eddsa(R"({"sub":"a","sub":"b","exp":1800000000})"),
       token_error::bad_json},
      {"claims twice exp", eddsa(R"({"sub":"a","exp":1800000000,"exp":1})"),
       token_error::bad_json},
      {"no alg", eddsa(good_claims, R"({"kid":"k1"})"), token_error::bad_header},
      {"alg number", eddsa(good_claims, R"({"alg":1,"kid":"k1"})"), token_error::bad_header},
      {"kid number", eddsa(good_claims, R"({"alg":"EdDSA","kid":1})"), token_error::bad_header},
      {"typ object", eddsa(good_claims, R"({"alg":"EdDSA","kid":"k1","typ":{}})"),
       token_error::bad_header},
      {"crit", eddsa(good_claims, R"({"alg":"EdDSA","kid":"k1","crit":["exp"],"exp":1})"),
       token_error::crit_unsupported},
      {"crit empty", eddsa(good_claims, R"({"alg":"EdDSA","kid":"k1","crit":[]})"),
       token_error::crit_unsupported},
      {"b64 false", eddsa(good_claims, R"({"alg":"EdDSA","kid":"k1","b64":false,"crit":["b64"]})"),
       token_error::crit_unsupported},
      {"alg none", b64(R"({"alg":"none"})") + "." + pl + ".", token_error::alg_not_allowed},
      {"alg none signed", eddsa(good_claims, R"({"alg":"none","kid":"k1"})"),
       token_error::alg_not_allowed},
      {"alg None", b64(R"({"alg":"None"})") + "." + pl + ".", token_error::alg_not_allowed},
      {"alg RS256", eddsa(good_claims, R"({"alg":"RS256","kid":"k1"})"),
       token_error::alg_not_allowed},
      {"alg HS512", eddsa(good_claims, R"({"alg":"HS512"})"), token_error::alg_not_allowed},
      {"alg ES256", eddsa(good_claims, R"({"alg":"ES256","kid":"k1"})"),
       token_error::alg_not_allowed},
      {"alg Ed25519", eddsa(good_claims, R"({"alg":"Ed25519","kid":"k1"})"),
       token_error::alg_not_allowed},
      {"alg lower case", eddsa(good_claims, R"({"alg":"eddsa","kid":"k1"})"),
       token_error::alg_not_allowed},
      {"unknown kid", eddsa(good_claims, R"({"alg":"EdDSA","kid":"k9"})"),
       token_error::unknown_kid},
      {"empty kid", eddsa(good_claims, R"({"alg":"EdDSA","kid":""})"), token_error::unknown_kid},
      {"flipped payload", hdr + "." + b64(claims(now + 61)) + good_sig, token_error::bad_signature},
      {"other key same kid", sign_eddsa(k1_header, good_claims, k2), token_error::bad_signature},
      {"no signature", hdr + "." + pl + ".", token_error::bad_signature},
      {"short signature", good.substr(0, good.size() - 2), token_error::bad_signature},
      {"long signature", good + "AA", token_error::bad_signature},
      {"hs256 signature on eddsa", hdr + "." + pl + "." +
                                       raw_hs256(hdr + "." + pl, secret).substr(hdr.size() + pl.size() + 2),
       token_error::bad_signature},
      {"hs256 wrong secret", sign_hs256(hs_header, good_claims, secret + "x"),
       token_error::bad_signature},
      {"hs256 header swapped", b64(hs_header) + "." + pl + good_sig, token_error::bad_signature},
      {"no sub", eddsa(R"({"exp":1800000000})"), token_error::missing_claim},
      {"no exp", eddsa(R"({"sub":"alice"})"), token_error::missing_claim},
      {"sub number", eddsa(R"({"sub":7,"exp":1800000000})"), token_error::bad_claim},
      {"sub empty", eddsa(R"({"sub":"","exp":1800000000})"), token_error::bad_claim},
      {"sub null", eddsa(R"({"sub":null,"exp":1800000000})"), token_error::bad_claim},
      {"exp string", eddsa(R"({"sub":"a","exp":"1800000000"})"), token_error::bad_claim},
      {"exp bool", eddsa(R"({"sub":"a","exp":true})"), token_error::bad_claim},
      {"nbf array", eddsa(R"({"sub":"a","exp":1800000000,"nbf":[1]})"), token_error::bad_claim},
      {"iat string", eddsa(R"({"sub":"a","exp":1800000000,"iat":"now"})"),
       token_error::bad_claim},
      {"expired", eddsa(claims(now - 3600)), token_error::expired},
      {"not yet valid", eddsa(claims(now + 7200, ",\"nbf\":1700003600")),
       token_error::not_yet_valid},
      {"perm array", eddsa(R"({"sub":"a","exp":1800000000,"perm":["chat.*"]})"),
       token_error::bad_perm},
      {"perm.pub string", eddsa(R"({"sub":"a","exp":1800000000,"perm":{"pub":"chat.*"}})"),
       token_error::bad_perm},
      {"perm.sub number entry", eddsa(R"({"sub":"a","exp":1800000000,"perm":{"sub":[1]}})"),
       token_error::bad_perm},
      {"perm empty segment", eddsa(R"({"sub":"a","exp":1800000000,"perm":{"pub":["a..b"]}})"),
       token_error::bad_perm},
      {"perm > not last", eddsa(R"({"sub":"a","exp":1800000000,"perm":{"sub":["a.>.b"]}})"),
       token_error::bad_perm},
      {"perm partial wildcard", eddsa(R"({"sub":"a","exp":1800000000,"perm":{"sub":["a*"]}})"),
       token_error::bad_perm},
      {"perm empty pattern", eddsa(R"({"sub":"a","exp":1800000000,"perm":{"pub":[""]}})"),
       token_error::bad_perm},
      {"perm space", eddsa(R"({"sub":"a","exp":1800000000,"perm":{"pub":["a b"]}})"),
       token_error::bad_perm},
      {"perm.pub twice", eddsa(R"({"sub":"a","exp":1800000000,"perm":{"pub":[],"pub":["a"]}})"),
       token_error::bad_perm},
      {"perm twice", eddsa(R"({"sub":"a","exp":1800000000,"perm":{},"perm":{}})"),
       token_error::bad_json},
  };
  std::set<token_error> seen;
  for (const refusal& c : cases) {
    const token_status s = run(c.token);
    EXPECT_EQ(s.error, c.expected) << c.name << ": " << describe(s);
    seen.insert(s.error);
  }

  // Reasons that need another key set.
  key_set only_hmac;
  key_set only_ed;
  key_set two;
  std::string error;
  ASSERT_TRUE(only_hmac.set_hmac_secret(secret, error));
  ASSERT_TRUE(only_ed.add_ed25519(k1_.pub, error));
  ASSERT_TRUE(two.add_ed25519(k1_.pub, error));
  ASSERT_TRUE(two.add_ed25519(make_key("k2").pub, error));
  std::string_view payload;
  const auto check = [&](const key_set& ks, const std::string& token, token_error expected) {
    token_verifier v(ks, verify_limits{});
    const token_status s = v.verify_signature(token, payload);
    EXPECT_EQ(s.error, expected) << describe(s);
    seen.insert(s.error);
  };
  check(only_hmac, good, token_error::alg_not_allowed);
  check(only_ed, sign_hs256(hs_header, good_claims, secret), token_error::alg_not_allowed);
  check(two, eddsa(good_claims, R"({"alg":"EdDSA"})"), token_error::kid_required);
  // Reasons that need a required issuer or audience.
  token_verifier strict(keys_, verify_limits{8192, 30, "api", "auth"});
  token_claims out;
  for (const auto& [extra, expected] :
       {std::pair{R"(,"aud":"api")", token_error::wrong_issuer},
        std::pair{R"(,"iss":"auth")", token_error::wrong_audience}}) {
    const token_status s = strict.verify(eddsa(claims(now + 60, extra)), now, out);
    EXPECT_EQ(s.error, expected) << describe(s);
    seen.insert(s.error);
  }

  for (int e = 1; e < token_error_count; ++e) {
    EXPECT_TRUE(seen.count(static_cast<token_error>(e)) == 1)
        << "no case for " << token_error_name(static_cast<token_error>(e));
  }
}

TEST_F(auth_jwt, size_limit_is_inclusive_and_checked_before_decoding) {
  const std::string token = eddsa(claims(now + 60));
  token_claims out;
  token_verifier exact(keys_, verify_limits{token.size(), 30});
  EXPECT_TRUE(exact.verify(token, now, out).ok());
  token_verifier under(keys_, verify_limits{token.size() - 1, 30});
  EXPECT_EQ(under.verify(token, now, out).error, token_error::too_large);
  // Garbage over the limit is refused as too large, not as malformed.
  EXPECT_EQ(under.verify(std::string(token.size(), '!'), now, out).error,
            token_error::too_large);
  // A claims text larger than the buffer passed to check_claims directly.
  EXPECT_EQ(under.check_claims(std::string(token.size(), ' '), now, out).error,
            token_error::too_large);
}

TEST_F(auth_jwt, every_reason_has_a_name_and_a_sentence) {
  std::set<std::string> names;
  for (int e = 0; e < token_error_count; ++e) {
    const auto err = static_cast<token_error>(e);
    EXPECT_STRNE(token_error_text(err), "unknown reason");
    names.insert(token_error_name(err));
  }
  EXPECT_EQ(names.size(), static_cast<std::size_t>(token_error_count));
  EXPECT_EQ(describe(token_status{token_error::expired, "exp"}),
            "expired (exp): the token has expired");
  EXPECT_EQ(describe(token_status{token_error::bad_signature, ""}),
            "bad_signature: the token's signature does not verify");
}

// --- Issuer and audience (RFC 7519 4.1.1, 4.1.3) -----------------------------------------

TEST_F(auth_jwt, iss_and_aud_are_not_checked_unless_configured_but_must_be_well_formed) {
  for (std::string_view extra : {R"(,"iss":"anyone")", R"(,"aud":"other")",
                                 R"(,"aud":["a","b"])", R"(,"aud":[])"}) {
    EXPECT_TRUE(run(eddsa(claims(now + 60, extra))).ok()) << extra;
  }
  EXPECT_EQ(run(eddsa(claims(now + 60, R"(,"iss":7)"))).error, token_error::bad_claim);
  EXPECT_EQ(run(eddsa(claims(now + 60, R"(,"aud":{"x":1})"))).error, token_error::bad_claim);
  EXPECT_EQ(run(eddsa(claims(now + 60, R"(,"aud":["a",2])"))).error, token_error::bad_claim);
  EXPECT_EQ(run(eddsa(claims(now + 60, R"(,"aud":"a","aud":"b")"))).error,
            token_error::bad_json);
  EXPECT_EQ(run(eddsa(claims(now + 60, R"(,"iss":"a","iss":"a")"))).error,
            token_error::bad_json);
}

TEST_F(auth_jwt, a_configured_audience_must_be_in_aud_as_a_string_or_in_an_array) {
  token_verifier v(keys_, verify_limits{8192, 30, "https://api.example", ""});
  token_claims out;
  const auto verify = [&](std::string_view extra) {
    return v.verify(eddsa(claims(now + 60, extra)), now, out);
  };
  EXPECT_TRUE(verify(R"(,"aud":"https://api.example")").ok());
  EXPECT_TRUE(verify(R"(,"aud":["https://other.example","https://api.example"])").ok());
  EXPECT_EQ(verify("").error, token_error::wrong_audience);
  EXPECT_EQ(verify(R"(,"aud":"https://other.example")").error, token_error::wrong_audience);
  EXPECT_EQ(verify(R"(,"aud":["https://other.example"])").error, token_error::wrong_audience);
  EXPECT_EQ(verify(R"(,"aud":[])").error, token_error::wrong_audience);
  // StringOrURI values compare as exact strings: no case folding, no prefix matching.
  EXPECT_EQ(verify(R"(,"aud":"HTTPS://API.EXAMPLE")").error, token_error::wrong_audience);
  EXPECT_EQ(verify(R"(,"aud":"https://api.example/")").error, token_error::wrong_audience);
  EXPECT_EQ(verify(R"(,"aud":"https://api.exampl")").error, token_error::wrong_audience);
  EXPECT_EQ(describe(verify("")),
            "wrong_audience (no aud): the token is not meant for this server (aud lacks the "
            "configured audience)");
}

TEST_F(auth_jwt, a_configured_issuer_must_be_iss_exactly_and_both_checks_apply) {
  token_verifier v(keys_, verify_limits{8192, 30, "svc", "https://auth.example"});
  token_claims out;
  const auto verify = [&](std::string_view extra) {
    return v.verify(eddsa(claims(now + 60, extra)), now, out);
  };
  EXPECT_TRUE(verify(R"(,"iss":"https://auth.example","aud":"svc")").ok());
  EXPECT_EQ(verify(R"(,"aud":"svc")").error, token_error::wrong_issuer);
  EXPECT_EQ(verify(R"(,"iss":"https://evil.example","aud":"svc")").error,
            token_error::wrong_issuer);
  EXPECT_EQ(verify(R"(,"iss":"https://auth.example")").error, token_error::wrong_audience);
  EXPECT_EQ(verify(R"(,"iss":["https://auth.example"],"aud":"svc")").error,
            token_error::bad_claim);
  // A refused token leaves the claims of the last good one in place.
  ASSERT_TRUE(verify(R"(,"iss":"https://auth.example","aud":"svc")").ok());
  EXPECT_EQ(out.sub, "alice");
}

// --- Time ----------------------------------------------------------------------------------

TEST_F(auth_jwt, exp_leeway_edges) {
  const std::string token = eddsa(claims(1000));
  EXPECT_TRUE(run(token, 999, 0).ok());
  EXPECT_EQ(run(token, 1000, 0).error, token_error::expired);  // valid only before exp
  EXPECT_TRUE(run(token, 1029, 30).ok());
  EXPECT_EQ(run(token, 1030, 30).error, token_error::expired);
  EXPECT_TRUE(run(token, -5000, 30).ok());
}

TEST_F(auth_jwt, nbf_leeway_edges) {
  const std::string token = eddsa(claims(5000, ",\"nbf\":1000"));
  EXPECT_TRUE(run(token, 1000, 0).ok());
  EXPECT_EQ(run(token, 999, 0).error, token_error::not_yet_valid);
  EXPECT_TRUE(run(token, 970, 30).ok());
  EXPECT_EQ(run(token, 969, 30).error, token_error::not_yet_valid);
}

TEST_F(auth_jwt, fractional_and_extreme_dates) {
  // Fractions round towards refusal: exp 1000.5 counts as 1000, nbf 999.5 as 1000.
  EXPECT_TRUE(run(eddsa(R"({"sub":"a","exp":1000.5})"), 999, 0).ok());
  EXPECT_EQ(run(eddsa(R"({"sub":"a","exp":1000.5})"), 1000, 0).error, token_error::expired);
  EXPECT_EQ(run(eddsa(R"({"sub":"a","exp":2000,"nbf":999.5})"), 999, 0).error,
            token_error::not_yet_valid);
  EXPECT_TRUE(run(eddsa(R"({"sub":"a","exp":2000,"nbf":999.5})"), 1000, 0).ok());
  EXPECT_TRUE(run(eddsa(R"({"sub":"a","exp":1e300})"), now, 30).ok());
  EXPECT_TRUE(run(eddsa(R"({"sub":"a","exp":18446744073709551615})"), now, 30).ok());
  // Both dates clamp to the same far limit: a token valid to the end of time never expires.
  EXPECT_TRUE(run(eddsa(R"({"sub":"a","exp":9223372036854775807})"), INT64_MAX, 3600).ok());
  EXPECT_EQ(run(eddsa(R"({"sub":"a","exp":-1e300})"), now, 30).error, token_error::expired);
  EXPECT_EQ(run(eddsa(R"({"sub":"a","exp":-9223372036854775808})"), now, 3600).error,
            token_error::expired);
  EXPECT_EQ(run(eddsa(R"({"sub":"a","exp":1e999})"), now, 30).error, token_error::bad_json);
}

// --- Keys: selection and rotation ------------------------------------------------------------

TEST_F(auth_jwt, single_key_without_kid_is_used_for_tokens_without_kid) {
  key_set ks;
  std::string error;
  ed25519_private_key anon = make_key("");
  anon.pub.kid.clear();
  ASSERT_TRUE(ks.add_ed25519(anon.pub, error));
  token_verifier v(ks, verify_limits{});
  token_claims out;
  EXPECT_TRUE(v.verify(sign_eddsa(R"({"alg":"EdDSA"})", claims(now + 60), anon), now, out).ok());
  // A kid in the token must name a key: this key has none.
  EXPECT_EQ(v.verify(sign_eddsa(k1_header, claims(now + 60), anon), now, out).error,
            token_error::unknown_kid);
  // A single key with a kid also serves tokens without one.
  token_verifier v1(keys_, verify_limits{});
  EXPECT_TRUE(v1.verify(eddsa(claims(now + 60), R"({"alg":"EdDSA"})"), now, out).ok());
}

TEST_F(auth_jwt, rotation_with_two_keys) {
  ed25519_private_key k2 = make_key("k2");
  const std::string h2 = R"({"alg":"EdDSA","kid":"k2"})";
  const std::string t1 = eddsa(claims(now + 60));
  const std::string t2 = sign_eddsa(h2, claims(now + 60), k2);
  const std::string t2_named_k1 = sign_eddsa(k1_header, claims(now + 60), k2);

  key_set old_only;
  key_set both;
  key_set new_only;
  std::string error;
  ASSERT_TRUE(old_only.add_ed25519(k1_.pub, error));
  ASSERT_TRUE(both.add_ed25519(k1_.pub, error));
  ASSERT_TRUE(both.add_ed25519(k2.pub, error));
  ASSERT_TRUE(new_only.add_ed25519(k2.pub, error));

  token_claims out;
  token_verifier before(old_only, verify_limits{});
  token_verifier during(both, verify_limits{});
  token_verifier after(new_only, verify_limits{});
  EXPECT_TRUE(before.verify(t1, now, out).ok());
  EXPECT_EQ(before.verify(t2, now, out).error, token_error::unknown_kid);
  EXPECT_TRUE(during.verify(t1, now, out).ok());
  EXPECT_EQ(out.kid, "k1");
  EXPECT_TRUE(during.verify(t2, now, out).ok());
  EXPECT_EQ(out.kid, "k2");
  EXPECT_EQ(during.verify(t2_named_k1, now, out).error, token_error::bad_signature);
  EXPECT_EQ(during.verify(eddsa(claims(now + 60), R"({"alg":"EdDSA"})"), now, out).error,
            token_error::kid_required);
  EXPECT_EQ(after.verify(t1, now, out).error, token_error::unknown_kid);
  EXPECT_TRUE(after.verify(t2, now, out).ok());
}

TEST_F(auth_jwt, verifier_is_reusable_across_many_tokens) {
  token_verifier v(keys_, verify_limits{8192, 0});
  token_claims out;
  for (int i = 0; i < 200; ++i) {
    const std::string sub = "user" + std::to_string(i);
    const std::string payload = R"({"sub":")" + sub + R"(","exp":)" + std::to_string(now + i + 1) +
                                R"(,"perm":{"pub":["u.)" + std::to_string(i) + R"("]}})";
    const std::string token = i % 2 == 0 ? eddsa(payload) : sign_hs256(hs_header, payload, secret);
    ASSERT_TRUE(v.verify(token, now, out).ok()) << i;
    EXPECT_EQ(out.sub, sub);
    EXPECT_TRUE(out.perm.may_publish("u." + std::to_string(i)));
    EXPECT_FALSE(out.perm.may_publish("u." + std::to_string(i + 1)));
    EXPECT_EQ(v.verify(token, now + i + 1, out).error, token_error::expired);
  }
}

}  // namespace
}  // namespace wsa

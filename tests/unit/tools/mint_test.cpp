// The minting side: RFC 7638/8037 thumbprints, JWK/JWKS text that the key loaders read back,
// tokens that the verifier accepts with the claims asked for, and key files with the right
// modes that are not silently replaced.
#include "tools/mint.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "auth/jwt.h"
#include "../auth/auth_test_util.h"

namespace wsa {
namespace {

using test::make_key;

constexpr int64_t now = 1'700'000'000;

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

unsigned file_mode(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

// Decodes the middle (or first) part of a compact token.
std::string part(const std::string& token, int index) {
  std::size_t begin = 0;
  for (int i = 0; i < index; ++i) {
    begin = token.find('.', begin) + 1;
  }
  const std::size_t end = token.find('.', begin);
  std::string out;
  EXPECT_TRUE(base64url_decode(token.substr(begin, end - begin), out));
  return out;
}

class auth_mint : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { test::need_crypto(); }
};

TEST_F(auth_mint, rfc8037_thumbprint) {
  ed25519_private_key k;
  std::string error;
  ASSERT_TRUE(parse_private_jwk(test::rfc8037_private_jwk, k, error)) << error;
  EXPECT_EQ(jwk_thumbprint(k.pub), test::rfc8037_thumbprint);
}

TEST_F(auth_mint, generated_keys_are_distinct_and_named_by_thumbprint) {
  const ed25519_private_key a = make_key("");
  const ed25519_private_key b = make_key("");
  EXPECT_NE(a.pub.pk, b.pub.pk);
  EXPECT_EQ(a.pub.kid, jwk_thumbprint(a.pub));
  EXPECT_EQ(a.pub.kid.size(), 43u);
  EXPECT_NE(a.pub.kid, b.pub.kid);
  EXPECT_EQ(make_key("mine").pub.kid, "mine");
}

TEST_F(auth_mint, private_jwk_round_trips) {
  for (const char* kid : {"k1", "", "odd \"kid\" \\ \x01"}) {
    ed25519_private_key k = make_key("x");
    k.pub.kid = kid;
    const std::string json = private_jwk_json(k);
    EXPECT_EQ(json.back(), '\n');
    ed25519_private_key back;
    std::string error;
    ASSERT_TRUE(parse_private_jwk(json, back, error)) << error << "\n" << json;
    EXPECT_EQ(back.pub.kid, k.pub.kid);
    EXPECT_EQ(back.pub.pk, k.pub.pk);
    EXPECT_EQ(back.sk, k.sk);
    // Signing with the reloaded key gives the same (deterministic) Ed25519 signature.
    EXPECT_EQ(sign_eddsa("{}", "{}", back), sign_eddsa("{}", "{}", k));
  }
}

TEST_F(auth_mint, public_jwks_round_trips_and_holds_no_secret) {
  const ed25519_private_key a = make_key("a");
  const ed25519_private_key b = make_key("b");
  const ed25519_public_key pubs[] = {a.pub, b.pub};
  const std::string json = public_jwks_json(pubs);
  EXPECT_EQ(json.find("\"d\""), std::string::npos);
  key_set ks;
  std::string error;
  std::vector<std::string> warnings;
  ASSERT_TRUE(ks.add_jwks(json, error, warnings)) << error;
  EXPECT_TRUE(warnings.empty());
  ASSERT_EQ(ks.ed25519_keys().size(), 2u);
  EXPECT_EQ(ks.ed25519_keys()[0].kid, "a");
  EXPECT_EQ(ks.ed25519_keys()[0].pk, a.pub.pk);
  EXPECT_EQ(ks.ed25519_keys()[1].kid, "b");
  EXPECT_EQ(ks.ed25519_keys()[1].pk, b.pub.pk);
  // A private JWK is not a key set.
  key_set other;
  EXPECT_FALSE(other.add_jwks(private_jwk_json(a), error, warnings));
}

TEST_F(auth_mint, payload_text) {
  const std::vector<std::string> pub = {"chat.*"};
  const std::vector<std::string> sub = {"chat.>", "news"};
  token_spec spec;
  spec.sub = "al\"ice";
  spec.pub = pub;
  spec.subscribe = sub;
  spec.now_s = now;
  spec.ttl_s = 3600;
  std::string out;
  std::string error;
  ASSERT_TRUE(token_payload_json(spec, out, error)) << error;
  EXPECT_EQ(out, R"({"sub":"al\"ice","iat":1700000000,"exp":1700003600,)"
                 R"("perm":{"pub":["chat.*"],"sub":["chat.>","news"]}})");
  spec.pub = {};
  spec.subscribe = {};
  ASSERT_TRUE(token_payload_json(spec, out, error));
  EXPECT_NE(out.find(R"("perm":{"pub":[],"sub":[]})"), std::string::npos) << out;
}

TEST_F(auth_mint, payload_refusals) {
  const std::vector<std::string> bad_pattern = {"chat..x"};
  const auto refused = [](token_spec spec, std::string_view expected) {
    std::string out;
    std::string error;
    EXPECT_FALSE(token_payload_json(spec, out, error));
    EXPECT_NE(error.find(expected), std::string::npos) << error;
  };
  token_spec spec;
  spec.sub = "alice";
  spec.now_s = now;
  token_spec s = spec;
  s.sub = "";
  refused(s, "sub");
  s = spec;
  s.sub = "\xff\xfe";
  refused(s, "UTF-8");
  s = spec;
  s.sub = "\xed\xa0\x80";  // a surrogate
  refused(s, "UTF-8");
  s = spec;
  s.ttl_s = 0;
  refused(s, "ttl");
  s = spec;
  s.pub = bad_pattern;
  refused(s, "perm.pub");
  s = spec;
  s.subscribe = bad_pattern;
  refused(s, "perm.sub");
}

TEST_F(auth_mint, eddsa_token_verifies_with_the_claims_asked_for) {
  const ed25519_private_key k = make_key("k1");
  key_set ks;
  std::string error;
  ASSERT_TRUE(ks.add_ed25519(k.pub, error));
  const std::vector<std::string> pub = {"chat.*"};
  const std::vector<std::string> sub = {"chat.>"};
  token_spec spec;
  spec.sub = "alice";
  spec.pub = pub;
  spec.subscribe = sub;
  spec.now_s = now;
  spec.ttl_s = 60;
  std::string token;
  ASSERT_TRUE(mint_eddsa(spec, k, token, error)) << error;
  EXPECT_EQ(part(token, 0), R"({"alg":"EdDSA","typ":"JWT","kid":"k1"})");

  token_verifier v(ks, verify_limits{8192, 0});
  token_claims c;
  const token_status s = v.verify(token, now, c);
  ASSERT_TRUE(s.ok()) << describe(s);
  EXPECT_EQ(c.sub, "alice");
  EXPECT_EQ(c.iat_s, now);
  EXPECT_EQ(c.exp_s, now + 60);
  EXPECT_EQ(c.kid, "k1");
  EXPECT_EQ(c.alg, jwt_alg::eddsa);
  EXPECT_TRUE(c.perm.may_publish("chat.room1"));
  EXPECT_FALSE(c.perm.may_publish("news"));
  EXPECT_TRUE(c.perm.may_subscribe("chat.>"));
  EXPECT_FALSE(c.perm.may_subscribe(">"));
  // ttl counts to the second.
  EXPECT_TRUE(v.verify(token, now + 59, c).ok());
  EXPECT_EQ(v.verify(token, now + 60, c).error, token_error::expired);

  // The spec's kid overrides the key's own.
  spec.kid = "other";
  ASSERT_TRUE(mint_eddsa(spec, k, token, error));
  EXPECT_EQ(part(token, 0), R"({"alg":"EdDSA","typ":"JWT","kid":"other"})");
  EXPECT_EQ(v.verify(token, now, c).error, token_error::unknown_kid);

  // A key without kid signs tokens without kid.
  ed25519_private_key anon = k;
  anon.pub.kid.clear();
  spec.kid = {};
  ASSERT_TRUE(mint_eddsa(spec, anon, token, error));
  EXPECT_EQ(part(token, 0), R"({"alg":"EdDSA","typ":"JWT"})");
  EXPECT_TRUE(v.verify(token, now, c).ok());  // the only key serves tokens without kid

  spec.sub = "";
  EXPECT_FALSE(mint_eddsa(spec, k, token, error));
}

TEST_F(auth_mint, hs256_token_verifies_and_needs_the_same_secret) {
  const std::string secret = "0123456789abcdef0123456789abcdef";
  key_set ks;
  std::string error;
  ASSERT_TRUE(ks.set_hmac_secret(secret, error));
  token_spec spec;
  spec.sub = "svc";
  spec.now_s = now;
  spec.ttl_s = 10;
  std::string token;
  ASSERT_TRUE(mint_hs256(spec, secret, token, error)) << error;
  EXPECT_EQ(part(token, 0), R"({"alg":"HS256","typ":"JWT"})");
  token_verifier v(ks, verify_limits{8192, 0});
  token_claims c;
  ASSERT_TRUE(v.verify(token, now, c).ok());
  EXPECT_EQ(c.alg, jwt_alg::hs256);
  EXPECT_EQ(c.exp_s, now + 10);
  EXPECT_FALSE(c.perm.may_publish("a"));  // no patterns asked for, none granted

  ASSERT_TRUE(mint_hs256(spec, secret + "!", token, error));
  EXPECT_EQ(v.verify(token, now, c).error, token_error::bad_signature);
  EXPECT_FALSE(mint_hs256(spec, "", token, error));
  EXPECT_NE(error.find("empty"), std::string::npos);

  spec.kid = "hs-1";
  ASSERT_TRUE(mint_hs256(spec, secret, token, error));
  EXPECT_EQ(part(token, 0), R"({"alg":"HS256","typ":"JWT","kid":"hs-1"})");
  EXPECT_TRUE(v.verify(token, now, c).ok());
}

TEST_F(auth_mint, key_files_have_their_modes_and_are_not_replaced_by_accident) {
  test::scratch_dir dir;
  ASSERT_TRUE(dir.ok());
  const std::string priv = dir.file("key.jwk");
  const std::string pub = dir.file("jwks.json");
  std::string error;
  const mode_t old_umask = ::umask(0);  // modes must not depend on the caller's umask
  const bool wrote_priv = write_private_file(priv, "secret\n", false, error);
  const bool wrote_pub = write_public_file(pub, "public\n", false, error);
  ::umask(old_umask);
  ASSERT_TRUE(wrote_priv) << error;
  ASSERT_TRUE(wrote_pub) << error;
  EXPECT_EQ(file_mode(priv), 0600u);
  EXPECT_EQ(file_mode(pub), 0644u);
  EXPECT_EQ(read_file(priv), "secret\n");

  EXPECT_FALSE(write_private_file(priv, "other\n", false, error));
  EXPECT_NE(error.find("--force"), std::string::npos) << error;
  EXPECT_EQ(read_file(priv), "secret\n");
  EXPECT_FALSE(write_public_file(pub, "other\n", false, error));
  EXPECT_EQ(read_file(pub), "public\n");

  // Overwriting resets a loosened mode and truncates the old contents.
  ASSERT_EQ(::chmod(priv.c_str(), 0666), 0);
  ASSERT_TRUE(write_private_file(priv, "new\n", true, error)) << error;
  EXPECT_EQ(read_file(priv), "new\n");
  EXPECT_EQ(file_mode(priv), 0600u);

  EXPECT_FALSE(write_private_file(dir.file("missing/key.jwk"), "x", false, error));
  EXPECT_NE(error.find("cannot create"), std::string::npos) << error;
}

}  // namespace
}  // namespace wsa

// `wsagent keygen` and `wsagent token` through their work functions: the files keygen
// writes (modes, contents that the loaders accept, no accidental replacement, nothing left
// behind on failure), tokens that verify with the files' keys, and the exit status and
// message of every way they can fail.
#include "tools/commands.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "auth/jwt.h"
#include "auth/keys.h"
#include "../auth/auth_test_util.h"

namespace wsa {
namespace {

constexpr int64_t now = 1'700'000'000;

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_file(const std::string& path, const std::string& text, mode_t mode = 0600) {
  std::ofstream(path, std::ios::binary) << text;
  ASSERT_EQ(::chmod(path.c_str(), mode), 0);
}

bool exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

unsigned file_mode(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

std::string all_messages(const tool_result& r) {
  std::string s;
  for (const std::string& m : r.messages) {
    s += m + "\n";
  }
  return s;
}

bool mentions(const tool_result& r, std::string_view what) {
  return all_messages(r).find(what) != std::string::npos;
}

class auth_tools : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(dir_.ok());
    priv_ = dir_.file("key.jwk");
    jwks_ = dir_.file("jwks.json");
  }

  keygen_args keygen_to(std::string kid = "") const {
    keygen_args a;
    a.out_private = priv_;
    a.out_jwks = jwks_;
    a.kid = std::move(kid);
    return a;
  }

  // The key set `serve --jwks` would load from keygen's output.
  void load_jwks(key_set& ks) const {
    std::string error;
    std::vector<std::string> warnings;
    ASSERT_TRUE(ks.add_jwks_file(jwks_, error, warnings)) << error;
    EXPECT_TRUE(warnings.empty());
  }

  token_args token_for(std::string sub) const {
    token_args a;
    a.key_file = priv_;
    a.sub = std::move(sub);
    a.pub = {"chat.*"};
    a.subscribe = {"chat.>", "news"};
    a.ttl_s = 3600;
    return a;
  }

  // Strips the newline make_token ends its output with.
  static std::string token_of(const tool_result& r) {
    EXPECT_EQ(r.status, tool_ok) << all_messages(r);
    EXPECT_FALSE(r.out.empty());
    EXPECT_EQ(r.out.back(), '\n');
    EXPECT_EQ(r.out.find('\n'), r.out.size() - 1);
    return r.out.substr(0, r.out.size() - 1);
  }

  test::scratch_dir dir_;
  std::string priv_;
  std::string jwks_;
};

TEST_F(auth_tools, keygen_writes_a_matching_key_pair_with_modes) {
  const mode_t old_umask = ::umask(0);
  const tool_result r = keygen(keygen_to());
  ::umask(old_umask);
  ASSERT_EQ(r.status, tool_ok) << all_messages(r);
  EXPECT_TRUE(r.messages.empty());
  EXPECT_NE(r.out.find(priv_), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(jwks_), std::string::npos) << r.out;
  EXPECT_EQ(file_mode(priv_), 0600u);
  EXPECT_EQ(file_mode(jwks_), 0644u);

  ed25519_private_key key;
  std::string error;
  ASSERT_TRUE(load_private_jwk_file(priv_, key, error)) << error;
  key_set ks;
  load_jwks(ks);
  ASSERT_EQ(ks.ed25519_keys().size(), 1u);
  EXPECT_EQ(ks.ed25519_keys()[0].pk, key.pub.pk);
  EXPECT_EQ(ks.ed25519_keys()[0].kid, key.pub.kid);
  EXPECT_EQ(key.pub.kid, jwk_thumbprint(key.pub));  // default kid
  EXPECT_NE(r.out.find(key.pub.kid), std::string::npos);
  EXPECT_EQ(read_file(jwks_).find("\"d\""), std::string::npos);
}

TEST_F(auth_tools, keygen_uses_the_given_kid) {
  ASSERT_EQ(keygen(keygen_to("2024-rotation")).status, tool_ok);
  key_set ks;
  load_jwks(ks);
  ASSERT_EQ(ks.ed25519_keys().size(), 1u);
  EXPECT_EQ(ks.ed25519_keys()[0].kid, "2024-rotation");
}

TEST_F(auth_tools, keygen_refuses_to_replace_either_file_and_writes_neither) {
  write_file(priv_, "old private\n");
  tool_result r = keygen(keygen_to());
  EXPECT_EQ(r.status, tool_failure);
  EXPECT_TRUE(mentions(r, "wsagent keygen: " + priv_ + " exists")) << all_messages(r);
  EXPECT_TRUE(mentions(r, "--force"));
  EXPECT_TRUE(r.out.empty());
  EXPECT_EQ(read_file(priv_), "old private\n");
  EXPECT_FALSE(exists(jwks_));

  ASSERT_EQ(::unlink(priv_.c_str()), 0);
  write_file(jwks_, "old jwks\n", 0644);
  r = keygen(keygen_to());
  EXPECT_EQ(r.status, tool_failure);
  EXPECT_TRUE(mentions(r, jwks_ + " exists")) << all_messages(r);
  EXPECT_EQ(read_file(jwks_), "old jwks\n");
  EXPECT_FALSE(exists(priv_));
}

TEST_F(auth_tools, keygen_force_replaces_both_with_a_new_key) {
  ASSERT_EQ(keygen(keygen_to()).status, tool_ok);
  const std::string first_priv = read_file(priv_);
  const std::string first_jwks = read_file(jwks_);
  ASSERT_EQ(::chmod(priv_.c_str(), 0644), 0);
  keygen_args a = keygen_to();
  a.force = true;
  const tool_result r = keygen(a);
  ASSERT_EQ(r.status, tool_ok) << all_messages(r);
  EXPECT_NE(read_file(priv_), first_priv);
  EXPECT_NE(read_file(jwks_), first_jwks);
  EXPECT_EQ(file_mode(priv_), 0600u);  // a loosened mode is tightened again
}

TEST_F(auth_tools, keygen_leaves_no_half_pair_when_the_jwks_cannot_be_written) {
  keygen_args a = keygen_to();
  a.out_jwks = dir_.file("no/such/dir/jwks.json");
  const tool_result r = keygen(a);
  EXPECT_EQ(r.status, tool_failure);
  EXPECT_TRUE(mentions(r, "cannot create")) << all_messages(r);
  EXPECT_FALSE(exists(priv_));
}

TEST_F(auth_tools, keygen_usage_errors) {
  keygen_args a = keygen_to();
  a.out_jwks = a.out_private;
  EXPECT_EQ(keygen(a).status, tool_usage_error);
  a.out_jwks.clear();
  EXPECT_EQ(keygen(a).status, tool_usage_error);
  EXPECT_FALSE(exists(priv_));
}

TEST_F(auth_tools, eddsa_token_verifies_with_the_keygen_jwks) {
  ASSERT_EQ(keygen(keygen_to("k1")).status, tool_ok);
  const std::string token = token_of(make_token(token_for("alice"), now));
  key_set ks;
  load_jwks(ks);
  token_verifier v(ks, verify_limits{8192, 0});
  token_claims c;
  const token_status s = v.verify(token, now, c);
  ASSERT_TRUE(s.ok()) << describe(s);
  EXPECT_EQ(c.sub, "alice");
  EXPECT_EQ(c.kid, "k1");
  EXPECT_EQ(c.alg, jwt_alg::eddsa);
  EXPECT_EQ(c.iat_s, now);
  EXPECT_EQ(c.exp_s, now + 3600);
  EXPECT_TRUE(c.perm.may_publish("chat.room1"));
  EXPECT_FALSE(c.perm.may_publish("news"));
  EXPECT_TRUE(c.perm.may_subscribe("chat.*"));
  EXPECT_TRUE(c.perm.may_subscribe("news"));
  EXPECT_FALSE(c.perm.may_subscribe("news.>"));
  EXPECT_EQ(v.verify(token, now + 3600, c).error, token_error::expired);

  // Another key pair's JWKS does not accept it.
  keygen_args other = keygen_to("k1");
  other.out_private = dir_.file("other.jwk");
  other.out_jwks = dir_.file("other.json");
  ASSERT_EQ(keygen(other).status, tool_ok);
  key_set wrong;
  std::string error;
  std::vector<std::string> warnings;
  ASSERT_TRUE(wrong.add_jwks_file(other.out_jwks, error, warnings));
  token_verifier w(wrong, verify_limits{});
  EXPECT_EQ(w.verify(token, now, c).error, token_error::bad_signature);
}

TEST_F(auth_tools, token_ttl_and_kid_override) {
  ASSERT_EQ(keygen(keygen_to("k1")).status, tool_ok);
  token_args a = token_for("bob");
  a.ttl_s = 2;
  a.kid = "k2";
  const std::string token = token_of(make_token(a, now));
  key_set ks;
  load_jwks(ks);
  token_verifier v(ks, verify_limits{8192, 0});
  token_claims c;
  EXPECT_EQ(v.verify(token, now, c).error, token_error::unknown_kid);  // k2 is not in the JWKS
  a.kid.clear();
  const std::string short_lived = token_of(make_token(a, now));
  EXPECT_TRUE(v.verify(short_lived, now + 1, c).ok());
  EXPECT_EQ(c.exp_s, now + 2);
  EXPECT_EQ(v.verify(short_lived, now + 2, c).error, token_error::expired);
}

TEST_F(auth_tools, token_carries_issuer_and_audience_for_a_server_that_requires_them) {
  ASSERT_EQ(keygen(keygen_to("k1")).status, tool_ok);
  key_set ks;
  load_jwks(ks);
  token_verifier strict(ks, verify_limits{8192, 0, "wss://rt.example", "https://auth.example"});
  token_claims c;
  token_args a = token_for("bob");
  EXPECT_EQ(strict.verify(token_of(make_token(a, now)), now, c).error,
            token_error::wrong_issuer);
  a.iss = "https://auth.example";
  a.aud = "wss://rt.example";
  const token_status s = strict.verify(token_of(make_token(a, now)), now, c);
  EXPECT_TRUE(s.ok()) << describe(s);
}

TEST_F(auth_tools, hs256_token_verifies_with_the_same_secret_file) {
  const std::string secret_file = dir_.file("secret");
  write_file(secret_file, "a shared secret of at least thirty-two bytes\n");
  token_args a = token_for("svc");
  a.key_file.clear();
  a.hmac_secret_file = secret_file;
  const tool_result r = make_token(a, now);
  const std::string token = token_of(r);
  EXPECT_TRUE(r.messages.empty()) << all_messages(r);

  key_set ks;
  std::string error;
  std::vector<std::string> warnings;
  ASSERT_TRUE(ks.set_hmac_secret_file(secret_file, error, warnings)) << error;
  token_verifier v(ks, verify_limits{8192, 0});
  token_claims c;
  const token_status s = v.verify(token, now, c);
  ASSERT_TRUE(s.ok()) << describe(s);
  EXPECT_EQ(c.alg, jwt_alg::hs256);
  EXPECT_EQ(c.sub, "svc");
  EXPECT_TRUE(c.perm.may_publish("chat.x"));

  // The trailing newline is not part of the secret: the bare secret verifies too.
  key_set bare;
  ASSERT_TRUE(bare.set_hmac_secret("a shared secret of at least thirty-two bytes", error));
  token_verifier vb(bare, verify_limits{8192, 0});
  EXPECT_TRUE(vb.verify(token, now, c).ok());
}

TEST_F(auth_tools, hs256_weak_secret_file_warns_but_works) {
  const std::string secret_file = dir_.file("short");
  write_file(secret_file, "short", 0644);
  token_args a = token_for("svc");
  a.key_file.clear();
  a.hmac_secret_file = secret_file;
  const tool_result r = make_token(a, now);
  EXPECT_EQ(r.status, tool_ok);
  EXPECT_FALSE(r.out.empty());
  EXPECT_TRUE(mentions(r, "wsagent token: warning: ")) << all_messages(r);
  EXPECT_GE(r.messages.size(), 2u);  // shorter than 32 bytes, and readable by others
}

TEST_F(auth_tools, token_usage_errors_exit_2_before_reading_keys) {
  // The key file does not exist: each of these is refused for its arguments first.
  token_args a = token_for("alice");
  a.pub = {"chat..x"};
  tool_result r = make_token(a, now);
  EXPECT_EQ(r.status, tool_usage_error);
  EXPECT_TRUE(mentions(r, "wsagent token: --pub 'chat..x' is not a valid tag pattern"))
      << all_messages(r);
  EXPECT_TRUE(r.out.empty());

  a = token_for("alice");
  a.subscribe = {"chat.>.x"};
  r = make_token(a, now);
  EXPECT_EQ(r.status, tool_usage_error);
  EXPECT_TRUE(mentions(r, "--subscribe 'chat.>.x'")) << all_messages(r);

  a = token_for("alice");
  a.hmac_secret_file = "secret";
  EXPECT_EQ(make_token(a, now).status, tool_usage_error);
  a.key_file.clear();
  a.hmac_secret_file.clear();
  EXPECT_EQ(make_token(a, now).status, tool_usage_error);

  a = token_for("");
  EXPECT_EQ(make_token(a, now).status, tool_usage_error);
  a = token_for("alice");
  a.ttl_s = 0;
  EXPECT_EQ(make_token(a, now).status, tool_usage_error);
}

TEST_F(auth_tools, token_failures_exit_1_with_one_clear_line) {
  token_args a = token_for("alice");
  tool_result r = make_token(a, now);  // no key file yet
  EXPECT_EQ(r.status, tool_failure);
  ASSERT_EQ(r.messages.size(), 1u);
  EXPECT_EQ(r.messages[0].rfind("wsagent token: cannot open " + priv_, 0), 0u) << r.messages[0];
  EXPECT_TRUE(r.out.empty());

  ASSERT_EQ(keygen(keygen_to()).status, tool_ok);
  a.key_file = jwks_;  // the public half
  r = make_token(a, now);
  EXPECT_EQ(r.status, tool_failure);
  ASSERT_EQ(r.messages.size(), 1u);
  EXPECT_NE(r.messages[0].find(jwks_), std::string::npos) << r.messages[0];

  const std::string public_jwk = dir_.file("public.jwk");
  std::string jwks_text = read_file(jwks_);
  const std::size_t open = jwks_text.find("[{");
  const std::size_t close = jwks_text.find("}]");
  write_file(public_jwk, jwks_text.substr(open + 1, close - open));
  a.key_file = public_jwk;
  r = make_token(a, now);
  EXPECT_EQ(r.status, tool_failure);
  EXPECT_TRUE(mentions(r, "public key")) << all_messages(r);

  const std::string empty_secret = dir_.file("empty");
  write_file(empty_secret, "\n");
  a.key_file.clear();
  a.hmac_secret_file = empty_secret;
  r = make_token(a, now);
  EXPECT_EQ(r.status, tool_failure);
  EXPECT_TRUE(mentions(r, "empty")) << all_messages(r);
  a.hmac_secret_file = dir_.file("missing");
  EXPECT_EQ(make_token(a, now).status, tool_failure);
}

TEST_F(auth_tools, token_sub_must_be_utf8) {
  ASSERT_EQ(keygen(keygen_to()).status, tool_ok);
  token_args a = token_for("\xc3");
  const tool_result r = make_token(a, now);
  EXPECT_EQ(r.status, tool_usage_error);
  EXPECT_TRUE(mentions(r, "UTF-8")) << all_messages(r);
  EXPECT_TRUE(r.out.empty());
}

}  // namespace
}  // namespace wsa

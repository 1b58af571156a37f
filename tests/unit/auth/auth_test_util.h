// Shared fixtures of the auth unit tests: the RFC test keys, raw signers for tokens no honest
// minter would make, and a scratch directory. Test code only.
#pragma once

#include <gtest/gtest.h>
#include <sodium.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>

#include "auth/base64url.h"
#include "auth/keys.h"
#include "tools/mint.h"

namespace wsa::test {

// RFC 8037 appendix A.1 (private key) and A.4 (the signed example).
inline constexpr std::string_view rfc8037_private_jwk =
    R"({"kty":"OKP","crv":"Ed25519",)"
    R"("d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A",)"
    R"("x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"})";
inline constexpr std::string_view rfc8037_public_jwks =
    R"({"keys":[{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]})";
inline constexpr std::string_view rfc8037_thumbprint = "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k";
inline constexpr std::string_view rfc8037_jws =
    "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc."
    "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg";

// RFC 7515 appendix A.1: the HMAC key (JWK `k`) and the example JWS.
inline constexpr std::string_view rfc7515_k =
    "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow";
inline constexpr std::string_view rfc7515_jws =
    "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9."
    "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ."
    "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
inline constexpr std::string_view rfc7515_header = "{\"typ\":\"JWT\",\r\n \"alg\":\"HS256\"}";
inline constexpr std::string_view rfc7515_payload =
    "{\"iss\":\"joe\",\r\n \"exp\":1300819380,\r\n \"http://example.com/is_root\":true}";

inline void need_crypto() { ASSERT_TRUE(crypto_init()); }

inline std::string rfc7515_secret() {
  std::string s;
  EXPECT_TRUE(base64url_decode(rfc7515_k, s));
  return s;
}

inline ed25519_private_key make_key(std::string_view kid) {
  ed25519_private_key k;
  generate_ed25519(kid, k);
  return k;
}

// Signs an arbitrary signing input (even one that is not base64url) as EdDSA / HS256.
inline std::string raw_eddsa(std::string_view signing_input, const ed25519_private_key& key) {
  unsigned char sig[crypto_sign_BYTES];
  crypto_sign_detached(sig, nullptr, reinterpret_cast<const unsigned char*>(signing_input.data()),
                       signing_input.size(), key.sk.data());
  return std::string(signing_input) + "." + base64url_encode(sig);
}
inline std::string raw_hs256(std::string_view signing_input, std::string_view secret) {
  key_set ks;
  std::string error;
  EXPECT_TRUE(ks.set_hmac_secret(secret, error));
  unsigned char mac[hs256_mac_bytes];
  ks.hmac_sha256(signing_input, mac);
  return std::string(signing_input) + "." + base64url_encode(mac);
}

// A directory under TMPDIR removed (with its files) when the object dies.
class scratch_dir {
 public:
  scratch_dir() {
    const char* base = std::getenv("TMPDIR");
    std::string templ = std::string(base != nullptr && base[0] != '\0' ? base : "/tmp") +
                        "/wsa_auth_test.XXXXXX";
    path_ = ::mkdtemp(templ.data()) != nullptr ? templ : std::string();
  }
  ~scratch_dir() {
    if (!path_.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(path_, ec);
    }
  }
  scratch_dir(const scratch_dir&) = delete;
  scratch_dir& operator=(const scratch_dir&) = delete;
  bool ok() const { return !path_.empty(); }
  std::string file(std::string_view name) const { return path_ + "/" + std::string(name); }

 private:
  std::string path_;
};

}  // namespace wsa::test

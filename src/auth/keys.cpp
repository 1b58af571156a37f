// Key loading and selection (see keys.h). Cold path: startup, `wsagent token`, tests. The
// only hot calls are find_ed25519, hmac_verify and ed25519_verify, once per token.
#include "auth/keys.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include <sodium.h>

#include "auth/base64url.h"
#include "json/document.h"

namespace wsa {
namespace {


// The members of one JWK we read; each may appear once (a duplicate member is refused, as a
// first-wins and a last-wins reader would see different keys).
struct jwk_fields {
  std::string_view kty, crv, x, d, kid, use, alg;
  bool has_x = false, has_d = false, has_kid = false, has_use = false, has_alg = false;
};

std::string in_quotes(std::string_view s) {
  std::string out = "\"";
  out.append(s);
  out += '"';
  return out;
}

// Reads the string members of a JWK object; false with `error` on a duplicate or a
// non-string value of a member we use.
bool read_jwk(const json_value& obj, jwk_fields& f, std::string& error) {
  uint32_t seen = 0;
  for (const json_member& field : obj.members()) {
    struct slot {
      const char* name;
      std::string_view* value;
      bool* present;
    };
    bool dummy = false;
    const slot slots[] = {{"kty", &f.kty, &dummy}, {"crv", &f.crv, &dummy},
                          {"x", &f.x, &f.has_x},   {"d", &f.d, &f.has_d},
                          {"kid", &f.kid, &f.has_kid}, {"use", &f.use, &f.has_use},
                          {"alg", &f.alg, &f.has_alg}};
    for (uint32_t i = 0; i < std::size(slots); ++i) {
      if (field.key != slots[i].name) {
        continue;
      }
      if ((seen & (1u << i)) != 0) {
        error = "member " + in_quotes(field.key) + " appears twice";
        return false;
      }
      seen |= 1u << i;
      if (!field.value.get(*slots[i].value)) {
        error = "member " + in_quotes(field.key) + " is not a string";
        return false;
      }
      *slots[i].present = true;
    }
  }
  if ((seen & 1u) == 0) {
    error = "no \"kty\" member";
    return false;
  }
  return true;
}

// Decodes a base64url member that must hold exactly `n` bytes.
bool decode_exact(std::string_view text, unsigned char* out, std::size_t n) {
  std::size_t len = 0;
  return base64url_decode(text, out, n, len) && len == n;
}

bool parse_json_object(json_document& parser, std::string_view text, json_value& obj,
                       std::string& error) {
  if (!parser.parse(text, obj, error)) {
    error = "not valid JSON (" + error + ")";
    return false;
  }
  if (obj.type() != json_type::object) {
    error = "not a JSON object";
    return false;
  }
  return true;
}

}  // namespace

bool crypto_init() { return sodium_init() >= 0; }

ed25519_private_key::~ed25519_private_key() { sodium_memzero(sk.data(), sk.size()); }

bool read_small_file(const std::string& path, std::string& out, std::string& error) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    error = "cannot open " + path + ": " + std::strerror(errno);
    return false;
  }
  out.clear();
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      error = "cannot read " + path + ": " + std::strerror(errno);
      ::close(fd);
      return false;
    }
    if (n == 0) {
      break;
    }
    if (out.size() + static_cast<std::size_t>(n) > max_key_file_bytes) {
      error = path + " is larger than 1 MiB: not a key file";
      ::close(fd);
      return false;
    }
    out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return true;
}

bool parse_private_jwk(std::string_view json, ed25519_private_key& out, std::string& error) {
  json_document parser(max_key_file_bytes, /*allocate_now=*/false);
  json_value obj;
  jwk_fields f;
  if (!parse_json_object(parser, json, obj, error) || !read_jwk(obj, f, error)) {
    error = "private JWK: " + error;
    return false;
  }
  if (f.kty != "OKP" || f.crv != "Ed25519") {
    error = "private JWK: kty " + in_quotes(f.kty) + " crv " + in_quotes(f.crv) +
            " is not an Ed25519 key (need kty \"OKP\", crv \"Ed25519\")";
    return false;
  }
  if (!f.has_d) {
    error = "private JWK: no \"d\" member: this is a public key";
    return false;
  }
  if (!f.has_x) {
    error = "private JWK: no \"x\" member (RFC 8037 requires it)";
    return false;
  }
  unsigned char seed[ed25519_seed_bytes];
  unsigned char x[ed25519_public_bytes];
  if (!decode_exact(f.d, seed, sizeof seed)) {
    error = "private JWK: \"d\" is not base64url of 32 bytes";
    sodium_memzero(seed, sizeof seed);
    return false;
  }
  if (!decode_exact(f.x, x, sizeof x)) {
    error = "private JWK: \"x\" is not base64url of 32 bytes";
    sodium_memzero(seed, sizeof seed);
    return false;
  }
  crypto_sign_seed_keypair(out.pub.pk.data(), out.sk.data(), seed);
  sodium_memzero(seed, sizeof seed);
  if (sodium_memcmp(out.pub.pk.data(), x, sizeof x) != 0) {
    error = "private JWK: \"x\" is not the public key of \"d\"";
    return false;
  }
  out.pub.kid.assign(f.kid);
  return true;
}

bool load_private_jwk_file(const std::string& path, ed25519_private_key& out,
                           std::string& error) {
  std::string text;
  if (!read_small_file(path, text, error)) {
    return false;
  }
  const bool ok = parse_private_jwk(text, out, error);
  sodium_memzero(text.data(), text.size());
  if (!ok) {
    error = path + ": " + error;
  }
  return ok;
}

bool read_hmac_secret_file(const std::string& path, std::string& secret, std::string& error,
                           std::vector<std::string>& warnings) {
  if (!read_small_file(path, secret, error)) {
    return false;
  }
  // Editors and `echo` end files with a newline that is not part of the secret.
  if (!secret.empty() && secret.back() == '\n') {
    secret.pop_back();
    if (!secret.empty() && secret.back() == '\r') {
      secret.pop_back();
    }
  }
  if (secret.empty()) {
    error = path + ": the HMAC secret is empty";
    return false;
  }
  if (secret.size() < 32) {
    warnings.push_back(path + ": the HMAC secret has " + std::to_string(secret.size()) +
                       " bytes; HS256 wants at least 32 (RFC 7518 section 3.2)");
  }
  struct stat st{};
  if (::stat(path.c_str(), &st) == 0 && (st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    warnings.push_back(path + ": the HMAC secret file is accessible to group or others "
                              "(chmod 600 it)");
  }
  return true;
}

// The secret keyed into an HMAC state once: a verification copies the state (ipad/opad
// already absorbed) instead of hashing the key again.
struct key_set::hmac_key {
  crypto_auth_hmacsha256_state keyed{};
  ~hmac_key() { sodium_memzero(&keyed, sizeof keyed); }
};

key_set::key_set() = default;
key_set::~key_set() = default;
key_set::key_set(key_set&&) noexcept = default;
key_set& key_set::operator=(key_set&&) noexcept = default;

bool key_set::add_ed25519(const ed25519_public_key& key, std::string& error) {
  for (const ed25519_public_key& k : ed25519_) {
    if (k.kid == key.kid) {
      error = key.kid.empty() ? "more than one key without \"kid\""
                              : "kid " + in_quotes(key.kid) + " is used twice";
      return false;
    }
  }
  if (crypto_core_ed25519_is_valid_point(key.pk.data()) != 1) {
    error = "key " + in_quotes(key.kid) + ": \"x\" is not a valid Ed25519 public key";
    return false;
  }
  ed25519_.push_back(key);
  return true;
}

bool key_set::add_jwks(std::string_view json, std::string& error,
                       std::vector<std::string>& warnings) {
  json_document parser(max_key_file_bytes, /*allocate_now=*/false);
  json_value root;
  if (!parse_json_object(parser, json, root, error)) {
    error = "JWKS: " + error;
    return false;
  }
  json_value keys;
  if (!root.member("keys", keys)) {
    json_value kty;
    error = root.member("kty", kty) ? "JWKS: this is a single JWK; wrap it as {\"keys\":[...]}"
                                    : "JWKS: no \"keys\" member";
    return false;
  }
  if (keys.type() != json_type::array) {
    error = "JWKS: \"keys\" is not an array";
    return false;
  }
  key_set staged;  // all or nothing: checked against the keys already here, then moved in
  staged.ed25519_ = ed25519_;
  std::vector<std::string> notes;
  std::size_t index = 0;
  std::size_t added = 0;
  for (const json_member& item : keys.elements()) {
    const std::string where = "JWKS key " + std::to_string(index++);
    jwk_fields f;
    if (item.value.type() != json_type::object) {
      error = where + ": not a JSON object";
      return false;
    }
    if (!read_jwk(item.value, f, error)) {
      error = where + ": " + error;
      return false;
    }
    const std::string named = f.has_kid ? where + " (kid " + in_quotes(f.kid) + ")" : where;
    if (f.kty != "OKP" || f.crv != "Ed25519") {
      notes.push_back(named + ": kty " + in_quotes(f.kty) +
                      (f.crv.empty() ? std::string() : " crv " + in_quotes(f.crv)) +
                      " is not supported (only OKP/Ed25519): skipped");
      continue;
    }
    if (f.has_use && f.use != "sig") {
      notes.push_back(named + ": use " + in_quotes(f.use) + " is not \"sig\": skipped");
      continue;
    }
    if (f.has_alg && f.alg != "EdDSA") {
      notes.push_back(named + ": alg " + in_quotes(f.alg) + " is not \"EdDSA\": skipped");
      continue;
    }
    ed25519_public_key key;
    key.kid.assign(f.kid);
    if (!f.has_x || !decode_exact(f.x, key.pk.data(), key.pk.size())) {
      error = named + ": \"x\" must be the base64url of 32 bytes";
      return false;
    }
    if (f.has_d) {
      notes.push_back(named + ": holds a private key (\"d\"); the server needs only the "
                              "public JWKS (wsagent keygen writes both)");
    }
    if (!staged.add_ed25519(key, error)) {
      error = "JWKS: " + error;
      return false;
    }
    ++added;
  }
  if (added == 0) {
    error = "JWKS: no usable Ed25519 key";
    return false;
  }
  ed25519_ = std::move(staged.ed25519_);
  for (std::string& n : notes) {
    warnings.push_back(std::move(n));
  }
  return true;
}

bool key_set::add_jwks_file(const std::string& path, std::string& error,
                            std::vector<std::string>& warnings) {
  std::string text;
  if (!read_small_file(path, text, error)) {
    return false;
  }
  if (!add_jwks(text, error, warnings)) {
    error = path + ": " + error;
    return false;
  }
  return true;
}

bool key_set::set_hmac_secret(std::string_view secret, std::string& error) {
  if (secret.empty()) {
    error = "the HMAC secret is empty";
    return false;
  }
  auto key = std::make_unique<hmac_key>();
  crypto_auth_hmacsha256_init(&key->keyed, reinterpret_cast<const unsigned char*>(secret.data()),
                              secret.size());
  hmac_ = std::move(key);
  return true;
}

bool key_set::set_hmac_secret_file(const std::string& path, std::string& error,
                                   std::vector<std::string>& warnings) {
  std::string secret;
  bool ok = read_hmac_secret_file(path, secret, error, warnings) && set_hmac_secret(secret, error);
  sodium_memzero(secret.data(), secret.size());
  return ok;
}

key_set::pick key_set::find_ed25519(bool has_kid, std::string_view kid,
                                    const ed25519_public_key*& out) const {
  out = nullptr;
  if (ed25519_.empty()) {
    return pick::none_configured;
  }
  if (!has_kid) {
    if (ed25519_.size() != 1) {
      return pick::kid_required;
    }
    out = &ed25519_[0];
    return pick::found;
  }
  for (const ed25519_public_key& k : ed25519_) {
    if (!k.kid.empty() && k.kid == kid) {
      out = &k;
      return pick::found;
    }
  }
  return pick::unknown_kid;
}

void key_set::hmac_sha256(std::string_view input, unsigned char mac[hs256_mac_bytes]) const {
  crypto_auth_hmacsha256_state st = hmac_->keyed;
  crypto_auth_hmacsha256_update(&st, reinterpret_cast<const unsigned char*>(input.data()),
                                input.size());
  crypto_auth_hmacsha256_final(&st, mac);
  sodium_memzero(&st, sizeof st);
}

bool key_set::hmac_verify(std::string_view input, const unsigned char mac[hs256_mac_bytes]) const {
  if (!hmac_) {
    return false;
  }
  unsigned char expected[hs256_mac_bytes];
  hmac_sha256(input, expected);
  return sodium_memcmp(expected, mac, hs256_mac_bytes) == 0;
}

bool ed25519_verify(const ed25519_public_key& key, std::string_view message,
                    const unsigned char sig[ed25519_signature_bytes]) {
  return crypto_sign_verify_detached(sig, reinterpret_cast<const unsigned char*>(message.data()),
                                     message.size(), key.pk.data()) == 0;
}

}  // namespace wsa

// Key generation, JWK/JWKS text and token signing (see mint.h). JSON is written by hand:
// every string goes through json_string(), which escapes what RFC 8259 requires.
#include "tools/mint.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include <sodium.h>

#include "auth/base64url.h"
#include "pubsub/tag.h"
#include "util/utf8.h"

namespace wsa {
namespace {

void json_string(std::string_view s, std::string& out) {
  static constexpr char hex[] = "0123456789abcdef";
  out += '"';
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += ch;
    } else if (c < 0x20) {
      out += "\\u00";
      out += hex[c >> 4];
      out += hex[c & 0xf];
    } else {
      out += ch;
    }
  }
  out += '"';
}

void json_member(std::string_view name, std::string_view value, std::string& out) {
  json_string(name, out);
  out += ':';
  json_string(value, out);
}

void public_members(const ed25519_public_key& key, std::string& out) {
  out += "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"alg\":\"EdDSA\",\"use\":\"sig\"";
  if (!key.kid.empty()) {
    out += ',';
    json_member("kid", key.kid, out);
  }
  out += ",\"x\":\"";
  base64url_append(key.pk, out);
  out += '"';
}

std::string header_json(const char* alg, std::string_view kid) {
  std::string h = "{\"alg\":\"";
  h += alg;
  h += "\",\"typ\":\"JWT\"";
  if (!kid.empty()) {
    h += ',';
    json_member("kid", kid, h);
  }
  h += '}';
  return h;
}

std::string signing_input(std::string_view header_json, std::string_view payload_json) {
  std::string t = base64url_encode(header_json);
  t += '.';
  t += base64url_encode(payload_json);
  return t;
}

bool append_patterns(const char* name, std::span<const std::string> patterns, std::string& out,
                     std::string& error) {
  json_string(name, out);
  out += ":[";
  for (std::size_t i = 0; i < patterns.size(); ++i) {
    if (!is_valid_pattern(patterns[i])) {
      error = std::string("not a valid tag pattern in perm.") + name + ": \"" + patterns[i] + "\"";
      return false;
    }
    if (i != 0) {
      out += ',';
    }
    json_string(patterns[i], out);
  }
  out += ']';
  return true;
}

bool write_file(const std::string& path, std::string_view contents, bool overwrite, mode_t mode,
                std::string& error) {
  const int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (overwrite ? O_TRUNC : O_EXCL);
  const int fd = ::open(path.c_str(), flags, mode);
  if (fd < 0) {
    error = errno == EEXIST ? path + " exists (use --force to replace it)"
                            : "cannot create " + path + ": " + std::strerror(errno);
    return false;
  }
  // An existing file keeps its old mode under O_TRUNC: set ours.
  bool ok = ::fchmod(fd, mode) == 0;
  std::size_t done = 0;
  while (ok && done < contents.size()) {
    const ssize_t n = ::write(fd, contents.data() + done, contents.size() - done);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    ok = n > 0;
    done += ok ? static_cast<std::size_t>(n) : 0;
  }
  ok = ok && ::fsync(fd) == 0;
  if (!ok) {
    error = "cannot write " + path + ": " + std::strerror(errno);
  }
  if (::close(fd) != 0 && ok) {
    error = "cannot write " + path + ": " + std::strerror(errno);
    ok = false;
  }
  return ok;
}

}  // namespace

std::string jwk_thumbprint(const ed25519_public_key& key) {
  // Required members only, in lexicographic order, no whitespace (RFC 7638 section 3.2).
  std::string canonical = "{\"crv\":\"Ed25519\",\"kty\":\"OKP\",\"x\":\"";
  base64url_append(key.pk, canonical);
  canonical += "\"}";
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(canonical.data()),
                     canonical.size());
  return base64url_encode(digest);
}

void generate_ed25519(std::string_view kid, ed25519_private_key& out) {
  crypto_sign_keypair(out.pub.pk.data(), out.sk.data());
  out.pub.kid = kid.empty() ? jwk_thumbprint(out.pub) : std::string(kid);
}

std::string private_jwk_json(const ed25519_private_key& key) {
  std::string out;
  public_members(key.pub, out);
  out += ",\"d\":\"";
  // The seed is the first half of libsodium's secret key (RFC 8037 section 2: `d`).
  base64url_append(std::span<const unsigned char>(key.sk.data(), ed25519_seed_bytes), out);
  out += "\"}\n";
  return out;
}

std::string public_jwks_json(std::span<const ed25519_public_key> keys) {
  std::string out = "{\"keys\":[";
  for (std::size_t i = 0; i < keys.size(); ++i) {
    out += i == 0 ? "" : ",";
    public_members(keys[i], out);
    out += '}';
  }
  out += "]}\n";
  return out;
}

bool token_payload_json(const token_spec& spec, std::string& out, std::string& error) {
  if (spec.sub.empty() || !valid_utf8(spec.sub)) {
    error = "sub must be a non-empty UTF-8 string";
    return false;
  }
  if (spec.ttl_s == 0) {
    error = "ttl must be at least one second";
    return false;
  }
  if (!valid_utf8(spec.iss) || !valid_utf8(spec.aud)) {
    error = "iss and aud must be UTF-8 strings";
    return false;
  }
  out = "{";
  json_member("sub", spec.sub, out);
  for (const auto& [name, value] : {std::pair{"iss", spec.iss}, std::pair{"aud", spec.aud}}) {
    if (!value.empty()) {
      out += ',';
      json_member(name, value, out);
    }
  }
  out += ",\"iat\":" + std::to_string(spec.now_s);
  out += ",\"exp\":" + std::to_string(spec.now_s + int64_t{spec.ttl_s});
  out += ",\"perm\":{";
  if (!append_patterns("pub", spec.pub, out, error)) {
    return false;
  }
  out += ',';
  if (!append_patterns("sub", spec.subscribe, out, error)) {
    return false;
  }
  out += "}}";
  return true;
}

std::string sign_eddsa(std::string_view header_json, std::string_view payload_json,
                       const ed25519_private_key& key) {
  std::string token = signing_input(header_json, payload_json);
  unsigned char sig[crypto_sign_BYTES];
  crypto_sign_detached(sig, nullptr, reinterpret_cast<const unsigned char*>(token.data()),
                       token.size(), key.sk.data());
  token += '.';
  base64url_append(sig, token);
  return token;
}

std::string sign_hs256(std::string_view header_json, std::string_view payload_json,
                       std::string_view secret) {
  std::string token = signing_input(header_json, payload_json);
  unsigned char mac[crypto_auth_hmacsha256_BYTES];
  crypto_auth_hmacsha256_state st;
  crypto_auth_hmacsha256_init(&st, reinterpret_cast<const unsigned char*>(secret.data()),
                              secret.size());
  crypto_auth_hmacsha256_update(&st, reinterpret_cast<const unsigned char*>(token.data()),
                                token.size());
  crypto_auth_hmacsha256_final(&st, mac);
  sodium_memzero(&st, sizeof st);
  token += '.';
  base64url_append(mac, token);
  return token;
}

bool mint_eddsa(const token_spec& spec, const ed25519_private_key& key, std::string& token,
                std::string& error) {
  std::string payload;
  if (!token_payload_json(spec, payload, error)) {
    return false;
  }
  const std::string_view kid = spec.kid.empty() ? std::string_view(key.pub.kid) : spec.kid;
  if (!valid_utf8(kid)) {
    error = "kid must be UTF-8";
    return false;
  }
  token = sign_eddsa(header_json("EdDSA", kid), payload, key);
  return true;
}

bool mint_hs256(const token_spec& spec, std::string_view secret, std::string& token,
                std::string& error) {
  if (secret.empty()) {
    error = "the HMAC secret is empty";
    return false;
  }
  std::string payload;
  if (!token_payload_json(spec, payload, error)) {
    return false;
  }
  if (!valid_utf8(spec.kid)) {
    error = "kid must be UTF-8";
    return false;
  }
  token = sign_hs256(header_json("HS256", spec.kid), payload, secret);
  return true;
}

bool write_private_file(const std::string& path, std::string_view contents, bool overwrite,
                        std::string& error) {
  return write_file(path, contents, overwrite, 0600, error);
}

bool write_public_file(const std::string& path, std::string_view contents, bool overwrite,
                       std::string& error) {
  return write_file(path, contents, overwrite, 0644, error);
}

}  // namespace wsa

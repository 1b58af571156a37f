// Compact JWS verification and claim checks (see jwt.h). Runs once per token (connection or
// `auth` frame), never per message; after construction it allocates only for the claims it
// hands out (the `sub` string and the compiled permissions).
#include "auth/jwt.h"

#include <cmath>
#include <cstring>
#include <utility>
#include <vector>

#include "auth/base64url.h"
#include "json/document.h"
#include "pubsub/tag.h"
#include "util/ascii.h"
#include "util/check.h"

namespace wsa {
namespace {

constexpr int64_t date_limit = int64_t{1} << 62;  // exp + leeway never overflows

token_status fail(token_error e, const char* detail) { return token_status{e, detail}; }

int64_t clamp_date(int64_t v) {
  return v > date_limit ? date_limit : (v < -date_limit ? -date_limit : v);
}

// A NumericDate (RFC 7519 section 2): any JSON number. `round_up` picks ceil for fractions.
bool numeric_date(const json_value& v, bool round_up, int64_t& out) {
  switch (v.type()) {
    case json_type::integer: {
      int64_t i = 0;
      if (!v.get(i)) {
        return false;
      }
      out = clamp_date(i);
      return true;
    }
    case json_type::big_integer:  // above INT64_MAX
      out = date_limit;
      return true;
    case json_type::number: {
      double d = 0;
      if (!v.get(d)) {
        return false;
      }
      d = round_up ? std::ceil(d) : std::floor(d);
      const auto limit = static_cast<double>(date_limit);
      out = d >= limit ? date_limit : (d <= -limit ? -date_limit : static_cast<int64_t>(d));
      return true;
    }
    default:
      return false;
  }
}

// Appends the entries of one `perm` list; false if it is not an array of valid patterns.
bool read_patterns(const json_value& v, std::vector<std::string_view>& out) {
  if (v.type() != json_type::array) {
    return false;
  }
  for (const json_member& item : v.elements()) {
    std::string_view s;
    if (!item.value.get(s) || !is_valid_pattern(s)) {
      return false;
    }
    out.push_back(s);
  }
  return true;
}

// `aud` (RFC 7519 4.1.3): one string, or an array of strings. Sets `holds` when `wanted`
// is among them; false when the claim has another shape.
bool audience_holds(const json_value& v, std::string_view wanted, bool& holds) {
  std::string_view one;
  if (v.get(one)) {
    holds = one == wanted;
    return true;
  }
  if (v.type() != json_type::array) {
    return false;
  }
  holds = false;
  for (const json_member& item : v.elements()) {
    if (!item.value.get(one)) {
      return false;
    }
    holds = holds || one == wanted;
  }
  return true;
}

}  // namespace

const char* jwt_alg_name(jwt_alg alg) { return alg == jwt_alg::eddsa ? "EdDSA" : "HS256"; }

const char* token_error_name(token_error e) {
  switch (e) {
    case token_error::ok: return "ok";
    case token_error::too_large: return "too_large";
    case token_error::bad_format: return "bad_format";
    case token_error::bad_base64: return "bad_base64";
    case token_error::bad_json: return "bad_json";
    case token_error::bad_header: return "bad_header";
    case token_error::crit_unsupported: return "crit_unsupported";
    case token_error::alg_not_allowed: return "alg_not_allowed";
    case token_error::unknown_kid: return "unknown_kid";
    case token_error::kid_required: return "kid_required";
    case token_error::bad_signature: return "bad_signature";
    case token_error::missing_claim: return "missing_claim";
    case token_error::bad_claim: return "bad_claim";
    case token_error::expired: return "expired";
    case token_error::not_yet_valid: return "not_yet_valid";
    case token_error::bad_perm: return "bad_perm";
    case token_error::wrong_issuer: return "wrong_issuer";
    case token_error::wrong_audience: return "wrong_audience";
  }
  return "unknown";
}

const char* token_error_text(token_error e) {
  switch (e) {
    case token_error::ok: return "the token is valid";
    case token_error::too_large: return "the token is longer than the configured limit";
    case token_error::bad_format:
      return "the token is not a compact JWS (three dot-separated parts)";
    case token_error::bad_base64: return "a part of the token is not unpadded base64url";
    case token_error::bad_json: return "the header or the claims are not a JSON object";
    case token_error::bad_header: return "the token header is malformed";
    case token_error::crit_unsupported:
      return "the token header lists critical extensions (crit), none is supported";
    case token_error::alg_not_allowed:
      return "the token's algorithm is not allowed (EdDSA, or HS256 with a configured secret)";
    case token_error::unknown_kid: return "no configured key has the token's kid";
    case token_error::kid_required:
      return "the token has no kid and several Ed25519 keys are configured";
    case token_error::bad_signature: return "the token's signature does not verify";
    case token_error::missing_claim: return "a required claim (sub, exp) is missing";
    case token_error::bad_claim: return "a claim has the wrong type or value";
    case token_error::expired: return "the token has expired";
    case token_error::not_yet_valid: return "the token is not valid yet (nbf)";
    case token_error::bad_perm: return "the token's perm is malformed or holds an invalid pattern";
    case token_error::wrong_issuer: return "the token was not issued by the configured issuer (iss)";
    case token_error::wrong_audience:
      return "the token is not meant for this server (aud lacks the configured audience)";
  }
  return "unknown reason";
}

std::string describe(token_status status) {
  std::string out = token_error_name(status.error);
  if (status.detail[0] != '\0') {
    out += " (";
    out += status.detail;
    out += ')';
  }
  out += ": ";
  out += token_error_text(status.error);
  return out;
}

struct token_verifier::impl {
  impl(const key_set& k, std::size_t cap)
      : keys(k), capacity(cap), parser(cap, /*allocate_now=*/true) {}

  // Decodes base64url `text` into `buf` (which has room for `capacity` bytes + padding).
  bool decode(std::string_view text, char* buf, std::size_t& len) const {
    return base64url_decode(text, reinterpret_cast<unsigned char*>(buf), capacity, len);
  }

  token_status parse_header(std::size_t len);
  token_status claims(std::string_view payload, int64_t now_s, const verify_limits& limits,
                      jwt_alg a, std::string_view k, token_claims& out);

  const key_set& keys;
  const std::size_t capacity;  // largest decoded part
  json_document parser;
  std::string parse_error;  // unused detail of a refusal
  std::unique_ptr<char[]> header_buf;
  std::unique_ptr<char[]> payload_buf;
  std::size_t payload_len = 0;
  // The last header read by verify_signature.
  jwt_alg alg = jwt_alg::eddsa;
  bool has_kid = false;
  std::string kid;
  // Reused between calls.
  std::vector<std::string_view> pub;
  std::vector<std::string_view> sub;
  token_claims scratch;
};

token_status token_verifier::impl::parse_header(std::size_t len) {
  json_value root;
  if (!parser.parse_padded(header_buf.get(), len, root, parse_error) ||
      root.type() != json_type::object) {
    return fail(token_error::bad_json, "header");
  }
  std::string_view alg_text;
  std::string_view typ;
  bool has_alg = false;
  bool has_typ = false;
  has_kid = false;
  for (const json_member& field : root.members()) {
    if (field.key == "crit") {
      return fail(token_error::crit_unsupported, "crit");
    }
    bool* seen = nullptr;
    std::string_view* value = nullptr;
    std::string_view kid_text;
    if (field.key == "alg") {
      seen = &has_alg;
      value = &alg_text;
    } else if (field.key == "typ") {
      seen = &has_typ;
      value = &typ;
    } else if (field.key == "kid") {
      seen = &has_kid;
      value = &kid_text;
    } else {
      continue;
    }
    if (*seen) {
      return fail(token_error::bad_json, "a header member appears twice");
    }
    *seen = true;
    if (!field.value.get(*value)) {
      return fail(token_error::bad_header,
                  value == &alg_text ? "alg is not a string"
                                     : (value == &typ ? "typ is not a string" : "kid is not a string"));
    }
    if (value == &kid_text) {
      kid.assign(kid_text);
    }
  }
  if (!has_alg) {
    return fail(token_error::bad_header, "no alg");
  }
  if (alg_text == "EdDSA") {
    alg = jwt_alg::eddsa;
  } else if (alg_text == "HS256") {
    alg = jwt_alg::hs256;
  } else if (alg_text == "none") {
    return fail(token_error::alg_not_allowed, "alg none");
  } else {
    return fail(token_error::alg_not_allowed, "alg is neither EdDSA nor HS256");
  }
  if (has_typ && !iequals(typ, "JWT") && !iequals(typ, "application/jwt")) {
    return fail(token_error::bad_header, "typ is not JWT");
  }
  return {};
}

token_status token_verifier::impl::claims(std::string_view payload, int64_t now_s,
                                          const verify_limits& limits, jwt_alg a,
                                          std::string_view k, token_claims& out) {
  const uint32_t leeway_s = limits.leeway_s;
  json_value root;
  if (!parser.parse_padded(payload.data(), payload.size(), root, parse_error) ||
      root.type() != json_type::object) {
    return fail(token_error::bad_json, "claims");
  }
  token_claims& c = scratch;
  bool has_sub = false;
  bool has_exp = false;
  bool has_perm = false;
  bool has_iss = false;
  bool has_aud = false;
  bool issuer_matches = false;
  bool audience_matches = false;
  c.has_nbf = false;
  c.has_iat = false;
  c.info.clear();
  bool has_info = false;
  pub.clear();
  sub.clear();
  for (const json_member& field : root.members()) {
    const std::string_view key = field.key;
    if (key == "sub") {
      std::string_view s;
      if (has_sub) {
        return fail(token_error::bad_json, "sub appears twice");
      }
      has_sub = true;
      if (!field.value.get(s)) {
        return fail(token_error::bad_claim, "sub is not a string");
      }
      if (s.empty()) {
        return fail(token_error::bad_claim, "sub is empty");
      }
      c.sub.assign(s);
    } else if (key == "exp" || key == "nbf" || key == "iat") {
      const bool is_exp = key == "exp";
      const bool is_nbf = key == "nbf";
      bool& seen = is_exp ? has_exp : (is_nbf ? c.has_nbf : c.has_iat);
      int64_t& value = is_exp ? c.exp_s : (is_nbf ? c.nbf_s : c.iat_s);
      if (seen) {
        return fail(token_error::bad_json,
                    is_exp ? "exp appears twice" : (is_nbf ? "nbf appears twice" : "iat appears twice"));
      }
      seen = true;
      if (!numeric_date(field.value, is_nbf, value)) {
        return fail(token_error::bad_claim, is_exp ? "exp is not a number"
                                                   : (is_nbf ? "nbf is not a number"
                                                             : "iat is not a number"));
      }
    } else if (key == "iss") {
      if (has_iss) {
        return fail(token_error::bad_json, "iss appears twice");
      }
      has_iss = true;
      std::string_view iss;
      if (!field.value.get(iss)) {
        return fail(token_error::bad_claim, "iss is not a string");
      }
      issuer_matches = iss == limits.issuer;
    } else if (key == "aud") {
      if (has_aud) {
        return fail(token_error::bad_json, "aud appears twice");
      }
      has_aud = true;
      if (!audience_holds(field.value, limits.audience, audience_matches)) {
        return fail(token_error::bad_claim, "aud is neither a string nor an array of strings");
      }
    } else if (key == "info") {
      if (has_info) {
        return fail(token_error::bad_json, "info appears twice");
      }
      has_info = true;
      if (field.value.type() != json_type::object) {
        return fail(token_error::bad_claim, "info is not an object");
      }
      field.value.append_minified(c.info);
      if (c.info.size() > max_info_bytes) {
        return fail(token_error::bad_claim, "info is larger than 1 KiB");
      }
    } else if (key == "perm") {
      if (has_perm) {
        return fail(token_error::bad_json, "perm appears twice");
      }
      has_perm = true;
      if (field.value.type() != json_type::object) {
        return fail(token_error::bad_perm, "perm is not an object");
      }
      bool has_pub_list = false;
      bool has_sub_list = false;
      for (const json_member& list : field.value.members()) {
        const bool is_pub = list.key == "pub";
        if (!is_pub && list.key != "sub") {
          continue;  // room for future kinds of permission
        }
        bool& seen = is_pub ? has_pub_list : has_sub_list;
        if (seen) {
          return fail(token_error::bad_perm, is_pub ? "perm.pub appears twice"
                                                    : "perm.sub appears twice");
        }
        seen = true;
        if (!read_patterns(list.value, is_pub ? pub : sub)) {
          return fail(token_error::bad_perm,
                      is_pub ? "perm.pub is not a list of valid tag patterns"
                             : "perm.sub is not a list of valid tag patterns");
        }
      }
    }
  }
  if (!has_sub) {
    return fail(token_error::missing_claim, "sub");
  }
  if (!has_exp) {
    return fail(token_error::missing_claim, "exp");
  }
  const int64_t now = clamp_date(now_s);
  if (now >= c.exp_s + int64_t{leeway_s}) {
    return fail(token_error::expired, "exp");
  }
  if (c.has_nbf && now + int64_t{leeway_s} < c.nbf_s) {
    return fail(token_error::not_yet_valid, "nbf");
  }
  if (!limits.issuer.empty() && !issuer_matches) {
    return fail(token_error::wrong_issuer, has_iss ? "iss" : "no iss");
  }
  if (!limits.audience.empty() && !audience_matches) {
    return fail(token_error::wrong_audience, has_aud ? "aud" : "no aud");
  }
  if (!c.perm.compile(pub, sub)) {  // entries were checked above: cannot fail
    return fail(token_error::bad_perm, "perm");
  }
  c.alg = a;
  c.kid.assign(k);
  std::swap(c, out);
  return {};
}

token_verifier::token_verifier(const key_set& keys, verify_limits limits) : limits_(limits) {
  const std::size_t cap = base64url_decoded_max(limits.max_token_bytes);
  impl_ = std::make_unique<impl>(keys, cap);
  impl_->header_buf = std::make_unique<char[]>(cap + json_document::padding());
  impl_->payload_buf = std::make_unique<char[]>(cap + json_document::padding());
}

token_verifier::~token_verifier() = default;

token_status token_verifier::verify_signature(std::string_view token,
                                              std::string_view& payload) noexcept {
  impl& m = *impl_;
  if (token.size() > limits_.max_token_bytes) {
    return fail(token_error::too_large, "");
  }
  const std::size_t dot1 = token.find('.');
  const std::size_t dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos) {
    return fail(token_error::bad_format, "fewer than three parts");
  }
  if (token.find('.', dot2 + 1) != std::string_view::npos) {
    return fail(token_error::bad_format, "more than three parts (JWE is not supported)");
  }
  const std::string_view header_text = token.substr(0, dot1);
  const std::string_view payload_text = token.substr(dot1 + 1, dot2 - dot1 - 1);
  const std::string_view signature_text = token.substr(dot2 + 1);
  const std::string_view signing_input = token.substr(0, dot2);
  if (header_text.empty()) {
    return fail(token_error::bad_format, "empty header");
  }

  std::size_t header_len = 0;
  if (!m.decode(header_text, m.header_buf.get(), header_len)) {
    return fail(token_error::bad_base64, "header");
  }
  if (token_status s = m.parse_header(header_len); !s.ok()) {
    return s;
  }

  const ed25519_public_key* key = nullptr;
  if (m.alg == jwt_alg::eddsa) {
    switch (m.keys.find_ed25519(m.has_kid, m.kid, key)) {
      case key_set::pick::found:
        break;
      case key_set::pick::none_configured:
        return fail(token_error::alg_not_allowed, "EdDSA: no Ed25519 key is configured");
      case key_set::pick::unknown_kid:
        return fail(token_error::unknown_kid, "kid");
      case key_set::pick::kid_required:
        return fail(token_error::kid_required, "kid");
    }
  } else if (!m.keys.has_hmac()) {
    return fail(token_error::alg_not_allowed, "HS256: no HMAC secret is configured");
  }

  unsigned char sig[ed25519_signature_bytes];
  const std::size_t sig_bytes =
      m.alg == jwt_alg::eddsa ? ed25519_signature_bytes : hs256_mac_bytes;
  std::size_t sig_len = 0;
  if (signature_text.size() != base64url_encoded_len(sig_bytes)) {
    return fail(token_error::bad_signature, "wrong signature length");
  }
  if (!base64url_decode(signature_text, sig, sizeof sig, sig_len) || sig_len != sig_bytes) {
    return fail(token_error::bad_base64, "signature");
  }
  if (!m.decode(payload_text, m.payload_buf.get(), m.payload_len)) {
    return fail(token_error::bad_base64, "payload");
  }

  const bool good = m.alg == jwt_alg::eddsa ? ed25519_verify(*key, signing_input, sig)
                                            : m.keys.hmac_verify(signing_input, sig);
  if (!good) {
    return fail(token_error::bad_signature, "");
  }
  payload = std::string_view(m.payload_buf.get(), m.payload_len);
  return {};
}

token_status token_verifier::check_claims(std::string_view payload, int64_t now_s,
                                          token_claims& out) noexcept {
  impl& m = *impl_;
  if (payload.data() != m.payload_buf.get()) {
    if (payload.size() > m.capacity) {
      return fail(token_error::too_large, "claims");
    }
    std::memcpy(m.payload_buf.get(), payload.data(), payload.size());
    m.payload_len = payload.size();
    payload = std::string_view(m.payload_buf.get(), payload.size());
  }
  // The views stay valid: claims() copies them into its scratch before swapping with `out`.
  return m.claims(payload, now_s, limits_, out.alg, out.kid, out);
}

token_status token_verifier::verify(std::string_view token, int64_t now_s,
                                    token_claims& out) noexcept {
  std::string_view payload;
  if (token_status s = verify_signature(token, payload); !s.ok()) {
    return s;
  }
  return impl_->claims(payload, now_s, limits_, impl_->alg,
                       impl_->has_kid ? std::string_view(impl_->kid) : std::string_view(), out);
}

}  // namespace wsa

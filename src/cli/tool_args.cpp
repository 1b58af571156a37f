// Arguments of `wsagent keygen` and `wsagent token`. See tool_args.h.
#include "cli/tool_args.h"

#include "cli/help.h"
#include "cli/values.h"

namespace wsa {
namespace {

constexpr uint64_t day_s = 24 * 3600;

template <class Target, auto field>
bool set_path(Target& t, std::string_view v, std::string& why) {
  if (v.empty()) {
    why = "empty file name";
    return false;
  }
  t.*field = std::string(v);
  return true;
}

// kid travels in a JWT header and a JWKS: printable ASCII without quotes or backslashes
// keeps it safe to write without escaping.
template <class Target, auto field>
bool set_kid(Target& t, std::string_view v, std::string& why) {
  if (v.empty() || v.size() > 128) {
    why = "a key id must be 1..128 characters";
    return false;
  }
  for (char c : v) {
    if (c < 0x21 || c > 0x7e || c == '"' || c == '\\') {
      why = "bad key id '" + std::string(v) +
            "' (printable ASCII without spaces, quotes or "
            "backslashes)";
      return false;
    }
  }
  t.*field = std::string(v);
  return true;
}

// Patterns are checked by the token command with the tag rules (pubsub/tag.h); here only
// what would break the command line's meaning.
bool add_pattern(std::vector<std::string>& list, std::string_view v, std::string& why) {
  if (v.empty()) {
    why = "empty pattern";
    return false;
  }
  list.emplace_back(v);
  return true;
}

// clang-format off
const option_row<keygen_args> keygen_rows[] = {
  {"out-private", "FILE", "Output",
   "Where to write the private key, a JWK (kty OKP, crv Ed25519) for `wsagent token --key`. "
   "Created readable by its owner only. Required.",
   set_path<keygen_args, &keygen_args::out_private>, nullptr},
  {"out-jwks", "FILE", "Output",
   "Where to write the public key as a JWKS for `wsagent serve --jwks`. To rotate, add its "
   "key to the server's existing JWKS. Required.",
   set_path<keygen_args, &keygen_args::out_jwks>, nullptr},
  {"kid", "ID", "Output",
   "Key id written into both files and into every token signed with the key. Default: "
   "derived from the public key.",
   set_kid<keygen_args, &keygen_args::kid>, nullptr},
  {"force", "", "Output",
   "Overwrite the output files if they exist (default: refuse).",
   [](keygen_args& a, std::string_view v, std::string& why) { return parse_bool(v, a.force, why); },
   nullptr},
};

const option_row<token_args> token_rows[] = {
  {"key", "FILE", "Signing",
   "Private JWK written by `wsagent keygen`: sign with EdDSA (Ed25519).",
   set_path<token_args, &token_args::key_file>, nullptr},
  {"hmac-secret-file", "FILE", "Signing",
   "File holding the shared secret (the same file as `serve --hmac-secret-file`): sign with "
   "HS256 instead. Exactly one of --key and --hmac-secret-file.",
   set_path<token_args, &token_args::hmac_secret_file>, nullptr},
  {"kid", "ID", "Signing",
   "Key id for the token header. Default: the kid in the --key file; none for HS256.",
   set_kid<token_args, &token_args::kid>, nullptr},
  {"sub", "ID", "Claims",
   "The client's identity (`sub` claim). Required.",
   [](token_args& a, std::string_view v, std::string& why) {
     if (v.empty()) {
       why = "empty subject";
       return false;
     }
     a.sub = std::string(v);
     return true;
   },
   nullptr},
  {"pub", "PATTERN", "Claims",
   "A tag pattern the client may publish to (`perm.pub`), e.g. 'chat.*'. Quote patterns "
   "with * or > from the shell.",
   [](token_args& a, std::string_view v, std::string& why) { return add_pattern(a.pub, v, why); },
   nullptr, true},
  {"subscribe", "PATTERN", "Claims",
   "A tag pattern the client may subscribe to (`perm.sub`), e.g. 'chat.>'.",
   [](token_args& a, std::string_view v, std::string& why) {
     return add_pattern(a.subscribe, v, why);
   },
   nullptr, true},
  {"ttl", "DURATION", "Claims",
   "Lifetime: `exp` is now plus this (1s..366d; a bare number is seconds).",
   [](token_args& a, std::string_view v, std::string& why) {
     uint64_t s = 0;
     if (!parse_duration(v, time_unit::seconds, 1, 366 * day_s, s, why)) {
       return false;
     }
     a.ttl_s = static_cast<uint32_t>(s);
     return true;
   },
   [](const token_args& a) { return format_duration(a.ttl_s, time_unit::seconds); }},
};
// clang-format on

constexpr refused_option token_refused[] = {
    {"hmac-secret",
     "secrets are not accepted on the command line (every user of the machine can read it); "
     "write it to a file and pass --hmac-secret-file FILE"},
};

}  // namespace

std::span<const option_row<keygen_args>> keygen_options() { return keygen_rows; }
std::span<const option_row<token_args>> token_options() { return token_rows; }

parse_status parse_keygen_args(std::span<const std::string_view> args, keygen_args& out,
                               std::string& message) {
  keygen_args parsed;
  const parse_status status =
      parse_flags(keygen_options(), args, {}, "wsagent keygen", parsed, message);
  if (status == parse_status::exit_success) {
    message = keygen_help();
  }
  if (status != parse_status::ok) {
    return status;
  }
  if (parsed.out_private.empty() || parsed.out_jwks.empty()) {
    message = std::string("missing ") +
              (parsed.out_private.empty() ? "--out-private FILE" : "--out-jwks FILE") +
              " (e.g. wsagent keygen --out-private key.jwk --out-jwks jwks.json)";
    return parse_status::error;
  }
  if (parsed.out_private == parsed.out_jwks) {
    message = "--out-private and --out-jwks name the same file '" + parsed.out_private + "'";
    return parse_status::error;
  }
  out = std::move(parsed);
  return parse_status::ok;
}

parse_status parse_token_args(std::span<const std::string_view> args, token_args& out,
                              std::string& message) {
  token_args parsed;
  const parse_status status =
      parse_flags(token_options(), args, token_refused, "wsagent token", parsed, message);
  if (status == parse_status::exit_success) {
    message = token_help();
  }
  if (status != parse_status::ok) {
    return status;
  }
  if (parsed.key_file.empty() == parsed.hmac_secret_file.empty()) {
    message = parsed.key_file.empty()
                  ? "missing --key FILE (EdDSA) or --hmac-secret-file FILE (HS256)"
                  : "--key and --hmac-secret-file exclude each other: sign with one key";
    return parse_status::error;
  }
  if (parsed.sub.empty()) {
    message = "missing --sub ID (the client's identity)";
    return parse_status::error;
  }
  out = std::move(parsed);
  return parse_status::ok;
}

}  // namespace wsa

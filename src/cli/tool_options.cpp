// Options of `wsagent keygen` and `wsagent token`, in help order. See tool_options.h.
#include "cli/tool_options.h"

namespace wsa {
namespace {

constexpr uint64_t day_s = 24 * 3600;

// kid travels in a JWT header and a JWKS: printable ASCII without quotes or backslashes
// keeps it safe to write without escaping.
option_setter kid_setter(std::string& field) {
  return [&field](std::string_view v, std::string& why) {
    if (v.empty() || v.size() > 128) {
      why = "a key id must be 1..128 characters";
      return false;
    }
    for (char c : v) {
      if (c < 0x21 || c > 0x7e || c == '"' || c == '\\') {
        why = "bad key id '" + std::string(v) +
              "' (printable ASCII without spaces, quotes or backslashes)";
        return false;
      }
    }
    field = std::string(v);
    return true;
  };
}

// Patterns are checked by the token command with the tag rules (pubsub/tag.h); here only
// what would break the command line's meaning.
option_setter pattern_adder(std::vector<std::string>& list) {
  return [&list](std::string_view v, std::string& why) {
    if (v.empty()) {
      why = "empty pattern";
      return false;
    }
    list.emplace_back(v);
    return true;
  };
}

// A claim's text (`iss`, `aud`): any non-empty string.
option_setter claim_setter(std::string& field) {
  return [&field](std::string_view v, std::string& why) {
    if (v.empty()) {
      why = "empty value";
      return false;
    }
    field = std::string(v);
    return true;
  };
}

constexpr refused_option token_refused[] = {
    {"hmac-secret",
     "secrets are not accepted on the command line (every user of the machine can read it); "
     "write it to a file and pass --hmac-secret-file FILE"},
};

}  // namespace

std::span<const refused_option> token_refused_options() { return token_refused; }

void declare_keygen_options(option_set& o, keygen_args& a) {
  o.group("Output");
  o.path({"out-private", "FILE",
          "Where to write the private key, a JWK (kty OKP, crv Ed25519) for `wsagent token "
          "--key`. Created readable by its owner only. Required."},
         a.out_private);
  o.path({"out-jwks", "FILE",
          "Where to write the public key as a JWKS for `wsagent serve --jwks`. To rotate, add "
          "its key to the server's existing JWKS. Required."},
         a.out_jwks);
  o.value({"kid", "ID",
           "Key id written into both files and into every token signed with the key. Default: "
           "derived from the public key."},
          kid_setter(a.kid));
  o.flag({"force", "", "Overwrite the output files if they exist (default: refuse)."}, a.force);
}

void declare_token_options(option_set& o, token_args& a) {
  o.group("Signing");
  o.path({"key", "FILE", "Private JWK written by `wsagent keygen`: sign with EdDSA (Ed25519)."},
         a.key_file);
  o.path({"hmac-secret-file", "FILE",
          "File holding the shared secret (the same file as `serve --hmac-secret-file`): sign "
          "with HS256 instead. Exactly one of --key and --hmac-secret-file."},
         a.hmac_secret_file);
  o.value({"kid", "ID",
           "Key id for the token header. Default: the kid in the --key file; none for HS256."},
          kid_setter(a.kid));
  o.group("Claims");
  o.value({"sub", "ID", "The client's identity (`sub` claim). Required."},
          [&a](std::string_view v, std::string& why) {
            if (v.empty()) {
              why = "empty subject";
              return false;
            }
            a.sub = std::string(v);
            return true;
          });
  o.list({"pub", "PATTERN",
          "A tag pattern the client may publish to (`perm.pub`), e.g. 'chat.*'. Quote "
          "patterns with * or > from the shell."},
         pattern_adder(a.pub));
  o.list({"subscribe", "PATTERN",
          "A tag pattern the client may subscribe to (`perm.sub`), e.g. 'chat.>'."},
         pattern_adder(a.subscribe));
  o.value({"iss", "ISSUER", "The `iss` claim, for a server started with `serve --jwt-issuer`."},
          claim_setter(a.iss));
  o.value({"aud", "AUDIENCE",
           "The `aud` claim, for a server started with `serve --jwt-audience`."},
          claim_setter(a.aud));
  o.duration({"ttl", "DURATION",
              "Lifetime: `exp` is now plus this (1s..366d; a bare number is seconds)."},
             a.ttl_s, time_unit::seconds, 1, 366 * day_s);
}

bool check_keygen(const keygen_args& a, std::string& why) {
  if (a.out_private.empty() || a.out_jwks.empty()) {
    why = std::string("missing ") +
          (a.out_private.empty() ? "--out-private FILE" : "--out-jwks FILE") +
          " (e.g. wsagent keygen --out-private key.jwk --out-jwks jwks.json)";
    return false;
  }
  if (a.out_private == a.out_jwks) {
    why = "--out-private and --out-jwks name the same file '" + a.out_private + "'";
    return false;
  }
  return true;
}

bool check_token(const token_args& a, std::string& why) {
  if (a.key_file.empty() == a.hmac_secret_file.empty()) {
    why = a.key_file.empty() ? "missing --key FILE (EdDSA) or --hmac-secret-file FILE (HS256)"
                             : "--key and --hmac-secret-file exclude each other: sign with one key";
    return false;
  }
  if (a.sub.empty()) {
    why = "missing --sub ID (the client's identity)";
    return false;
  }
  return true;
}

}  // namespace wsa

// `wsagent keygen` and `wsagent token` (see commands.h).
#include "tools/commands.h"

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <span>

#include <sodium.h>

#include "auth/keys.h"
#include "tools/mint.h"
#include "pubsub/tag.h"

namespace wsa {
namespace {

tool_result fail(int status, std::string_view command, std::string_view message) {
  tool_result r;
  r.status = status;
  r.messages.push_back("wsagent " + std::string(command) + ": " + std::string(message));
  return r;
}

bool exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;  // a dangling symlink counts: O_EXCL refuses it too
}

// Patterns are refused here, before any key is read, so a typo is a usage error (2) and
// not a failure that depends on files.
bool check_patterns(std::string_view option, std::span<const std::string> patterns,
                    std::string& error) {
  for (const std::string& p : patterns) {
    if (!is_valid_pattern(p)) {
      error = "--" + std::string(option) + " '" + p +
              "' is not a valid tag pattern (printable ASCII segments separated by '.'; "
              "'*' matches one segment, '>' as the last segment one or more)";
      return false;
    }
  }
  return true;
}

// Wipes a secret held in a string when it goes out of scope.
struct wiped_string {
  std::string text;
  ~wiped_string() { sodium_memzero(text.data(), text.size()); }
};

}  // namespace

tool_result keygen(const keygen_args& args) {
  constexpr std::string_view cmd = "keygen";
  if (args.out_private.empty() || args.out_jwks.empty()) {
    return fail(tool_usage_error, cmd, "missing --out-private FILE or --out-jwks FILE");
  }
  if (args.out_private == args.out_jwks) {
    return fail(tool_usage_error, cmd, "--out-private and --out-jwks name the same file");
  }
  if (!crypto_init()) {
    return fail(tool_failure, cmd, "cannot initialise libsodium (no randomness source?)");
  }
  // Check both before writing either, so a refusal leaves nothing behind.
  if (!args.force) {
    for (const std::string* path : {&args.out_private, &args.out_jwks}) {
      if (exists(*path)) {
        return fail(tool_failure, cmd, *path + " exists (use --force to replace it)");
      }
    }
  }

  ed25519_private_key key;
  generate_ed25519(args.kid, key);
  std::string error;
  wiped_string private_text{private_jwk_json(key)};
  if (!write_private_file(args.out_private, private_text.text, args.force, error)) {
    return fail(tool_failure, cmd, error);
  }
  const ed25519_public_key pub[] = {key.pub};
  if (!write_public_file(args.out_jwks, public_jwks_json(pub), args.force, error)) {
    if (!args.force) {  // we created it a moment ago: do not leave half a key pair
      ::unlink(args.out_private.c_str());
    }
    return fail(tool_failure, cmd, error);
  }

  tool_result r;
  r.out = "wrote " + args.out_private + ": private key (Ed25519, kid \"" + key.pub.kid +
          "\"), readable by its owner only: keep it secret\n" + "wrote " + args.out_jwks +
          ": public key set for `wsagent serve --jwks " + args.out_jwks + "`\n" +
          "sign tokens with `wsagent token --key " + args.out_private +
          " --sub ID --pub PATTERN --subscribe PATTERN`\n";
  return r;
}

tool_result make_token(const token_args& args, int64_t now_s) {
  constexpr std::string_view cmd = "token";
  if (args.key_file.empty() == args.hmac_secret_file.empty()) {
    return fail(tool_usage_error, cmd,
                args.key_file.empty()
                    ? "missing --key FILE (EdDSA) or --hmac-secret-file FILE (HS256)"
                    : "--key and --hmac-secret-file exclude each other: sign with one key");
  }
  if (args.sub.empty()) {
    return fail(tool_usage_error, cmd, "missing --sub ID (the client's identity)");
  }
  if (args.ttl_s == 0) {
    return fail(tool_usage_error, cmd, "--ttl must be at least 1s");
  }
  std::string error;
  if (!check_patterns("pub", args.pub, error) ||
      !check_patterns("subscribe", args.subscribe, error)) {
    return fail(tool_usage_error, cmd, error);
  }
  if (!crypto_init()) {
    return fail(tool_failure, cmd, "cannot initialise libsodium");
  }

  token_spec spec;
  spec.sub = args.sub;
  spec.pub = args.pub;
  spec.subscribe = args.subscribe;
  spec.now_s = now_s;
  spec.ttl_s = args.ttl_s;
  spec.kid = args.kid;
  spec.iss = args.iss;
  spec.aud = args.aud;

  tool_result r;
  std::string token;
  bool ok = false;
  if (!args.key_file.empty()) {
    ed25519_private_key key;
    if (!load_private_jwk_file(args.key_file, key, error)) {
      return fail(tool_failure, cmd, error);
    }
    ok = mint_eddsa(spec, key, token, error);
  } else {
    wiped_string secret;
    std::vector<std::string> warnings;
    if (!read_hmac_secret_file(args.hmac_secret_file, secret.text, error, warnings)) {
      return fail(tool_failure, cmd, error);
    }
    for (const std::string& w : warnings) {
      r.messages.push_back("wsagent token: warning: " + w);
    }
    ok = mint_hs256(spec, secret.text, token, error);
  }
  if (!ok) {  // what is left (a sub that is not UTF-8) is the caller's argument
    tool_result bad = fail(tool_usage_error, cmd, error);
    bad.messages.insert(bad.messages.begin(), r.messages.begin(), r.messages.end());
    return bad;
  }
  r.out = token + "\n";
  return r;
}

int print_tool_result(const tool_result& r) {
  for (const std::string& m : r.messages) {
    std::fprintf(stderr, "%s\n", m.c_str());
  }
  if (!r.out.empty()) {
    // A token cut short by a full disk or a closed pipe must not look like success.
    if (std::fwrite(r.out.data(), 1, r.out.size(), stdout) != r.out.size() ||
        std::fflush(stdout) != 0) {
      std::fprintf(stderr, "wsagent: cannot write to stdout\n");
      return tool_failure;
    }
  }
  return r.status;
}

int run_keygen(const keygen_args& args) { return print_tool_result(keygen(args)); }

int run_token(const token_args& args) {
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  return print_tool_result(
      make_token(args, std::chrono::duration_cast<std::chrono::seconds>(now).count()));
}

}  // namespace wsa

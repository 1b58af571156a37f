// Token verification (once per connection and per `auth` frame) and permission checks (once
// per `pub`/`sub`), per call on one core. items_per_second of the verify_* benchmarks is
// tokens/s. Tokens carry a realistic claims set: sub, iat, exp and 4 + 4 patterns.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "auth/jwt.h"
#include "auth/keys.h"
#include "tools/mint.h"
#include "auth/perm.h"

namespace {

constexpr int64_t now = 1'700'000'000;
const std::string secret = "a shared secret of at least thirty-two bytes";
const std::vector<std::string> token_pub = {"chat.*", "presence.alice", "rooms.>", "typing.*"};
const std::vector<std::string> token_sub = {"chat.>", "news", "presence.*", "rooms.>"};

struct fixture {
  wsa::ed25519_private_key key;
  wsa::key_set keys;
  std::string eddsa;
  std::string hs256;
  std::string eddsa_bad_sig;
  std::string hs256_bad_sig;

  fixture() {
    if (!wsa::crypto_init()) {
      std::abort();
    }
    wsa::generate_ed25519("k1", key);
    std::string error;
    if (!keys.add_ed25519(key.pub, error) || !keys.set_hmac_secret(secret, error)) {
      std::abort();
    }
    wsa::token_spec spec;
    spec.sub = "alice@example.com";
    spec.pub = token_pub;
    spec.subscribe = token_sub;
    spec.now_s = now;
    spec.ttl_s = 3600;
    if (!wsa::mint_eddsa(spec, key, eddsa, error) || !wsa::mint_hs256(spec, secret, hs256, error)) {
      std::abort();
    }
    // Flip one signature character (staying base64url): fully parsed, then refused.
    eddsa_bad_sig = eddsa;
    eddsa_bad_sig[eddsa_bad_sig.size() - 10] ^= 0x01;
    hs256_bad_sig = hs256;
    hs256_bad_sig[hs256_bad_sig.size() - 10] ^= 0x01;
  }
};

const fixture& fx() {
  static const fixture f;
  return f;
}

void verify(benchmark::State& state, const std::string& token, bool expect_ok) {
  wsa::token_verifier v(fx().keys, wsa::verify_limits{});
  wsa::token_claims claims;
  for (auto _ : state) {
    const wsa::token_status s = v.verify(token, now, claims);
    if (s.ok() != expect_ok) {
      state.SkipWithError(wsa::describe(s).c_str());
      break;
    }
    benchmark::DoNotOptimize(claims);
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["token_bytes"] = static_cast<double>(token.size());
}

void verify_eddsa(benchmark::State& state) { verify(state, fx().eddsa, true); }
void verify_hs256(benchmark::State& state) { verify(state, fx().hs256, true); }
void verify_eddsa_bad_signature(benchmark::State& state) {
  verify(state, fx().eddsa_bad_sig, false);
}
void verify_hs256_bad_signature(benchmark::State& state) {
  verify(state, fx().hs256_bad_sig, false);
}
// Garbage is refused before any cryptography: what a flood of junk tokens costs.
void verify_malformed(benchmark::State& state) {
  static const std::string junk = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.";
  verify(state, junk, false);
}
BENCHMARK(verify_eddsa);
BENCHMARK(verify_hs256);
BENCHMARK(verify_eddsa_bad_signature);
BENCHMARK(verify_hs256_bad_signature);
BENCHMARK(verify_malformed);

// The signature alone, to split verify_eddsa into crypto and claims parsing.
void verify_signature_only_eddsa(benchmark::State& state) {
  wsa::token_verifier v(fx().keys, wsa::verify_limits{});
  std::string_view payload;
  for (auto _ : state) {
    benchmark::DoNotOptimize(v.verify_signature(fx().eddsa, payload));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(verify_signature_only_eddsa);

// ~20 patterns, as a busy service account's token might carry: 10 exact, 10 wildcards.
const std::vector<std::string_view> twenty = {
    "chat.lobby",       "chat.help",          "news",           "alerts.ops",
    "presence.alice",   "rooms.42.events",    "billing.events", "audit.login",
    "metrics.cpu",      "metrics.mem",        "chat.team.*",    "rooms.*.messages",
    "tenants.acme.>",   "devices.*.telemetry", "orders.*.status", "users.*.inbox",
    "jobs.>",           "logs.*.error",       "feeds.*.*",      "sensors.*.temp.>"};

const wsa::permissions& twenty_perm() {
  static const wsa::permissions p = [] {
    wsa::permissions q;
    if (!q.compile(twenty, twenty)) {
      std::abort();
    }
    return q;
  }();
  return p;
}

void may_publish(benchmark::State& state, std::string_view tag, bool expected) {
  const wsa::permissions& p = twenty_perm();
  for (auto _ : state) {
    const bool ok = p.may_publish(tag);
    if (ok != expected) {
      state.SkipWithError("unexpected answer");
      break;
    }
    benchmark::DoNotOptimize(ok);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK_CAPTURE(may_publish, exact_hit, "metrics.cpu", true);
BENCHMARK_CAPTURE(may_publish, first_wildcard_hit, "chat.team.red", true);
BENCHMARK_CAPTURE(may_publish, last_wildcard_hit, "sensors.s1.temp.max", true);
BENCHMARK_CAPTURE(may_publish, miss, "chat.random.topic", false);

void may_subscribe(benchmark::State& state, std::string_view pattern, bool expected) {
  const wsa::permissions& p = twenty_perm();
  for (auto _ : state) {
    const bool ok = p.may_subscribe(pattern);
    if (ok != expected) {
      state.SkipWithError("unexpected answer");
      break;
    }
    benchmark::DoNotOptimize(ok);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK_CAPTURE(may_subscribe, exact_hit, "news", true);
BENCHMARK_CAPTURE(may_subscribe, wildcard_covered, "tenants.acme.*.events", true);
BENCHMARK_CAPTURE(may_subscribe, exact_under_last_wildcard, "sensors.s1.temp.max", true);
BENCHMARK_CAPTURE(may_subscribe, miss, "chat.>", false);

// What verify pays to compile a token's lists (20 + 20 patterns).
void compile_twenty(benchmark::State& state) {
  for (auto _ : state) {
    wsa::permissions p;
    benchmark::DoNotOptimize(p.compile(twenty, twenty));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(compile_twenty);

}  // namespace

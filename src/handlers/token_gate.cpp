#include "handlers/token_gate.h"

#include "auth/keys.h"
#include "obs/log.h"
#include "util/ascii.h"
#include "util/clock.h"

namespace wsa {
namespace {

constexpr int auth_logs_per_second = 20;

}  // namespace

token_gate::token_gate(const config& cfg, const key_set& keys, shard_metrics& metrics)
    : metrics_(metrics), leeway_s_(cfg.token_leeway_s) {
  if (cfg.no_auth) {
    return;
  }
  verifier_ = std::make_unique<token_verifier>(
      keys, verify_limits{cfg.max_token_bytes, cfg.token_leeway_s, cfg.jwt_audience,
                          cfg.jwt_issuer});
  query_token_.resize(cfg.max_token_bytes + 1);
}

token_status token_gate::verify(std::string_view token, std::string_view where) {
  const int64_t now = unix_seconds();
  const token_status status = verifier_->verify(token, now, claims_);
  if (!status.ok()) {
    metrics_.auth_failures.add();
    if (now != log_second_) {
      log_second_ = now;
      log_budget_ = auth_logs_per_second;
    }
    if (log_budget_ > 0) {
      --log_budget_;
      WSA_LOG(info, "token refused").kv("via", where).kv("why", describe(status));
    }
  }
  return status;
}

std::string_view bearer_credentials(std::string_view authorization) {
  constexpr std::string_view scheme = "bearer ";
  if (authorization.size() <= scheme.size() || !istarts_with(authorization, scheme)) {
    return {};
  }
  std::string_view token = authorization.substr(scheme.size());
  while (!token.empty() && token.front() == ' ') {
    token.remove_prefix(1);
  }
  return token;
}

}  // namespace wsa

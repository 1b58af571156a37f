// Authentication on a shard (docs/protocol.md "Connecting", "Tokens"): the token of the upgrade
// request (Authorization: Bearer, then ?token=), the `auth` frame (first frame or a refresh),
// permissions on `pub` and `sub`, and the HTTP publish API. A token is verified once per
// connection or `auth` frame, never per message: its permissions are compiled then.
#include <algorithm>
#include <cstring>

#include "http/query.h"
#include "http/request.h"
#include "json/writer.h"
#include "obs/log.h"
#include "pubsub/hash.h"
#include "pubsub/tag.h"
#include "server/node.h"
#include "server/shard.h"
#include "util/ascii.h"
#include "util/clock.h"

namespace wsa {
namespace {

constexpr std::string_view bearer_challenge =
    "WWW-Authenticate: Bearer realm=\"wsagent\", error=\"invalid_token\"\r\n";
constexpr int auth_logs_per_second = 20;  // a flood of bad tokens must not flood the log

bool is_json_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// The credentials of "Bearer <token>" (RFC 6750 section 2.1; the scheme is case-insensitive).
// Empty when the header holds another scheme.
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

int64_t saturating_add(int64_t a, int64_t b) {
  return a > INT64_MAX - b ? INT64_MAX : a + b;
}

}  // namespace

bool shard::auth_required() const { return verifier_ != nullptr; }

void shard::init_auth() {
  const config& cfg = node_.cfg();
  if (cfg.no_auth) {
    return;
  }
  verifier_ = std::make_unique<token_verifier>(
      node_.keys(), verify_limits{cfg.max_token_bytes, cfg.token_leeway_s, cfg.jwt_audience,
                                  cfg.jwt_issuer});
  query_token_.resize(cfg.max_token_bytes + 1);
}

token_status shard::verify_token(std::string_view token, std::string_view where) {
  const int64_t now = unix_seconds();
  const token_status status = verifier_->verify(token, now, claims_);
  if (!status.ok()) {
    metrics_.auth_failures.add();
    if (now != auth_log_second_) {
      auth_log_second_ = now;
      auth_log_budget_ = auth_logs_per_second;
    }
    if (auth_log_budget_ > 0) {
      --auth_log_budget_;
      WSA_LOG(info, "token refused").kv("via", where).kv("why", describe(status));
    }
  }
  return status;
}

token_status shard::authenticate(conn& c, std::string_view token, std::string_view where) {
  const token_status status = verify_token(token, where);
  if (!status.ok()) {
    return status;
  }
  if (c.perms == nullptr) {
    c.perms = std::make_unique<permissions>();
  }
  *c.perms = std::move(claims_.perm);
  c.token_exp = saturating_add(claims_.exp_s, node_.cfg().token_leeway_s);
  c.token_hash = hash_bytes(token);
  // A refreshed token replaces the permissions: subscriptions it no longer allows end, and
  // so do the requests still waiting for such tags (they would be answered as if allowed).
  for (std::size_t i = c.subs.size(); i-- > 0;) {
    if (!c.perms->may_subscribe(c.subs[i])) {
      remove_subscription(c, i);
    }
  }
  for (pending_sub* p = c.pending; p != nullptr; p = p->next) {
    for (pending_sub::tag_entry& t : p->tags) {
      if (!t.cancelled && !c.perms->may_subscribe(t.tag)) {
        t.cancelled = true;
      }
    }
  }
  return status;
}

void shard::respond_unauthorized(conn& c, std::string_view reason) {
  respond_error(c, 401, reason, bearer_challenge);
}

bool shard::authenticate_upgrade(conn& c, const http_request& request) {
  std::string_view token;
  const char* via = "authorization";
  if (!request.authorization.empty()) {
    token = bearer_credentials(request.authorization);
    if (token.empty()) {
      metrics_.auth_failures.add();
      respond_unauthorized(c, "the Authorization header must hold a Bearer token");
      return false;
    }
  } else {
    via = "query";
    const query_value q = find_query_param(request.query, "token", query_token_);
    switch (q.status) {
      case query_status::absent:
        return true;  // the first frame must be `auth`, within the auth timeout
      case query_status::found:
        token = std::string_view(query_token_.data(), q.length);
        break;
      case query_status::too_long:
        metrics_.auth_failures.add();
        respond_unauthorized(c, "the token is longer than max-token-bytes");
        return false;
      case query_status::malformed:
      case query_status::duplicate:
        metrics_.auth_failures.add();
        respond_unauthorized(c, "the token query parameter is malformed or repeated");
        return false;
    }
  }
  const token_status status = authenticate(c, token, via);
  if (!status.ok()) {
    metrics_.handshake_failures.add();
    respond_unauthorized(c, token_error_text(status.error));
    return false;
  }
  return true;
}

void shard::on_auth(conn& c, const command& cmd) {
  if (!auth_required()) {
    send_ok(c, cmd.id);  // auth off: every connection may already do everything
    return;
  }
  if (c.perms != nullptr && hash_bytes(cmd.token) == c.token_hash) {
    // The token in use, sent again (a client refreshing too eagerly, or on purpose to make
    // us verify signatures): its permissions and expiry are already the connection's. A
    // collision of the seeded hash could only keep the current rights, never grant others.
    metrics_.auth_reused.add();
    send_ok(c, cmd.id);
    return;
  }
  const token_status status = authenticate(c, cmd.token, "auth_frame");
  if (!status.ok()) {
    send_err(c, cmd.id, "unauthorized", token_error_text(status.error));
    close_ws(c, 4001, "token invalid", false);
    return;
  }
  if (c.timed) {
    clear_deadline(c);  // an open WebSocket's only deadline is the auth timeout
  }
  send_ok(c, cmd.id);
}

bool shard::may_publish(conn& c, const command& cmd) {
  if (c.perms == nullptr || c.perms->may_publish(cmd.tag)) {
    return true;
  }
  send_err(c, cmd.id, "forbidden", "no publish permission for " + std::string(cmd.tag));
  return false;
}

bool shard::may_subscribe(conn& c, const command& cmd) {
  if (c.perms == nullptr) {
    return true;
  }
  // Each tag is judged on its own; one refused tag refuses the request, naming every
  // refused tag, so that a sub is all or nothing like every other refusal.
  std::string refused;
  for (std::string_view tag : cmd.tags) {
    if (!c.perms->may_subscribe(tag)) {
      refused.append(refused.empty() ? "" : ", ").append(tag);
    }
  }
  if (refused.empty()) {
    return true;
  }
  send_err(c, cmd.id, "forbidden", "no subscribe permission for " + refused);
  return false;
}

// ---- POST /api/publish ----

bool shard::on_http_publish(conn& c, const http_request& request, std::string_view body) {
  if (request.method != "POST") {
    respond_error(c, 405, "method not allowed", "Allow: POST\r\n");
    return false;
  }
  if (auth_required()) {
    const std::string_view token = bearer_credentials(request.authorization);
    if (token.empty()) {
      metrics_.auth_failures.add();
      respond_unauthorized(c, "a bearer token is required (Authorization: Bearer <token>)");
      return false;
    }
    if (!verify_token(token, "api").ok()) {
      respond_unauthorized(c, "the token was refused");
      return false;
    }
  }
  // The body {"tag":..,"data":..} is parsed as the pub frame it stands for, by the same strict
  // parser: `data` is kept byte for byte.
  std::size_t open = 0;
  while (open < body.size() && is_json_space(body[open])) {
    ++open;
  }
  if (open == body.size() || body[open] != '{') {
    respond_error(c, 400, "the body must be a JSON object {\"tag\":...,\"data\":...}");
    return false;
  }
  const std::string_view members = body.substr(open + 1);
  std::size_t first = 0;
  while (first < members.size() && is_json_space(members[first])) {
    ++first;
  }
  const bool empty_object = first < members.size() && members[first] == '}';
  api_frame_.assign(empty_object ? "{\"op\":\"pub\"" : "{\"op\":\"pub\",");
  api_frame_.append(members);
  const std::size_t size = api_frame_.size();
  api_frame_.resize(size + json_padding());
  parse_error error;
  if (!parser_.parse(api_frame_.data(), size, api_frame_.size(), command_, error)) {
    respond_error(c, 400, error.reason);
    return false;
  }
  if (!is_valid_tag(command_.tag)) {
    respond_error(c, 400, "tag must be an exact tag (1..255 printable bytes, no wildcard)");
    return false;
  }
  if (auth_required() && !claims_.perm.may_publish(command_.tag)) {
    respond_error(c, 403, "no publish permission for " + std::string(command_.tag));
    return false;
  }
  metrics_.publishes.add();
  c.http_waiting = true;
  clear_deadline(c);
  submit_publish(c, {}, command_.tag, command_.data);  // may answer at once (owner here)
  return true;
}

void shard::finish_http_publish(conn& c, bool ok, uint64_t seq, std::string_view error) {
  c.http_waiting = false;
  if (!ok) {
    respond_error(c, 503, "the broker did not accept the message (" + std::string(error) + ")");
    return;
  }
  scratch_.assign("{\"seq\":").append(std::to_string(seq)).append("}\n");
  respond(c, 200, "application/json", scratch_);
  if (!c.keep_alive) {
    close_after_flush(c);
    return;
  }
  set_deadline(c, monotonic_ms() + node_.cfg().handshake_timeout_ms);
  // Requests pipelined behind the publish are read once this answer is sent (shard_flow).
}

}  // namespace wsa

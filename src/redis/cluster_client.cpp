// Routing commands by slot and following redirections; see cluster_client.h.
#include "redis/cluster_client.h"

#include <nettle/sha1.h>

#include <algorithm>

#include "redis/cluster_map.h"
#include "redis/resp_writer.h"
#include "redis/slot.h"
#include "util/clock.h"
#include "util/hex.h"

namespace wsa {
namespace {

constexpr int64_t link_wait_step_ms = 5;  // a parked command's target is still connecting

uint32_t route_attempts(uint32_t route) { return (route >> 16) & 0xff; }
uint32_t route_tryagains(uint32_t route) { return (route >> 24) & 0x7f; }

}  // namespace

cluster_client::cluster_client(ring& r, cluster_owner& owner, cluster_options options)
    : ring_(r),
      owner_(owner),
      options_(std::move(options)),
      slot_node_(cluster_slot_count, no_node),
      new_slot_node_(cluster_slot_count, no_node),
      outstanding_(cluster_slot_count, 0),
      unserved_slots_(cluster_slot_count) {
  for (const redis_address& seed : options_.seeds) {
    const uint16_t n = find_or_add_node(seed);
    if (n != no_node) {
      nodes_[n].seed = true;
    }
  }
}

// Each link cancels its own operations as it goes.
cluster_client::~cluster_client() = default;

void cluster_client::start() {
  now_ms_ = monotonic_ms();
  for (uint16_t n = 0; n < nodes_.size(); ++n) {
    command_link(n);
  }
}

std::string cluster_client::add_script(std::string_view lua) {
  scripts_.emplace_back(lua);
  sha1_ctx ctx;
  sha1_init(&ctx);
  sha1_update(&ctx, lua.size(), reinterpret_cast<const uint8_t*>(lua.data()));
  uint8_t digest[SHA1_DIGEST_SIZE];
  sha1_digest(&ctx, sizeof digest, digest);
  std::string hex;
  append_hex(hex, digest, sizeof digest);
  return hex;
}

bool cluster_client::ready() const {
  if (!have_map_ || unserved_slots_ != 0) {
    return false;
  }
  for (const node& n : nodes_) {
    if (n.slots != 0 && (!n.commands || !n.commands->up())) {
      return false;
    }
  }
  return true;
}

// ---- commands ----

std::string* cluster_client::begin(uint16_t slot) {
  building_slot_ = slot & route_slot_mask;
  if (fences_.contains(building_slot_)) {
    building_link_ = nullptr;
    held_.clear();
    return &held_;
  }
  const uint16_t n = slot_node_[building_slot_];
  if (n == no_node || !nodes_[n].commands || !nodes_[n].commands->up()) {
    return nullptr;
  }
  building_link_ = nodes_[n].commands.get();
  return &building_link_->begin();
}

void cluster_client::commit(const link_request& request) {
  link_request r = request;
  r.route = building_slot_ | (1u << route_attempts_shift);
  if (building_link_ == nullptr) {
    parked_command p;
    p.request = r;
    p.bytes.swap(held_);
    fences_[building_slot_].waiting.push_back(std::move(p));
    return;
  }
  building_link_->commit(r, /*retain=*/true);
  ++outstanding_[building_slot_];
}

std::size_t cluster_client::backlog_bytes(uint16_t slot) const {
  const uint16_t n = slot_node_[slot & route_slot_mask];
  return n == no_node || !nodes_[n].commands ? 0 : nodes_[n].commands->backlog_bytes();
}

bool cluster_client::send(uint16_t slot, const link_request& request,
                          std::initializer_list<std::string_view> args) {
  std::string* out = begin(slot);
  if (out == nullptr) {
    return false;
  }
  resp_command(*out, args);
  commit(request);
  return true;
}

void cluster_client::on_reply(link& l, const link_request& request, resp_view reply,
                              std::string_view command) {
  bool subscriber = false;
  const uint16_t n = node_index(l, subscriber);
  if (request.kind >= first_internal_kind) {
    on_internal_reply(n, request, reply);
    return;
  }
  if ((request.route & route_on_subscriber) != 0) {
    owner_.on_cluster_reply(request, reply);
    return;
  }
  const uint16_t slot = request.route & route_slot_mask;
  if (outstanding_[slot] > 0) {
    --outstanding_[slot];
  }
  if (!reply.is_error() || !follow_error(n, request, reply.str(), command)) {
    owner_.on_cluster_reply(request, reply);
  }
  settle(slot);
}

void cluster_client::on_failed(link& l, const link_request& request) {
  (void)l;
  if (request.kind >= first_internal_kind) {
    if (request.kind == slots_request) {
      refresh_in_flight_ = false;
      refresh();
    } else if (request.kind == ssubscribe_request) {
      subscribing_.erase(request.token);  // the link's drop marks its channels down
    }
    return;
  }
  if ((request.route & route_on_subscriber) != 0) {
    owner_.on_cluster_failed(request);
    return;
  }
  const uint16_t slot = request.route & route_slot_mask;
  if (outstanding_[slot] > 0) {
    --outstanding_[slot];
  }
  fail_owner(request);
  settle(slot);
}

void cluster_client::on_internal_reply(uint16_t n, const link_request& request, resp_view reply) {
  switch (request.kind) {
    case slots_request:
      refresh_in_flight_ = false;
      apply_topology(n, reply);
      break;
    case script_request:
      if (reply.is_error()) {
        note("SCRIPT LOAD refused by " + nodes_[n].address.text + ": " + std::string(reply.str()));
      }
      break;
    case ssubscribe_request:
      on_ssubscribe_reply(n, request, reply);
      break;
    default:
      break;  // ASKING's OK; SUNSUBSCRIBE's confirmation
  }
}

// A redirection or a retryable refusal: the command is parked behind its slot's fence and
// resent by settle(). False for any other error: the owner gets it as the reply.
bool cluster_client::follow_error(uint16_t n, const link_request& request, std::string_view error,
                                  std::string_view command) {
  const uint16_t slot = request.route & route_slot_mask;
  parked_command p;
  bool delay = false;
  const cluster_redirect r = parse_redirect(error);
  if (r.type == cluster_redirect::kind::moved) {
    ++stats_.moved;
    const uint16_t to = node_at(r.host, r.port, n);
    if (to != no_node) {
      assign_slot(r.slot, to);
    }
    refresh();
  } else if (r.type == cluster_redirect::kind::ask) {
    ++stats_.asked;
    p.ask = true;
    p.ask_node = node_at(r.host, r.port, n);
  } else if (is_tryagain_error(error)) {
    ++stats_.tryagain;
    delay = true;
    if ((request.route & route_asked) != 0) {
      // The importing node refused (its keys are split, or the tag is new and its keys
      // multiple): it is where the migration leads, so ask it again rather than the source,
      // which would only ASK again (and spend the command's redirections).
      p.ask = true;
      p.ask_node = n;
    }
  } else if (is_noscript_error(error)) {
    if (nodes_[n].commands) {
      load_scripts(*nodes_[n].commands);
    }
  } else {
    if (is_clusterdown_error(error)) {
      refresh();
    }
    return false;
  }
  const uint32_t attempts = route_attempts(request.route) + (delay ? 0 : 1);
  const uint32_t tryagains = route_tryagains(request.route) + (delay ? 1 : 0);
  if (attempts > options_.max_attempts || tryagains > std::min(options_.max_tryagain, 127u) ||
      command.empty()) {
    note("giving up on a command for slot " + std::to_string(slot) + " after " +
         std::to_string(attempts + tryagains) + " attempts: " + std::string(error));
    ++stats_.give_ups;
    fail_owner(request);
    return true;
  }
  p.request = request;
  p.request.route = slot | (attempts << route_attempts_shift) |
                    (tryagains << route_tryagain_shift) | (p.ask ? route_asked : 0);
  p.bytes.assign(command);
  p.give_up_ms = now_ms_ + options_.link.connect_timeout_ms;
  slot_fence& f = fences_[slot];
  if (delay) {
    // Backs off while the migration lasts: a slot's keys moved by hand or in big batches
    // can stay split for seconds, and every retry costs both masters a command.
    const int64_t step = options_.tryagain_delay_ms << std::min<uint32_t>(tryagains / 16, 4);
    f.retry_at_ms = now_ms_ + std::min<int64_t>(step, std::max<int64_t>(
                                                          options_.tryagain_delay_ms, 200));
  }
  f.retry.push_back(std::move(p));
  return true;
}

// Once every command of a fenced slot sent so far has its answer: resend the redirected
// ones (then wait for their answers), and when none is left, the ones held behind them; then
// the slot is open again.
void cluster_client::settle(uint16_t slot) {
  const auto it = fences_.find(slot);
  if (it == fences_.end() || outstanding_[slot] != 0 || now_ms_ < it->second.retry_at_ms) {
    return;
  }
  slot_fence& f = it->second;  // stays valid: elements of an unordered_map do not move
  if (!f.retry.empty()) {
    if (!send_parked(slot, f.retry, f) || outstanding_[slot] != 0) {
      return;
    }
  }
  while (!f.waiting.empty()) {
    if (!send_parked(slot, f.waiting, f)) {
      return;
    }
  }
  if (f.retry.empty()) {
    fences_.erase(slot);
  }
}

// Sends `list` in order, or nothing while a target link is still connecting (the fence
// then waits a little): a later command must never overtake an earlier one.
bool cluster_client::send_parked(uint16_t slot, std::vector<parked_command>& list, slot_fence& f) {
  for (const parked_command& p : list) {
    const uint16_t n = p.ask ? p.ask_node : slot_node_[slot];
    if (n != no_node && nodes_[n].commands && !nodes_[n].commands->up() && now_ms_ < p.give_up_ms) {
      f.retry_at_ms = now_ms_ + link_wait_step_ms;
      return false;
    }
  }
  std::vector<parked_command> batch;
  batch.swap(list);
  for (parked_command& p : batch) {
    if (!resend(slot, p)) {
      fail_owner(p.request);
    }
  }
  return true;
}

bool cluster_client::resend(uint16_t slot, parked_command& p) {
  const uint16_t n = p.ask ? p.ask_node : slot_node_[slot];
  if (n == no_node || !nodes_[n].commands || !nodes_[n].commands->up()) {
    return false;
  }
  link& l = *nodes_[n].commands;
  if (p.ask) {
    link_request asking;
    asking.kind = asking_request;
    l.send(asking, {"ASKING"});
  }
  l.resend(p.request, p.bytes);
  ++outstanding_[slot];
  return true;
}

void cluster_client::fail_owner(const link_request& request) { owner_.on_cluster_failed(request); }

void cluster_client::load_scripts(link& l) {
  for (const std::string& lua : scripts_) {
    link_request r;
    r.kind = script_request;
    l.send(r, {"SCRIPT", "LOAD", lua});
  }
}

// ---- the loop ----

void cluster_client::poll() {
  now_ms_ = monotonic_ms();
  if (retire_due_) {
    retire_idle_nodes();
  }
  for (node& n : nodes_) {
    if (n.commands) {
      n.commands->poll(now_ms_);
    }
    if (n.subscriber) {
      n.subscriber->poll(now_ms_);
    }
  }
  if (!refresh_in_flight_ &&
      ((refresh_wanted_ && now_ms_ >= next_refresh_ms_) || now_ms_ >= periodic_refresh_ms_)) {
    send_refresh(now_ms_);
  }
  if (!fences_.empty()) {
    settle_scratch_.clear();
    for (const auto& [slot, f] : fences_) {
      if (outstanding_[slot] == 0 && now_ms_ >= f.retry_at_ms) {
        settle_scratch_.push_back(slot);
      }
    }
    for (const uint16_t slot : settle_scratch_) {
      settle(slot);
    }
  }
  if (channels_dirty_) {
    subscribe_pending(now_ms_);
  }
}

void cluster_client::on_completion(const completion& c) {
  const uint32_t id = decode_link_op(c.user_data).link;
  for (node& n : nodes_) {
    if (n.commands && n.commands->id() == id) {
      now_ms_ = monotonic_ms();
      n.commands->on_completion(c);
      return;
    }
    if (n.subscriber && n.subscriber->id() == id) {
      now_ms_ = monotonic_ms();
      n.subscriber->on_completion(c);
      return;
    }
  }
}

}  // namespace wsa

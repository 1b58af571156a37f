// Following the master through Sentinel; see sentinel.h.
#include "redis/sentinel.h"

#include <charconv>

#include "util/clock.h"

namespace wsa {
namespace {

constexpr std::string_view switch_channel = "+switch-master";

std::string_view next_word(std::string_view& text) {
  const std::size_t space = text.find(' ');
  const std::string_view word = text.substr(0, space);
  text = space == std::string_view::npos ? std::string_view() : text.substr(space + 1);
  return word;
}

}  // namespace

bool parse_switch_master(std::string_view payload, std::string_view& name, std::string_view& host,
                         std::string_view& port) {
  name = next_word(payload);
  next_word(payload);  // old ip
  next_word(payload);  // old port
  host = next_word(payload);
  port = next_word(payload);
  return !name.empty() && !host.empty() && !port.empty() && payload.empty();
}

sentinel_watch::sentinel_watch(ring& r, sentinel_owner& owner, sentinel_options options)
    : owner_(owner),
      options_(std::move(options)),
      commands_(r, *this, options_for(0), false),
      subscriber_(r, *this, options_for(0), true) {}

sentinel_watch::~sentinel_watch() = default;

link_options sentinel_watch::options_for(std::size_t i) const {
  link_options o = options_.link;
  o.require_master = false;
  if (i < options_.sentinels.size()) {
    o.address = options_.sentinels[i];
  }
  return o;
}

void sentinel_watch::start() {
  if (options_.sentinels.empty()) {
    note("no sentinel to ask");
    return;
  }
  started_ = true;
  unreachable_since_ms_ = monotonic_ms();
  commands_.start();
  subscriber_.start();
}

void sentinel_watch::follow(link& l) {
  followers_.push_back(&l);
  if (known_) {
    l.retarget(master_);
    l.start();
  }
}

void sentinel_watch::recheck() {
  ++suspect_;
  next_ask_ms_ = 0;
}

void sentinel_watch::ask() {
  if (asking_ || !commands_.up()) {
    return;
  }
  link_request r;
  r.kind = ask_request;
  commands_.send(r, {"SENTINEL", "get-master-addr-by-name", options_.master_name});
  asking_ = true;
  next_ask_ms_ = monotonic_ms() + options_.recheck_interval_ms;
}

void sentinel_watch::on_answer(resp_view reply) {
  if (reply.is_array() && reply.size() == 2 && reply[0].type() == resp_type::string &&
      reply[1].type() == resp_type::string) {
    use_master(reply[0].str(), reply[1].str(), "named by");
    return;
  }
  if (reply.type() == resp_type::nil) {
    next_sentinel("does not know master '" + options_.master_name + "'");
  } else {
    next_sentinel(reply.is_error() ? std::string(reply.str()) : "answered no address");
  }
}

void sentinel_watch::use_master(std::string_view host, std::string_view port_text,
                                const char* how) {
  uint32_t port = 0;
  const auto [end, ec] =
      std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  redis_address address;
  if (ec != std::errc() || end != port_text.data() + port_text.size() || port > 65535 ||
      !numeric_redis_address(host, static_cast<uint16_t>(port), address)) {
    next_sentinel("named master '" + std::string(host) + ":" + std::string(port_text) +
                  "', which is not a numeric address");
    return;
  }
  if (known_ && same_endpoint(address, master_)) {
    if (suspect_ >= options_.suspect_limit) {
      // The owner's links keep failing there, and this sentinel keeps naming it: it may be
      // partitioned from the others. Hear another one.
      suspect_ = 0;
      next_sentinel("keeps naming " + master_.text + ", which does not serve as master");
    }
    return;
  }
  if (known_) {
    ++switches_;
  }
  known_ = true;
  suspect_ = 0;
  master_ = address;
  note("master '" + options_.master_name + "' is " + master_.text + " (" + how + " " +
       commands_.address().text + ")");
  for (link* l : followers_) {
    l->retarget(master_);
    l->start();
  }
  owner_.on_master(master_);
}

void sentinel_watch::next_sentinel(std::string_view why) {
  note("sentinel " + commands_.address().text + " " + std::string(why));
  if (options_.sentinels.size() < 2) {
    return;
  }
  current_ = (current_ + 1) % options_.sentinels.size();
  asking_ = false;
  unreachable_since_ms_ = monotonic_ms();
  commands_.retarget(options_.sentinels[current_]);
  subscriber_.retarget(options_.sentinels[current_]);
}

void sentinel_watch::poll() {
  if (!started_) {
    return;
  }
  const int64_t now = monotonic_ms();
  commands_.poll(now);
  subscriber_.poll(now);
  if (commands_.up()) {
    if (now >= next_ask_ms_) {
      ask();
    }
  } else if (unreachable_since_ms_ >= 0 &&
             now - unreachable_since_ms_ >= options_.switch_after_ms) {
    next_sentinel("unreachable for " + std::to_string(now - unreachable_since_ms_) + " ms");
  }
}

void sentinel_watch::on_completion(const completion& c) {
  const uint32_t id = decode_link_op(c.user_data).link;
  if (id == commands_.id()) {
    commands_.on_completion(c);
  } else if (id == subscriber_.id()) {
    subscriber_.on_completion(c);
  }
}

// ---- link events ----

void sentinel_watch::on_link_up(link& l) {
  if (&l == &subscriber_) {
    link_request r;
    r.kind = subscribe_request;
    subscriber_.send(r, {"SUBSCRIBE", switch_channel});
    return;
  }
  unreachable_since_ms_ = -1;
  asking_ = false;
  ask();
}

void sentinel_watch::on_link_down(link& l, std::string_view why) {
  if (&l == &commands_) {
    asking_ = false;
    unreachable_since_ms_ = monotonic_ms();
  }
  note("sentinel " + l.address().text + " link down: " + std::string(why));
}

void sentinel_watch::on_link_failed(link& l, std::string_view why) {
  if (&l == &commands_) {
    note("cannot reach sentinel " + l.address().text + ": " + std::string(why));
  }
}

void sentinel_watch::on_reply(link& l, const link_request& request, resp_view reply,
                              std::string_view command) {
  (void)l, (void)command;
  if (request.kind == ask_request) {
    asking_ = false;
    on_answer(reply);
  } else if (request.kind == subscribe_request) {
    if (reply.is_error()) {
      note("sentinel refused SUBSCRIBE " + std::string(switch_channel) + ": " +
           std::string(reply.str()));
    } else {
      next_ask_ms_ = 0;  // a switch may have happened while nobody listened
    }
  }
}

void sentinel_watch::on_failed(link& l, const link_request& request) {
  (void)l;
  if (request.kind == ask_request) {
    asking_ = false;
  }
}

void sentinel_watch::on_push(link& l, resp_view push) {
  (void)l;
  if (push[0].str() != "message" || push[1].str() != switch_channel) {
    return;
  }
  std::string_view name, host, port;
  if (!parse_switch_master(push[2].str(), name, host, port) || name != options_.master_name) {
    return;
  }
  use_master(host, port, "+switch-master from");
}

}  // namespace wsa

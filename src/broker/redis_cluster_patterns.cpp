// Patterns on Redis Cluster (docs/redis-cluster.md "Patterns"). Sharded pub/sub has no
// pattern form, so a watched pattern pulls in the sharded channel of every tag it matches:
// - Publishing side: the first publish of a tag on this shard (and again every few seconds,
//   announce_cache) is announced, once its reply says it is stored, to the master of the
//   tag's first segment S: the announce script adds the tag to S's registry (the sorted set
//   wsa:{S}:t:S, the form the candidates script reads) and SPUBLISHes "<seq> <ts> <tag>" on
//   wsa:{S}:new. Both live in S's slot, so one script does both atomically.
// - Subscribing side: a pattern whose first segment S is literal SSUBSCRIBEs wsa:{S}:new;
//   once that is up it reads S's registry (candidates script) and SSUBSCRIBEs each matching
//   tag's channel, and each announced tag's. A tag announced with seq N is read from the
//   history from N once its channel is up (its first messages may precede the channel), as
//   a channel that followed a migrated slot is; from then on it is an exact watch delivered
//   in the `patterns` scope, gap-free and in seq order by the same code.
// - Bounds: a pattern counts every pulled tag it matches, whoever pulled it in, and a tag is
//   pulled in while a pattern it matches counts fewer than --max-recovery-tags (so another
//   pattern's pulls may take a pattern past its bound). A tag none of them has room for is
//   left out (counted) and their subscribers get a `gap` notice. The announce cache holds
//   4096 tags per shard.
// - Bookkeeping: each segment keeps its pulled tags, each pattern its count of them and of
//   those whose channel is not up yet. A pulled channel going up or down walks its segment's
//   patterns, an unwatch its segment's pulled tags; a new pattern walks those and the tags
//   watched here for themselves.
// - A pattern's `sub` is answered once its segment's channel is up, its registry read, and
//   the channel of every pulled tag it matches up (its count at zero): what is published
//   after the answer reaches it.
// - The announce channel going down (its slot moved, a node dropped) may lose announces:
//   once back, the registry is read again and tags new to the pattern are read from the
//   start of their retained history.
// Patterns starting with a wildcard have no segment to watch: refused (pattern_refusal).
#include <algorithm>
#include <charconv>

#include "broker/cluster_pattern_names.h"
#include "broker/redis_broker.h"
#include "broker/redis_scripts.h"
#include "pubsub/tag.h"
#include "redis/resp_writer.h"
#include "util/check.h"

namespace wsa {

using namespace cluster_patterns;

namespace {

// The watched patterns of a segment (`patterns`) that match `tag`, as a range. Written by
// hand: clang 14 (the fuzz targets' compiler) cannot build std::views::filter with the
// libstdc++ 12 headers.
class matching_patterns {
 public:
  matching_patterns(const std::vector<std::string>& patterns, std::string_view tag)
      : patterns_(patterns), tag_(tag) {}

  class iterator {
   public:
    iterator(const matching_patterns& range, std::size_t at)
        : range_(&range), at_(range.next_match(at)) {}
    const std::string& operator*() const { return range_->patterns_[at_]; }
    iterator& operator++() {
      at_ = range_->next_match(at_ + 1);
      return *this;
    }
    bool operator==(const iterator& other) const { return at_ == other.at_; }

   private:
    const matching_patterns* range_;
    std::size_t at_;
  };

  iterator begin() const { return {*this, 0}; }
  iterator end() const { return {*this, patterns_.size()}; }
  bool empty() const { return next_match(0) == patterns_.size(); }

 private:
  std::size_t next_match(std::size_t at) const {
    while (at < patterns_.size() && !pattern_matches(patterns_[at], tag_)) {
      ++at;
    }
    return at;
  }

  const std::vector<std::string>& patterns_;
  std::string_view tag_;
};

}  // namespace

void redis_broker::start_cluster_patterns() {
  candidates_sha_ = cluster_->add_script(redis_candidates_script);
  announce_sha_ = cluster_->add_script(announce_script);
}

void redis_broker::report_gap(std::string_view tag, const exact_watch& w) {
  if (w.exact || !w.pulled) {
    results_.stream_gap(tag);
  }
  auto s = w.pulled ? cluster_segments_.find(first_segment(tag)) : cluster_segments_.end();
  if (s != cluster_segments_.end()) {
    for (const std::string& p : matching_patterns(s->second.patterns, tag)) {
      results_.stream_gap(p);
    }
  }
}

const char* redis_broker::pattern_refusal(std::string_view pattern, bool since) const {
  if (!cluster_) {
    return nullptr;
  }
  if (wildcard_first(pattern)) {
    return "patterns whose first segment is a wildcard are not served on Redis Cluster";
  }
  if (since) {
    return "recovery on a pattern (since) is not served on Redis Cluster (hello.features "
           "has no pattern-since); subscribe without since, or to the exact tags";
  }
  return nullptr;
}

// ---- the subscribing side ----

void redis_broker::cluster_watch_pattern(std::string_view pattern) {
  if (wildcard_first(pattern)) {
    return;  // refused by cluster_query_pattern
  }
  auto [it, added] = cluster_patterns_.try_emplace(std::string(pattern));
  if (!added) {
    return;
  }
  cluster_pattern& p = it->second;
  auto [s, new_segment] = cluster_segments_.try_emplace(std::string(first_segment(pattern)));
  s->second.patterns.emplace_back(pattern);
  // Tags other patterns of the segment pulled in flow to it too: they count against its
  // bound (and its `sub` waits for their channels like for its own).
  for (const std::string& tag : s->second.tags) {
    if (pattern_matches(pattern, tag)) {
      ++p.tags;
      // (a pulled tag stays in exact_ until it leaves the segment's tags)
      p.unconfirmed += exact_.find(tag)->second.confirmed ? 0 : 1;
    }
  }
  // Tags watched here for themselves flow to it at once, within its bound.
  for (auto& [tag, w] : exact_) {
    if (w.pulled || !pattern_matches(pattern, tag)) {
      continue;
    }
    if (p.tags >= options_.max_recovery_tags) {
      pattern_over(it->first, p);
      continue;
    }
    w.pulled = true;
    ++pulled_tags_;
    count_pulled(tag, w);
  }
  metrics_.redis_cluster_pattern_tags.set(pulled_tags_);
  if (new_segment) {
    cluster_->subscribe(announce_channel(s->first));  // on_announce_channel_state reads
  } else if (s->second.up) {
    read_registry(it->first, it->second, false);
  }
}

void redis_broker::cluster_unwatch_pattern(std::string_view pattern) {
  auto it = cluster_patterns_.find(pattern);
  if (it == cluster_patterns_.end()) {
    return;
  }
  const std::vector<std::pair<uint64_t, bool>> waiting = std::move(it->second.waiting);
  const std::string owned(pattern);  // (`pattern` may view the key erased here)
  cluster_patterns_.erase(it);
  auto s = cluster_segments_.find(first_segment(owned));
  if (s != cluster_segments_.end()) {
    cluster_segment& seg = s->second;
    std::erase(seg.patterns, owned);
    // The segment's pulled tags it matched that no other pattern matches leave (their
    // channel too, unless watched for themselves); the others stay counted by those others.
    std::vector<std::string> leaving;
    for (const std::string& tag : seg.tags) {
      if (pattern_matches(owned, tag) && matching_patterns(seg.patterns, tag).empty()) {
        leaving.push_back(tag);
      }
    }
    for (const std::string& tag : leaving) {
      seg.tags.erase(tag);
      --pulled_tags_;
      auto t = exact_.find(tag);
      WSA_ASSERT(t != exact_.end());  // a segment's tag is watched until it leaves both
      t->second.pulled = false;
      if (!t->second.exact) {
        channel_of(t->first);
        cluster_->unsubscribe(channel_scratch_);
        exact_.erase(t);
      }
    }
    if (seg.patterns.empty()) {
      cluster_->unsubscribe(announce_channel(s->first));
      cluster_segments_.erase(s);
    }
  }
  metrics_.redis_cluster_pattern_tags.set(pulled_tags_);
  for (const auto& [ticket, since] : waiting) {
    answer(ticket, tag_position{}, {});  // nobody needs the stream any more
  }
}

void redis_broker::cluster_query_pattern(std::string_view pattern, uint64_t ticket,
                                         bool since) {
  if (wildcard_first(pattern)) {
    // (WebSocket clients are told why before this: pattern_refusal.)
    metrics_.broker_errors.add();
    results_.query_failed(ticket, "unavailable");
    return;
  }
  auto it = cluster_patterns_.find(pattern);
  if (it == cluster_patterns_.end()) {
    answer(ticket, tag_position{}, {});  // not watched: nothing to wait for
    return;
  }
  cluster_pattern& p = it->second;
  if (cluster_pattern_flows(it->first, p)) {
    tag_position position;
    position.gap = since;
    answer(ticket, position, {});
    if (p.over) {
      results_.stream_gap(it->first);  // its subscribers do not get every tag it matches
    }
    return;
  }
  if (!cluster_->ready()) {
    answer_failed(ticket);
    return;
  }
  p.waiting.emplace_back(ticket, since);
  auto s = cluster_segments_.find(first_segment(pattern));
  if (s != cluster_segments_.end() && s->second.up && !p.read && !p.reading) {
    read_registry(it->first, p, false);  // an earlier read failed
  }
}

bool redis_broker::cluster_pattern_flows(std::string_view pattern,
                                         const cluster_pattern& p) const {
  auto s = cluster_segments_.find(first_segment(pattern));
  return s != cluster_segments_.end() && s->second.up && p.read && p.unconfirmed == 0;
}

void redis_broker::count_pulled(std::string_view tag, const exact_watch& w) {
  auto s = cluster_segments_.find(first_segment(tag));
  if (s == cluster_segments_.end()) {
    return;
  }
  s->second.tags.emplace(tag);
  for (const std::string& p : matching_patterns(s->second.patterns, tag)) {
    cluster_pattern& cp = cluster_patterns_.find(p)->second;
    ++cp.tags;
    cp.unconfirmed += w.confirmed ? 0 : 1;
  }
}

void redis_broker::pulled_channel(std::string_view tag, bool up) {
  auto s = cluster_segments_.find(first_segment(tag));
  if (s == cluster_segments_.end()) {
    return;
  }
  for (const std::string& p : matching_patterns(s->second.patterns, tag)) {
    cluster_pattern& cp = cluster_patterns_.find(p)->second;
    if (up) {
      // (counted when pulled in or the pattern came while it was not up, or when it went down)
      WSA_ASSERT(cp.unconfirmed > 0);
      --cp.unconfirmed;
    } else {
      ++cp.unconfirmed;
    }
  }
}

void redis_broker::answer_ready_patterns() {
  for (auto& [pattern, p] : cluster_patterns_) {
    if (p.waiting.empty() || !cluster_pattern_flows(pattern, p)) {
      continue;
    }
    const std::vector<std::pair<uint64_t, bool>> waiting = std::exchange(p.waiting, {});
    for (const auto& [ticket, since] : waiting) {
      tag_position position;
      position.gap = since;
      answer(ticket, position, {});
    }
    if (p.over) {
      results_.stream_gap(pattern);
    }
  }
}

void redis_broker::fail_pattern_waiters(cluster_pattern& p) {
  for (const auto& [ticket, since] : std::exchange(p.waiting, {})) {
    answer_failed(ticket);
  }
}

void redis_broker::pattern_over(std::string_view pattern, cluster_pattern& p) {
  metrics_.redis_cluster_pattern_tags_refused.add();
  if (!p.over) {
    p.over = true;
    if (p.waiting.empty()) {
      results_.stream_gap(pattern);  // (a waiting answer is followed by it)
    }
  }
}

void redis_broker::pull_tag(std::string_view tag, uint64_t seq, bool whole) {
  auto s = cluster_segments_.find(first_segment(tag));
  if (s == cluster_segments_.end()) {
    return;
  }
  auto existing = exact_.find(tag);
  if (existing != exact_.end() && existing->second.pulled) {
    return;  // flowing to the patterns already
  }
  bool wanted = false;
  bool room = false;
  for (const std::string& p : matching_patterns(s->second.patterns, tag)) {
    wanted = true;
    room = room || cluster_patterns_.find(p)->second.tags < options_.max_recovery_tags;
  }
  if (!wanted) {
    return;
  }
  if (!room) {
    for (const std::string& p : matching_patterns(s->second.patterns, tag)) {
      pattern_over(p, cluster_patterns_.find(p)->second);
    }
    return;
  }
  ++pulled_tags_;
  metrics_.redis_cluster_pattern_tags.set(pulled_tags_);
  if (existing != exact_.end()) {
    existing->second.pulled = true;  // its stream flows already
    count_pulled(existing->first, existing->second);
    return;
  }
  auto [it, added] = exact_.try_emplace(std::string(tag));
  exact_watch& w = it->second;
  w.exact = false;
  w.pulled = true;
  count_pulled(it->first, w);  // (before its subscription: unconfirmed)
  if (seq > 0 || whole) {
    // Its first messages may be published before its channel is up: read from the history
    // once it is (confirm_exact resyncs a known stream), in whichever epoch it is.
    w.known = true;
    w.epoch.clear();
    w.delivered = seq > 0 ? seq - 1 : 0;
  }
  subscribe(it->first, w);
}

// ---- the registry ----

void redis_broker::read_registry(std::string_view pattern, cluster_pattern& p, bool catch_up) {
  const std::string_view seg = first_segment(pattern);
  std::string* out = begin_command(seg);  // the slot of wsa:{S}, the registry's
  if (out == nullptr) {
    fail_pattern_waiters(p);
    return;
  }
  const std::string prefix = registry_prefix(seg);
  resp_array(*out, 11);
  resp_bulk(*out, "EVALSHA");
  resp_bulk(*out, candidates_sha_);
  resp_bulk(*out, "1");
  resp_bulk_concat(*out, {prefix, "t:", seg});  // (declared: routed and redirected by it)
  resp_bulk(*out, prefix);
  resp_bulk(*out, pattern);
  resp_bulk(*out, "0");
  resp_bulk(*out, "0");
  resp_bulk(*out, uint64_t{options_.max_recovery_tags});
  resp_bulk(*out, registry_cap());
  resp_bulk(*out, 4 * registry_cap());
  const uint64_t token = ++next_token_;
  commit_command({registry_cmd, 0, token});
  registry_reads_.push_back({token, std::string(pattern), catch_up});
  p.reading = true;
}

void redis_broker::on_registry_reply(const link_request& request, const resp_view* reply) {
  auto r = std::find_if(registry_reads_.begin(), registry_reads_.end(),
                        [&](const registry_read& x) { return x.token == request.token; });
  if (r == registry_reads_.end()) {
    return;
  }
  const registry_read read = std::move(*r);
  registry_reads_.erase(r);
  auto it = cluster_patterns_.find(read.pattern);
  if (it == cluster_patterns_.end()) {
    return;  // unwatched meanwhile
  }
  it->second.reading = false;
  if (reply == nullptr || !reply->is_array() || reply->size() < 1 ||
      (*reply)[0].type() != resp_type::integer) {
    note_error("pattern registry read failed", reply == nullptr ? "no answer" : reply->str());
    fail_pattern_waiters(it->second);  // read again at the next sub
    return;
  }
  for (std::size_t i = 1; i < reply->size(); ++i) {
    const std::string_view tag = (*reply)[i].str();
    if (is_valid_tag(tag) && pattern_matches(read.pattern, tag)) {
      pull_tag(tag, 0, read.catch_up);
    }
  }
  it = cluster_patterns_.find(read.pattern);  // (pull_tag may have added to the map)
  if ((*reply)[0].integer() != 0) {
    pattern_over(it->first, it->second);  // more tags than it may pull in
  }
  it->second.read = true;
  answer_ready_patterns();
}

bool redis_broker::on_announce_channel_state(std::string_view channel, bool up) {
  std::string_view seg;
  if (!announce_segment(channel, seg)) {
    return false;
  }
  auto s = cluster_segments_.find(seg);
  if (s == cluster_segments_.end()) {
    return true;
  }
  cluster_segment& segment = s->second;
  if (!up) {
    segment.lost = segment.lost || segment.up;
    segment.up = false;
    for (const std::string& p : segment.patterns) {
      fail_pattern_waiters(cluster_patterns_[p]);
    }
    return true;
  }
  segment.up = true;
  const bool catch_up = std::exchange(segment.lost, false);
  const std::vector<std::string> patterns = segment.patterns;  // (read_registry may fail)
  for (const std::string& p : patterns) {
    auto it = cluster_patterns_.find(p);
    if (it != cluster_patterns_.end() && (catch_up || !it->second.read)) {
      read_registry(it->first, it->second, catch_up);
    }
  }
  return true;
}

bool redis_broker::on_announce_channel(std::string_view channel, std::string_view payload) {
  std::string_view seg;
  if (!announce_segment(channel, seg)) {
    return false;
  }
  uint64_t seq = 0;
  int64_t ts = 0;
  const char* end = payload.data() + payload.size();
  auto [p1, e1] = std::from_chars(payload.data(), end, seq);
  const bool seq_ok = e1 == std::errc() && p1 != end && *p1 == ' ';
  auto [p2, e2] = seq_ok ? std::from_chars(p1 + 1, end, ts) : std::from_chars_result{p1, e1};
  const bool ok = seq_ok && e2 == std::errc() && p2 != end && *p2 == ' ' && seq > 0;
  const std::string_view tag =
      ok ? payload.substr(static_cast<std::size_t>(p2 + 1 - payload.data())) : "";
  if (!ok || !is_valid_tag(tag) || first_segment(tag) != seg) {
    note_error("malformed announce from Redis", channel);
    return true;
  }
  auto s = cluster_segments_.find(seg);
  if (s != cluster_segments_.end() && s->second.up) {
    pull_tag(tag, seq, false);
  }
  return true;
}

}  // namespace wsa

// What the Redis broker keeps in Redis, and the Lua scripts that change it atomically.
//
// Per exact tag T (the braces are a Redis Cluster hash tag: a tag's keys share one slot):
//   wsa:{T}:seq  HASH  e = epoch (8 hex digits), s = last seq, t = last publish time (Redis'
//                      TIME in ms; a message's ts is max(TIME, t), so within a tag ts never
//                      decreases even if Redis' clock steps back), r = until when the
//                      keys' TTLs and the registry entry need not be set again (the
//                      last setting + 1000 ms). Created, with a fresh epoch,
//                      whenever it is missing: a tag whose state Redis lost starts a new
//                      life (seq from 1, new epoch), so numbers of two lives never mix.
//                      g = the replication id of the master that last wrote it (Sentinel
//                      only; absent otherwise): written under another master, the tag
//                      takes a new epoch, its numbers and history go on (a failover may
//                      have lost the tail the old master had not replicated).
//   wsa:{T}:log  STREAM the history: entry id "<seq>-0", fields d = data, t = Redis time
//                      in ms. Trimmed to history_size entries (exact MAXLEN) and, when a
//                      max age is set, entries older than it are trimmed by the next
//                      publish and never returned by a query.
//   wsa:{T}      CHANNEL live messages; payload "<seq> <epoch> <ts> <data>".
//   wsa:{T}:idem:<K>  STRING "<seq> <ts>" of the first publish with idem key K, expiring
//                      after the idempotency window (PX): a publish that finds it publishes
//                      nothing and answers with it (protocol 1.1 `idem`).
// Pattern recovery (protocol 1.1) finds a pattern's tags without SCAN in a registry the
// publish script keeps, under a prefix (wsa:{reg}: on plain Redis and Sentinel; none on a
// cluster, which serves no patterns, so that a publish touches only its tag's slot):
//   <prefix>t:<S>  ZSET  the tags whose first segment is S, scored by a bound of their last
//                        publish time: refreshed at most once a second per tag (when the
//                        seq key's r has passed; r is the score written), to now + 1000, so
//                        the score is at or after every publish until the next refresh; at
//                        most <cap> (the lowest scores trimmed), expiring one second after
//                        the key TTL.
//   <prefix>segs   ZSET  the first segments (for patterns starting with a wildcard), added
//                        when a tag is new to its set; at most <cap>, the oldest added
//                        trimmed; expiring with the key TTL.
// Per refresh (at most one a second per tag): one ZADD and two PEXPIRE; a tag new to its
// set adds two ZCARD and a ZADD.
//   wsa:{T}:pres  HASH  protocol 1.1 presence: "<node>|<conn>" -> who (a JSON object), one
//                      field per connection subscribed to exactly T, on any node.
//   wsa:{T}:beat  HASH  "<node>" -> Unix ms until which the node's fields of T are alive: a
//                      node with members of T sets it to now + 2/3 --presence-ttl every
//                      third of the TTL; past it, whichever script runs first on T removes
//                      that node's fields and publishes their leaves.
//   (presence events travel on wsa:{T} too, as "P1 <n> <member><who>" (join) and
//    "P0 <n> <member><who>" (leave), n the member's length: never a number first, so no
//    message payload is mistaken for one.)
// Both keys expire after the key TTL (--redis-key-ttl, at least --history-max-age) and one
// second; every query (a `sub`, with or without `since`) sets it again, and so does a
// publish at most once a second per tag (when the seq key's r has passed, with the registry
// entry; a publish that had to create the history too), so a tag's keys live as long as the
// tag is used, and at least the key TTL after its last use. A query of a tag that has no
// keys creates the seq key (so that its epoch stays what the subscriber was told), with the
// same TTL: a `sub` to a tag that never had a message leaves nothing permanent. Keys that
// expire end the tag's life; its next publish starts a new one.
// A pattern subscription uses PSUBSCRIBE with a glob that matches a superset of the
// pattern's channels; the broker filters with pattern_matches. At most --redis-max-patterns
// globs per node: past it, patterns share the catch-all glob of every channel.
// Pure functions and constants: any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace wsa {

/// EVALSHA <sha> 2 <seq key> <log key> <channel> <data> <epoch candidate> <history size>
///   <max age ms> <key ttl ms> <replication id>  ->  [seq, ts]: the seq the message got and
///   its publication time (Unix ms, Redis' clock: the same for every node and every replay).
/// With an idem key: EVALSHA <sha> 3 <seq key> <log key> <idem key> <the same 7 arguments>
///   <window ms>  ->  [seq, ts], or [first seq, first ts, 1] when the idem key is still held
///   (nothing published). Either way three arguments more: <window ms> (unused without an
///   idem key), <registry prefix> ('': no registry), <registry cap>.
extern const std::string_view redis_publish_script;

/// Several publishes of one tag in one call (a loop turn's, redis_broker::flush_publishes),
/// each with the single script's effect, in order, as if published one after the other
/// (each its own seq, history entry, PUBLISH and idem key: other nodes see no difference),
/// with one state read, one TIME (every message of the call gets the same ts), one key TTL
/// and registry refresh:
/// EVALSHA <sha> <2 + I> <seq key> <log key> <idem key>... <channel> '' <epoch candidate>
///   <history size> <max age ms> <key ttl ms> <replication id> <window ms>
///   <registry prefix> <registry cap> then per message <data> <has idem: 1|''>
///   (ARGV as the publish script's, with the data's place empty)
///   ->  [seq1, ts1, dup1, seq2, ts2, dup2, ...]
/// where the I idem keys are those of the messages that have one, in order; dup 1: the idem
/// key was held (by an earlier publish, or one before it in the call), seq and ts are that
/// publish's and nothing was published.
extern const std::string_view redis_publish_batch_script;

/// EVALSHA <sha> 2 <seq key> <log key> <epoch candidate> <since present: 1|0> <since seq>
///   <since epoch> <max age ms> <key ttl ms> <max count> <max total bytes> <max message bytes>
///   <replication id> <since ts>
///   ->  [top, epoch, restart (1: since belongs to another life or is beyond top, so the
///        history is replayed from the start of this life), incomplete (1: messages were
///        left out), seq1, ts1, data1, seq2, ts2, data2, ...]
/// where the pairs are the oldest retained messages after `since` (after 0 on a restart),
/// at most <max count> of them and <max total bytes> of data in all; messages larger than
/// <max message bytes> (another node allowed them; this one cannot carry them) are left out.
/// <since ts> ('' : none) is a pattern recovery's, for a tag the client did not name: only
/// messages published at or after it are returned, and `incomplete` is set where such a
/// message may no longer be retained (the oldest retained is wanted and is not seq 1, or
/// nothing is retained and the last publish was at or after it).
extern const std::string_view redis_query_script;

/// EVALSHA <sha> 0 <registry prefix> <pattern> <has ts: 1|0> <ts> <limit> <cap> <budget>
///   ->  [over, tag1, tag2, ...]: the registered tags the pattern matches whose last publish
///   was at or after ts (all without ts; a score within a second of ts is checked against
///   the tag's t), at most <limit>; over = 1 when there were more, when a full registry may
///   have trimmed one (its lowest score at or after ts), or when more than <budget> registry
///   entries would have to be read.
extern const std::string_view redis_candidates_script;
inline constexpr std::string_view redis_registry_prefix = "wsa:{reg}:";
/// Protocol 1.1 presence of one tag, in one atomic step:
/// EVALSHA <sha> 2 <pres key> <beat key> <channel> <PUBLISH|SPUBLISH> <op> <node>
///   <alive ms> <key ttl ms> <limit> <max bytes> [<member> <who>]...
/// First, members of nodes whose beat passed leave (HDEL + a leave event each). Then by op:
///   j  the node's beat is renewed; each listed member not yet in joins (a join event)
///   s  the same, and the node's members of this tag not listed leave (a full resync)
///   r  only the beat (a refresh); returns 1 when the node's own beat had passed (its
///      members were removed: the node must send them again)
///   l  the listed member (its who may be empty) leaves, if it is in
///   q  -> [count, who...]: the exact member count and at most <limit> who objects, of at
///        most <max bytes> in all
extern const std::string_view redis_presence_script;

/// MQTT retained messages of the cluster, in one slot (on Redis Cluster too: the slot of
/// the hash tag {ret}, so that one script call keeps the bounds of the whole cluster):
///   wsa:{ret}:msgs   HASH  tag -> "<order> <ts> <stored>" (stored: data with its metadata,
///                          redis_meta.h); no TTL: kept until replaced or cleared
///   wsa:{ret}:state  HASH  n = last order, t = last time (ms), b = bytes of tags and values
///   wsa:ret          CHANNEL every change: "<tag> <order> <ts> <stored>", or "<tag> <order>
///                          <ts>" for a clear; on Redis Cluster the sharded channel
///                          wsa:{ret}:ch (SPUBLISH: in the keys' slot, so on their master)
/// EVALSHA <sha> 2 <msgs> <state> <tag> <stored ('': clear)> <max messages> <max bytes>
///   <channel> <PUBLISH|SPUBLISH>  ->  1 kept (or cleared), 0 refused (a new tag past the
///   bounds).
/// order grows by one per change and ts never decreases, so (ts, order) orders changes the
/// same on every node.
extern const std::string_view redis_retain_script;
inline constexpr std::string_view redis_retained_key = "wsa:{ret}:msgs";
inline constexpr std::string_view redis_retained_state_key = "wsa:{ret}:state";
inline constexpr std::string_view redis_retained_channel = "wsa:ret";
inline constexpr std::string_view redis_cluster_retained_channel = "wsa:{ret}:ch";

/// Splits "<order> <ts> <stored>" (a hash value, or a channel payload after its tag); a
/// clear on the channel has no stored part (`cleared`). False when malformed.
bool redis_parse_retained(std::string_view value, uint64_t& order, int64_t& ts_ms,
                          std::string_view& stored, bool& cleared);

inline constexpr std::string_view redis_key_prefix = "wsa:{";
inline constexpr std::string_view redis_seq_suffix = "}:seq";
inline constexpr std::string_view redis_log_suffix = "}:log";
inline constexpr std::string_view redis_channel_suffix = "}";
inline constexpr std::string_view redis_idem_infix = "}:idem:";
inline constexpr std::string_view redis_presence_suffix = "}:pres";
inline constexpr std::string_view redis_beat_suffix = "}:beat";
/// The glob of every tag's channel: serves the patterns past --redis-max-patterns.
inline constexpr std::string_view redis_catch_all_glob = "wsa:{*}";

/// The tag of a channel "wsa:{T}"; false for any other channel.
bool redis_channel_tag(std::string_view channel, std::string_view& tag);

/// A Redis glob matching at least every channel of `pattern`'s tags: wildcard segments
/// become `*`, glob metacharacters of literal parts are escaped.
void redis_pattern_glob(std::string_view pattern, std::string& out);

/// Splits a presence event payload "P1 <n> <member><who>" / "P0 ...". False when it is not
/// one (a live message's payload starts with a digit).
bool redis_parse_presence(std::string_view payload, bool& joined, std::string_view& member,
                          std::string_view& who);

/// Splits a live payload "<seq> <epoch> <ts> <data>". False when malformed.
bool redis_parse_live(std::string_view payload, uint64_t& seq, std::string_view& epoch,
                      int64_t& ts_ms, std::string_view& data);

}  // namespace wsa

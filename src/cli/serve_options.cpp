// The options of `wsagent serve`, in help order. To add one: a field in include/wsa/config.h
// (with its default), one call below under its group heading, a sample in
// tests/unit/cli/serve_options_test.cpp. The call gives the flag, the WSAGENT_* variable,
// the config-file key, the help entry and the default shown in it. See docs/architecture.md.
#include <limits>

#include "cli/endpoints.h"
#include "cli/serve.h"
#include "pubsub/tag.h"

namespace wsa {
namespace {

constexpr uint64_t kib = 1024;
constexpr uint64_t mib = 1024 * kib;
constexpr uint64_t gib = 1024 * mib;
constexpr uint64_t hour_ms = 3600 * 1000;
constexpr uint64_t day_s = 24 * 3600;
constexpr uint64_t u32_max = std::numeric_limits<uint32_t>::max();
constexpr time_unit ms = time_unit::milliseconds;
constexpr time_unit secs = time_unit::seconds;

bool set_node_id(config& c, std::string_view v, std::string& why) {
  // The id goes into every `hello` and into logs and metrics labels: keep it to characters
  // that need no escaping anywhere.
  if (v.size() > 64) {
    why = "node id '" + std::string(v) + "' is longer than 64 characters";
    return false;
  }
  for (char ch : v) {
    const bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                    (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '-' || ch == ':';
    if (!ok) {
      why = "bad node id '" + std::string(v) + "' (letters, digits, '.', '_', '-' and ':' only)";
      return false;
    }
  }
  c.node_id = std::string(v);
  return true;
}

// One of a few words, e.g. a log level: `parse` maps the word to the field's value.
template <class T>
option_setter word_setter(T& field, bool (*parse)(std::string_view, T&), std::string what,
                          std::string expected) {
  return [&field, parse, what, expected](std::string_view v, std::string& why) {
    if (!parse(v, field)) {
      why = "bad " + what + " '" + std::string(v) + "' (expected " + expected + ")";
      return false;
    }
    return true;
  };
}

// Free text a token must match (1..1024 characters).
option_setter text_setter(std::string& field) {
  return [&field](std::string_view v, std::string& why) {
    if (v.empty() || v.size() > 1024) {
      why = "expected 1 to 1024 characters";
      return false;
    }
    field = std::string(v);
    return true;
  };
}

constexpr refused_option refused[] = {
    {"hmac-secret",
     "secrets are not accepted on the command line (every user of the machine can read it, "
     "and shells keep it in their history); write the secret to a file readable only by "
     "wsagent and pass --hmac-secret-file FILE"},
};

}  // namespace

std::span<const refused_option> serve_refused_options() { return refused; }

// clang-format off
void declare_serve_options(option_set& o, config& c, std::string& config_file) {
  o.group("General");
  o.path({"config", "FILE",
          "Read options from FILE: one `name = value` per line, names as the long options "
          "below, `#` starts a comment line. Flags and WSAGENT_* variables override the file."},
         config_file);

  o.group("Network");
  o.value({"listen", "HOST:PORT",
           "Address to accept WebSocket and HTTP connections on: HOST:PORT, IPV4:PORT, "
           "[IPV6]:PORT, or :PORT for every IPv4 address. Port 0 picks a free port (the log "
           "says which)."},
          [&c](std::string_view v, std::string& why) { return parse_listen(v, c.listen, why); },
          c.listen.text());
  o.count({"shards", "N",
           "Shard threads, each with its own io_uring ring, listener and connections "
           "(0..1024). 0 starts one per CPU the process may run on."},
          c.shards, 0, 1024, c.shards == 0 ? "0 (one per CPU)" : "");
  o.flag({"no-pin", "",
          "Do not pin shard i to the i-th allowed CPU (useful when sharing the machine)."},
         c.pin_shards, true);
  o.value({"node-id", "ID",
           "Name of this node, sent to clients in `hello` and used in logs (up to 64 letters, "
           "digits, '.', '_', '-', ':'). Empty: the host name."},
          [&c](std::string_view v, std::string& why) { return set_node_id(c, v, why); },
          c.node_id.empty() ? "the host name" : c.node_id);

  o.group("Limits");
  o.size({"max-message-bytes", "SIZE",
          "Largest inbound WebSocket message, and largest body of POST /api/publish "
          "(1..64MiB). A client that sends more is closed with 1009."},
         c.max_message_bytes, 1, 64 * mib);
  o.count({"max-connections", "N",
           "Open client connections per node (1..4294967295); past it, new connections get "
           "HTTP 503."},
          c.max_connections, 1, u32_max);
  o.count({"max-tags-per-connection", "N",
           "Subscriptions one connection may hold (1..65536); a `sub` past it, or a `sub` or "
           "`unsub` listing more than twice this many tags (repeats included), gets `err "
           "bad_request` and changes nothing."},
          c.max_tags_per_connection, 1, 65536);
  o.size({"max-outbound-bytes", "SIZE",
          "Bytes queued to one slow client (1KiB..1GiB, at least --max-message-bytes); past it "
          "the client is closed with 4008 so that it cannot hold memory or slow the others."},
         c.max_outbound_bytes, kib, gib);
  o.size({"max-paused-input", "SIZE",
          "Bytes one connection may have waiting to be handled while it is not read (its "
          "answers unsent: they arrived before the pause took effect) (16KiB..1GiB); past it "
          "it is closed as a slow consumer (WebSocket 4008)."},
         c.max_paused_input_bytes, 16 * kib, gib);
  o.size({"max-header-bytes", "SIZE",
          "Largest HTTP request head (1KiB..1MiB); larger ones get 431. Tokens sent in an "
          "Authorization header or ?token= must fit in it."},
         c.max_header_bytes, kib, mib);
  o.duration({"handshake-timeout", "DURATION",
              "Time a new connection has to send a complete HTTP request head (1ms..1h; a bare "
              "number is milliseconds)."},
             c.handshake_timeout_ms, ms, 1, hour_ms);
  o.duration({"idle-timeout", "DURATION",
              "A client silent this long is pinged, and closed if it does not answer (0..24h; "
              "a bare number is milliseconds; 0 turns idle checks off). Checked once a second."},
             c.idle_timeout_ms, ms, 0, 24 * hour_ms);
  o.duration({"drain-delay", "DURATION",
              "On SIGTERM: answer /readyz with 503 this long first, still accepting and "
              "serving clients as usual, so that balancers stop sending new ones before the "
              "drain begins (0..1h; a bare number is milliseconds; 0: drain at once). SIGINT "
              "(Ctrl-C) drains at once. In Kubernetes: a few seconds, instead of a preStop "
              "sleep."},
             c.drain_delay_ms, ms, 0, hour_ms);
  o.duration({"drain-timeout", "DURATION",
              "On SIGTERM or SIGINT (after --drain-delay): stop accepting, close clients with "
              "1001, and exit within this time (0..1h; a bare number is milliseconds)."},
             c.drain_timeout_ms, ms, 0, hour_ms);
  o.duration({"drain-spread", "DURATION",
              "On SIGTERM or SIGINT: WebSocket and MQTT clients are told to go (WebSocket: "
              "`reconnect` with within_ms = this, then 1001) at random moments within this "
              "time rather than all at once, so that they do not all arrive at the other nodes "
              "together; until its moment a client is served as usual (0..1h, less than "
              "--drain-timeout; a bare number is milliseconds; 0: all at once)."},
             c.drain_spread_ms, ms, 0, hour_ms);
  o.count({"pub-rate", "N",
           "`pub` frames one connection may send per second, on average (0..4294967295; 0: no "
           "limit). Past it (and its burst) a `pub` gets `err rate_limited` and is not "
           "published; the connection stays open. POST /api/publish has the same limit per "
           "token (per connection with --no-auth), answered 429."},
          c.pub_rate, 0, u32_max);
  o.count({"pub-burst", "N",
           "`pub` frames one connection may send at once before --pub-rate applies "
           "(1..4294967295)."},
          c.pub_burst, 1, u32_max);
  o.count({"sub-rate", "N",
           "`sub` and `unsub` frames one connection may send per second, on average "
           "(0..4294967295; 0: no limit). Past it (and its burst) they get `err rate_limited`."},
          c.sub_rate, 0, u32_max);
  o.count({"sub-burst", "N",
           "`sub` and `unsub` frames one connection may send at once before --sub-rate applies "
           "(1..4294967295)."},
          c.sub_burst, 1, u32_max);
  o.count({"auth-rate", "N",
           "`auth` frames one connection may send per second, on average (0..4294967295; 0: no "
           "limit). Past it (and its burst) they get `err rate_limited` and the token in use "
           "stays."},
          c.auth_rate, 0, u32_max);
  o.count({"auth-burst", "N",
           "`auth` frames one connection may send at once before --auth-rate applies "
           "(1..4294967295)."},
          c.auth_burst, 1, u32_max);
  o.count({"invalid-frame-rate", "N",
           "WebSocket frames that carry no command (binary frames, text that is not a valid "
           "request, pongs not answering the server's idle ping) one connection may send per second, on average (0..4294967295; 0: "
           "no limit). Each gets its `err` (pongs: nothing); past this rate (and its burst) "
           "the connection is closed with 1008."},
          c.invalid_frame_rate, 0, u32_max);
  o.count({"invalid-frame-burst", "N",
           "Such frames one connection may send at once before --invalid-frame-rate applies "
           "(1..4294967295)."},
          c.invalid_frame_burst, 1, u32_max);
  o.count({"max-pending-recoveries", "N",
           "`sub` requests with `since` one connection may have waiting for their replay "
           "(1..1024); one more gets `err rate_limited`."},
          c.max_pending_recoveries, 1, 1024);
  o.count({"max-recovery-tags", "N",
           "Tags one pattern's `since` (protocol 1.1) replays, and known positions it may name "
           "(1..100000). Past it, `ok` carries the pattern in `gaps` (the client reloads); more "
           "known positions get `err bad_request`."},
          c.max_recovery_tags, 1, 100000);
  o.size({"max-shard-backlog", "SIZE",
          "Bytes one shard may have waiting for another beyond the ring between them "
          "(0..4GiB; 0: none, refuse as soon as the ring is full). Past it, publishes and "
          "subscriptions that would add to it get `err unavailable` (HTTP 503), and the "
          "Redis live stream is not read until it drains."},
         c.max_shard_backlog, 0, u32_max);
  o.size({"max-broker-backlog", "SIZE",
          "Redis broker: bytes of commands one shard may have queued or awaiting replies "
          "(per master on Redis Cluster; 64KiB..4GiB). Past it, publishes and subscriptions "
          "get `err unavailable` (HTTP 503) until Redis catches up."},
         c.max_broker_backlog, 64 * kib, u32_max);

  o.group("Broker");
  o.value({"broker", "URL",
           "`embedded` (one node, in process) or redis://[[USER]:PASSWORD@]HOST[:PORT][/DB] "
           "for many nodes sharing one Redis (port 6379 and database 0 by default; %-escape "
           "special characters in the password); "
           "redis-cluster://[[USER]:PASSWORD@]HOST[:PORT][,HOST[:PORT]...] (seed nodes) for "
           "Redis Cluster, "
           "redis-sentinel://[[USER]:PASSWORD@]HOST[:PORT][,...]/MASTER-NAME[/DB] (sentinels, "
           "port 26379 by default) for a Redis followed through Sentinel. Prefer "
           "WSAGENT_BROKER or the config file when the URL holds a password: the command line "
           "is visible to every user of the machine."},
          [&c](std::string_view v, std::string& why) { return parse_broker(v, c.broker, why); },
          c.broker.shown);
  o.count({"history-size", "N",
           "Messages kept per tag for clients recovering with `since` (0..1000000; 0 keeps "
           "none)."},
          c.history_size, 0, 1000000);
  o.duration({"history-max-age", "DURATION",
              "Also drop a tag's messages older than this, and forget tags idle that long (no "
              "subscriber, nothing retained; a forgotten tag starts again at seq 1 with a new "
              "epoch) (0..365d; a bare number is seconds; 0: no age limit)."},
             c.history_max_age_s, secs, 0, 365 * day_s);
  o.size({"history-max-bytes", "SIZE",
          "Embedded broker: memory for retained messages and tag state, all tags of the node "
          "together (64KiB..1TiB; each shard gets an equal share). Past it, idle tags are "
          "forgotten and the oldest messages dropped; a client recovering from a dropped "
          "position is told it has a gap. With Redis, history lives in Redis (see "
          "--history-size)."},
         c.history_max_bytes, 64 * kib, 1024 * gib);
  o.duration({"redis-key-ttl", "DURATION",
              "Redis broker: a tag's keys (its seq and its history) expire after this long "
              "without a publish or a `sub` to it, and the tag starts again at seq 1 with a new "
              "epoch (1s..365d, at least --history-max-age; a bare number is seconds)."},
             c.redis_key_ttl_s, secs, 1, 365 * day_s);
  o.count({"redis-max-patterns", "N",
           "Redis broker: distinct pattern subscriptions (PSUBSCRIBE) this node holds "
           "(1..100000). Past it, further patterns share one subscription to every tag's "
           "channel, filtered on the node: clients cannot make Redis test an unbounded number "
           "of patterns per publish."},
          c.redis_max_patterns, 1, 100000);
  o.count({"redis-wait-replicas", "N",
           "Redis broker: a publish is acknowledged (`ok`) only once this many replicas have "
           "it (Redis WAIT, once per batch); fewer within --redis-wait-timeout: `unavailable`. "
           "With Sentinel and N >= 1, an acknowledged message survives a failover to an "
           "up-to-date replica (0..16; 0: acknowledge on the master's reply)."},
          c.redis_wait_replicas, 0, 16);
  o.duration({"redis-wait-timeout", "DURATION",
              "How long a publish waits for --redis-wait-replicas (1ms..1h; a bare number is "
              "milliseconds). Commands behind a WAIT wait with it."},
             c.redis_wait_timeout_ms, ms, 1, hour_ms);
  o.size({"redis-max-reply-bytes", "SIZE",
          "Redis broker: the largest reply a Redis connection may read, in memory held for it "
          "(1MiB..4GiB). A larger one (a broken or hostile server; a history read of "
          "--history-size messages of --max-message-bytes must fit, with room to spare) drops "
          "the connection, logged, and it reconnects."},
         c.redis_max_reply_bytes, mib, u32_max);
  o.duration({"idempotency-window", "DURATION",
              "How long a `pub` (or POST /api/publish) with an `idem` key is remembered: a "
              "repeat of the tag and key within it is answered with the first one's seq and "
              "\"dup\":true and published no more (1s..24h; a bare number is milliseconds)."},
             c.idempotency_window_ms, ms, 1000, 24 * hour_ms);
  o.count({"idempotency-max-keys", "N",
           "Embedded broker: idem keys remembered, all tags of the node together (0..100000000; "
           "each shard gets an equal share). Past it the oldest key is forgotten before its "
           "window ends (counted). With Redis each key is a Redis key expiring after the "
           "window."},
          c.idempotency_max_keys, 0, 100000000);
  o.count({"presence-max-members", "N",
           "Members a `presence` answer lists at most (its count stays exact; 0..100000). "
           "Each listed member costs its `who` (up to about 1.2 KiB with a token's info) in "
           "the answer."},
          c.presence_max_members, 0, 100000);
  o.duration({"presence-ttl", "DURATION",
              "Redis broker: the connections of a node that stopped (crashed, killed, cut off "
              "from Redis) leave presence within this time; each node refreshes its presence "
              "a few times per TTL (1s..1h; a bare number is milliseconds)."},
             c.presence_ttl_ms, ms, 1000, hour_ms);

  o.group("Authentication");
  o.flag({"no-auth", "",
          "Development only: accept every client without a token and let it publish and "
          "subscribe to everything. Without it the server refuses to start unless --jwks or "
          "--hmac-secret-file gives a key; with it, keys are ignored."},
         c.no_auth);
  o.path({"jwks", "FILE",
          "JSON Web Key Set (RFC 7517) of Ed25519 public keys (`kty` OKP, `crv` Ed25519) that "
          "verify EdDSA tokens; several keys with distinct `kid` allow rotation. `wsagent "
          "keygen` writes one."},
         c.jwks_file);
  o.path({"hmac-secret-file", "FILE",
          "File holding the shared secret that verifies HS256 tokens (its bytes, a trailing "
          "newline removed). The secret itself is never accepted on the command line."},
         c.hmac_secret_file);
  o.duration({"auth-timeout", "DURATION",
              "Time a client connected without a token has to send its first `auth` frame "
              "(1ms..1h; a bare number is milliseconds)."},
             c.auth_timeout_ms, ms, 1, hour_ms);
  o.duration({"token-leeway", "DURATION",
              "Clock skew allowed when checking a token's `exp` and `nbf` (0..1h; a bare "
              "number is seconds)."},
             c.token_leeway_s, secs, 0, 3600);
  o.size({"max-token-bytes", "SIZE",
          "Longer tokens are refused without being decoded (64..64KiB)."},
         c.max_token_bytes, 64, 64 * kib);
  o.value({"jwt-audience", "AUDIENCE",
           "Refuse tokens whose `aud` claim (a string or an array of strings) does not hold "
           "AUDIENCE, e.g. this service's URL: tokens minted for another service do not work "
           "here. Unset: `aud` is not checked."},
          text_setter(c.jwt_audience));
  o.value({"jwt-issuer", "ISSUER",
           "Refuse tokens whose `iss` claim is not exactly ISSUER. Unset: `iss` is not "
           "checked."},
          text_setter(c.jwt_issuer));

  o.group("Observability");
  o.value({"log-level", "LEVEL",
           "Least severe log lines written to stderr: debug, info, warn or error. Metrics are "
           "served at GET /metrics, health at GET /healthz and GET /readyz on the --listen "
           "address."},
          word_setter(c.log_level, parse_log_level, "log level", "debug, info, warn or error"),
          log_level_name(c.log_level));
  o.value({"log-format", "FORMAT",
           "text: one logfmt line per event (key=value). json: one JSON object per line with "
           "the same fields (ts, level, shard, msg, then the event's own), for log collectors."},
          word_setter(c.log_format, parse_log_format, "log format", "text or json"),
          c.log_format == log_format::json ? "json" : "text");
  o.value({"stats-tag", "TAG",
           "Publish this node's counters (connections, subscriptions, messages and bytes in and "
           "out, slow-consumer closes, errors; in total and per shard) as one JSON message to TAG "
           "once a second, like Mosquitto's $SYS topics: dashboards subscribe to it like to any "
           "tag (with the usual permissions). Empty: off."},
          [&c](std::string_view v, std::string& why) {
            if (!v.empty() && !is_valid_tag(v)) {
              why = "'" + std::string(v) +
                    "' is not an exact tag (printable ASCII segments separated by '.', no "
                    "wildcard)";
              return false;
            }
            c.stats_tag = std::string(v);
            return true;
          });

  o.group("MQTT (docs/mqtt.md)");
  o.value({"mqtt-listen", "HOST:PORT",
           "Accept MQTT 3.1.1 and 5.0 over TCP on this address (same forms as --listen; 1883 "
           "is MQTT's port). The token is the CONNECT password. Off unless given."},
          [&c](std::string_view v, std::string& why) {
            c.mqtt_tcp = parse_listen(v, c.mqtt_listen, why);
            return c.mqtt_tcp;
          },
          "off");
  o.flag({"mqtt-ws", "",
          "Accept MQTT over WebSocket at GET /mqtt (subprotocol `mqtt`) on the --listen "
          "address, for browsers and MQTT.js. Off unless given."},
         c.mqtt_ws);
  o.size({"mqtt-max-packet-bytes", "SIZE",
          "Largest MQTT packet a client may send (16..256MiB), told to MQTT 5.0 clients; a "
          "larger one closes the connection (5.0: DISCONNECT 0x95)."},
         c.mqtt_max_packet_bytes, 16, 256 * mib);
  o.count({"mqtt-max-inflight", "N",
           "QoS 1 messages sent to one MQTT client and not yet acknowledged (1..65535); more "
           "wait in its queue."},
          c.mqtt_max_inflight, 1, 65535);
  o.count({"mqtt-max-queued", "N",
           "Messages waiting behind a full in-flight window per MQTT client (0..1000000); past "
           "it the client is closed as a slow consumer."},
          c.mqtt_max_pending, 0, 1000000);
  o.count({"mqtt-max-subscriptions", "N",
           "Topic filters one MQTT session may hold (1..65536); SUBACK refuses the next "
           "(0x97, 3.1.1: 0x80)."},
          c.mqtt_max_subscriptions, 1, 65536);
  o.count({"mqtt-max-sessions", "N",
           "Persistent MQTT sessions (clean session 0, 5.0 session expiry) a node keeps, "
           "connected or not (0..10000000); past it a CONNECT asking for one more is refused "
           "(CONNACK 3, 5.0: 0x97)."},
          c.mqtt_max_sessions, 0, 10000000);
  o.size({"mqtt-max-session-bytes", "SIZE",
          "Bytes of the persistent MQTT sessions a node keeps (records and keys; 0..64GiB), "
          "split among shards; past it a CONNECT asking for a new one is refused (CONNACK 3, "
          "5.0: 0x97). With --broker redis:// sessions live in Redis instead."},
         c.mqtt_max_session_bytes, 0, 64 * gib);
  o.size({"mqtt-max-will-bytes", "SIZE",
          "Largest will payload in a CONNECT (0..65535, MQTT's own maximum); a larger one is "
          "refused (CONNACK 3, 5.0: 0x97)."},
         c.mqtt_max_will_bytes, 0, 65535);
  o.count({"mqtt-retained-max", "N",
           "Retained MQTT messages a node keeps (0..10000000; each shard holds a copy); a "
           "retained PUBLISH for a new topic past it is published but not retained."},
          c.mqtt_retained_max, 0, 10000000);
  o.size({"mqtt-retained-max-bytes", "SIZE",
          "Bytes of retained MQTT messages (topics and payloads) a node keeps, per copy "
          "(0..16GiB); past it as for --mqtt-retained-max."},
         c.mqtt_retained_max_bytes, 0, 16 * gib);

  o.group("Web");
  o.path({"static", "DIR",
          "Serve the files of DIR under / beside /ws (web pages that use the server, e.g. "
          "demo/). Read once at startup, at most 10000 files, 16MiB each and 64MiB in all (more "
          "refuses to start); names starting with '.' and symbolic links are skipped; GET and "
          "HEAD only; dir/ serves dir/index.html; no listings; ETag with Cache-Control: "
          "no-cache."},
         c.static_dir);
}
// clang-format on

}  // namespace wsa

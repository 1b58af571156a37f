// HTTP/1.1 on a shard's connections (docs/protocol.md "HTTP on the same port"): request heads
// parsed in place (http/request.h), the admin endpoints (/healthz, /readyz, /metrics), the
// publish API (POST /api/publish, through the router), the --static files and the WebSocket
// upgrade, after which the connection belongs to the WebSocket v1 handler. Slow or garbage
// clients are bounded by the head size limit (431) and the handshake deadline (408).
// Requests are answered one at a time: a pipelined request is parsed only once the answer
// before it has been sent (the shard stops reading the connection meanwhile), so a client
// that pipelines and never reads holds at most one response. It acts on its connections
// only through conn_host. One per shard; shard thread only.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "handlers/api_tokens.h"
#include "http/static_files.h"
#include "json/command.h"
#include "obs/metrics.h"
#include "router/router.h"
#include "server/conn_host.h"
#include "wsa/config.h"

namespace wsa {

class node;
class token_gate;
class ws_v1_handler;
class mqtt_handler;
struct http_request;

class http_endpoints {
 public:
  /// `draining` is the shard's flag (readiness); `ws` takes upgraded connections, `mqtt`
  /// (null: --mqtt-ws is off) upgrades at /mqtt.
  http_endpoints(conn_host& host, router& r, token_gate& gate, command_parser& parser,
                 ws_v1_handler& ws, mqtt_handler* mqtt, const node& owner,
                 const bool& draining, shard_metrics& metrics);
  ~http_endpoints();
  http_endpoints(const http_endpoints&) = delete;
  http_endpoints& operator=(const http_endpoints&) = delete;

  /// A new connection: the handshake deadline starts.
  void on_open(conn& c);
  void on_bytes(conn& c, const char* data, std::size_t size);
  /// No complete request in time: 408.
  void on_deadline(conn& c);
  /// The node drains: a publish in flight is answered, an answer queued is sent, then the
  /// connection closes; an idle one closes now.
  void on_drain(conn& c);
  /// The connection left the open state, whoever ended it.
  void on_closed(conn& c);
  /// The publish of POST /api/publish ended: answer it (pipelined requests are read once
  /// the answer is sent).
  void on_published(conn& c, const publish_outcome& outcome);

 private:
  void on_input(conn& c, const char* data, std::size_t size);
  /// Handles one complete request; false when the connection stops reading HTTP.
  bool on_request(conn& c, const http_request& request, std::string_view body,
                  std::string_view rest);
  void respond(conn& c, int status, std::string_view content_type, std::string_view body);
  void respond_error(conn& c, int status, std::string_view reason,
                     std::string_view extra_headers = {});
  void respond_unauthorized(conn& c, std::string_view reason);
  /// An answer is queued: wait for the next request (true), or close once it is sent when
  /// the request asked to (false).
  bool answered(conn& c);
  /// GET /ws (to ws_v1) or GET /mqtt (to mqtt: MQTT over WebSocket, --mqtt-ws).
  void upgrade(conn& c, const http_request& request, std::string_view rest, conn_protocol to);
  /// The upgrade's token (Authorization: Bearer, else ?token=); false after answering 401.
  bool authenticate_upgrade(conn& c, const http_request& request);
  /// POST /api/publish; true while the connection goes on reading HTTP.
  bool publish(conn& c, const http_request& request, std::string_view body);
  /// The publish API's token check; the token's bucket, or null after answering 401.
  api_tokens::entry* api_token(conn& c, const http_request& request);
  /// 429 for a publish over the rate; true while the connection goes on reading HTTP.
  bool refuse_rate(conn& c);
  void queue_text(conn& c, const std::string& text);
  /// The --static file body of `answer`, made once per shard and shared by reference.
  frame* static_body(const static_files::answer_body& answer);

  conn_host& host_;
  router& router_;
  token_gate& gate_;
  command_parser& parser_;
  ws_v1_handler& ws_;
  mqtt_handler* mqtt_;
  const node& node_;
  const bool& draining_;
  shard_metrics& metrics_;
  const config& cfg_;
  const rate_limit pub_rate_;  // --pub-rate, --pub-burst: per token (per connection without auth)
  api_tokens tokens_;          // the publish API's verified tokens
  command command_;          // the API body parsed as a pub frame
  std::string api_frame_;    // POST /api/publish body as a pub frame (padded)
  std::string scratch_;
  std::string publish_answer_;  // {"seq":..,"ts":..}\n, kept for its capacity
  std::vector<frame*> static_bodies_;  // --static file bodies sent so far, by file index
};

}  // namespace wsa

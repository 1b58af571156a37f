// Text and JSON reports (see report.h). Field names are documented in README.md.
#include "report.h"

#include <string>

namespace wsa::loadgen {

namespace {

double ms(uint64_t ns) { return static_cast<double>(ns) / 1e6; }

struct derived {
  double window_s = 0;
  uint64_t expected = 0;
  int64_t loss = 0;
  double loss_pct = 0;
  double published_per_s = 0;
  double delivered_per_s = 0;
  bool server = false;
  double server_cpu_pct = 0;
  const char* server_cpu_source = "";
  int64_t rss_per_conn = 0;
};

derived derive(const options& opt, const run_result& r, const server_samples& srv) {
  derived d;
  d.window_s = static_cast<double>(r.window_ns) / 1e9;
  d.expected = expected_deliveries(r);
  // With --pubs 0 the server stamps and sends by itself: nothing is expected, loss unknown.
  d.loss = opt.pubs == 0 ? 0
                         : static_cast<int64_t>(d.expected) - static_cast<int64_t>(r.received_window);
  d.loss_pct = d.expected == 0 ? 0 : 100.0 * static_cast<double>(d.loss) / d.expected;
  if (d.window_s > 0) {
    d.published_per_s = r.published_window / d.window_s;
    d.delivered_per_s = r.delivered_window / d.window_s;
  }
  d.server = srv.pid != 0 && srv.at_start.ok && srv.at_end.ok;
  if (d.server && srv.at_end.t_ns > srv.at_start.t_ns) {
    // task-clock when both ends have it: on a shared core /proc/PID/stat charges a woken
    // process for the time until it gets the CPU (see task_clock.h).
    bool tc = srv.at_start.has_task_clock && srv.at_end.has_task_clock;
    uint64_t used = tc ? srv.at_end.task_clock_ns - srv.at_start.task_clock_ns
                       : srv.at_end.cpu_ns - srv.at_start.cpu_ns;
    d.server_cpu_pct = 100.0 * static_cast<double>(used) /
                       static_cast<double>(srv.at_end.t_ns - srv.at_start.t_ns);
    d.server_cpu_source = tc ? "task-clock" : "/proc/PID/stat";
  }
  if (d.server && srv.before.ok && r.conns_ready > 0) {
    d.rss_per_conn = (static_cast<int64_t>(srv.at_end.rss_kib) -
                      static_cast<int64_t>(srv.before.rss_kib)) *
                     1024 / static_cast<int64_t>(r.conns_ready);
  }
  return d;
}

void text_latency(std::FILE* out, const char* label, const histogram& h, const char* note) {
  if (h.count() == 0) {
    std::fprintf(out, "  %-12s no samples\n", label);
    return;
  }
  std::fprintf(out,
               "  %-12s p50 %.3f  p90 %.3f  p99 %.3f  p99.9 %.3f  max %.3f  mean %.3f ms"
               "  (%llu samples%s)\n",
               label, ms(h.percentile(50)), ms(h.percentile(90)), ms(h.percentile(99)),
               ms(h.percentile(99.9)), ms(h.max()), h.mean() / 1e6,
               static_cast<unsigned long long>(h.count()), note);
}

void json_latency(std::FILE* out, const char* key, const histogram& h) {
  std::fprintf(out,
               "\"%s\":{\"count\":%llu,\"p50\":%.4f,\"p90\":%.4f,\"p99\":%.4f,\"p999\":%.4f,"
               "\"max\":%.4f,\"mean\":%.4f,\"min\":%.4f}",
               key, static_cast<unsigned long long>(h.count()), ms(h.percentile(50)),
               ms(h.percentile(90)), ms(h.percentile(99)), ms(h.percentile(99.9)), ms(h.max()),
               h.mean() / 1e6, ms(h.min()));
}

std::string json_escape(const std::string& s) {
  std::string o;
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      o += '\\';
      o += ch;
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      o += buf;
    } else {
      o += ch;
    }
  }
  return o;
}

}  // namespace

uint64_t expected_deliveries(const run_result& r) {
  uint64_t e = 0;
  for (std::size_t t = 0; t < r.pub_window_per_tag.size() && t < r.subs_per_tag.size(); ++t) {
    e += r.pub_window_per_tag[t] * r.subs_per_tag[t];
  }
  return e;
}

void print_text(std::FILE* out, const options& opt, const run_result& r,
                const server_samples& srv) {
  derived d = derive(opt, r, srv);
  using ull = unsigned long long;
  std::fprintf(out, "wsagent-loadgen %s  proto %s  %s\n", scenario_name(opt.scenario),
               proto_name(opt.proto), opt.url.c_str());
  std::fprintf(out, "  %-12s %llu/%llu connections ready in %.2f s (%llu failed), %u process%s\n",
               "setup", static_cast<ull>(r.conns_ready), static_cast<ull>(r.conns_attempted),
               static_cast<double>(r.setup_ns) / 1e9, static_cast<ull>(r.conns_failed), r.procs,
               r.procs == 1 ? "" : "es");
  if (opt.scenario == scenario_kind::fanout) {
    std::fprintf(out, "  %-12s %u subs over %u tag%s, %u pub%s, %u B payload, %s, warmup %.1f s, "
                 "window %.2f s\n", "workload", opt.subs, opt.tags, opt.tags == 1 ? "" : "s",
                 opt.pubs, opt.pubs == 1 ? "" : "s", opt.size,
                 opt.rate > 0 ? ("rate " + std::to_string(static_cast<uint64_t>(opt.rate)) +
                                 " msgs/s").c_str()
                              : "saturation",
                 static_cast<double>(opt.warmup_ns) / 1e9, d.window_s);
    std::fprintf(out, "  %-12s %llu msgs (%.0f msgs/s)%s\n", "published",
                 static_cast<ull>(r.published_window), d.published_per_s,
                 opt.acks > 0 ? (", " + std::to_string(r.acked) + " acked").c_str() : "");
    std::fprintf(out, "  %-12s %llu msgs arrived in the window (%.0f msgs/s)\n", "delivered",
                 static_cast<ull>(r.delivered_window), d.delivered_per_s);
    std::fprintf(out, "  %-12s ", "loss");
    if (opt.pubs == 0) {
      std::fprintf(out, "not measured (--pubs 0)  received %llu", static_cast<ull>(r.received_window));
    } else {
      std::fprintf(out, "expected %llu  received %llu  loss %lld (%.4f%%)",
                   static_cast<ull>(d.expected), static_cast<ull>(r.received_window),
                   static_cast<long long>(d.loss), d.loss_pct);
    }
    std::fprintf(out, "  gaps %llu  reordered %llu  malformed %llu\n", static_cast<ull>(r.gaps),
                 static_cast<ull>(r.reordered), static_cast<ull>(r.malformed));
    text_latency(out, "latency", r.latency,
                 opt.pubs == 0  ? ", from the server's stamp"
                 : opt.rate > 0 ? ", from intended send time"
                                : ", from enqueue time");
  } else if (opt.scenario == scenario_kind::conns) {
    std::fprintf(out, "  %-12s %llu idle subscribed connections held %.2f s, %.0f setups/s\n",
                 "conns", static_cast<ull>(r.conns_ready), d.window_s,
                 r.setup_ns > 0 ? r.conns_ready / (static_cast<double>(r.setup_ns) / 1e9) : 0);
  } else {
    std::fprintf(out, "  %-12s started %llu  ok %llu  failed %llu  rate %.1f/s (asked %.1f/s), "
                 "replayed msgs %llu\n", "cycles", static_cast<ull>(r.cycles_started),
                 static_cast<ull>(r.cycles_ok), static_cast<ull>(r.cycles_failed),
                 d.window_s > 0 ? r.cycles_window / d.window_s : 0, opt.rate,
                 static_cast<ull>(r.replayed));
    text_latency(out, "handshake", r.handshake, "");
    text_latency(out, "subscribed", r.subscribe, "");
    text_latency(out, "cycle", r.cycle, "");
  }
  std::fprintf(out, "  %-12s cpu %.1f%% of one core (busiest process %.1f%%), peak rss %.1f MiB, "
               "%.1f msgs/recv, %.1f recvs/turn\n", "loadgen", r.cpu_pct(), r.cpu_pct_max,
               r.max_rss_kib / 1024.0,
               r.recv_cqes == 0 ? 0.0 : static_cast<double>(r.received) / r.recv_cqes,
               r.loop_turns == 0 ? 0.0 : static_cast<double>(r.recv_cqes) / r.loop_turns);
  if (d.server) {
    std::fprintf(out, "  %-12s cpu %.1f%% (%s)  rss %.1f MiB (before %.1f MiB)  peak %.1f MiB",
                 "server", d.server_cpu_pct, d.server_cpu_source, srv.at_end.rss_kib / 1024.0,
                 srv.before.rss_kib / 1024.0, srv.at_end.hwm_kib / 1024.0);
    if (opt.scenario == scenario_kind::conns) {
      std::fprintf(out, "  rss/conn %lld B", static_cast<long long>(d.rss_per_conn));
    }
    std::fprintf(out, "\n");
  }
  std::fprintf(out,
               "  %-12s connect %llu  handshake %llu  timeouts %llu  disconnects %llu  "
               "err frames %llu%s%s\n",
               "errors", static_cast<ull>(r.connect_errors), static_cast<ull>(r.handshake_errors),
               static_cast<ull>(r.timeouts), static_cast<ull>(r.disconnects),
               static_cast<ull>(r.err_frames), r.first_error.empty() ? "" : "\n  first error: ",
               r.first_error.c_str());
}

void print_json(std::FILE* out, const options& opt, const run_result& r,
                const server_samples& srv) {
  derived d = derive(opt, r, srv);
  using ull = unsigned long long;
  std::fprintf(out, "{\"scenario\":\"%s\",\"proto\":\"%s\",\"url\":\"%s\",",
               scenario_name(opt.scenario), proto_name(opt.proto), json_escape(opt.url).c_str());
  std::fprintf(out,
               "\"subs\":%u,\"tags\":%u,\"pubs\":%u,\"size\":%u,\"rate\":%.3f,\"pub_rate\":%.3f,"
               "\"acks\":%u,\"qos\":%u,\"warmup_s\":%.3f,\"duration_s\":%.3f,\"procs\":%u,",
               opt.subs, opt.tags, opt.pubs, opt.size, opt.rate, opt.pub_rate, opt.acks, opt.qos,
               static_cast<double>(opt.warmup_ns) / 1e9, static_cast<double>(opt.duration_ns) / 1e9,
               r.procs);
  std::fprintf(out,
               "\"conns_attempted\":%llu,\"conns_ready\":%llu,\"conns_failed\":%llu,"
               "\"subs_ready\":%llu,\"pubs_ready\":%llu,\"setup_s\":%.4f,\"window_s\":%.4f,"
               "\"drain_s\":%.4f,",
               static_cast<ull>(r.conns_attempted), static_cast<ull>(r.conns_ready),
               static_cast<ull>(r.conns_failed), static_cast<ull>(r.subs_ready),
               static_cast<ull>(r.pubs_ready), static_cast<double>(r.setup_ns) / 1e9, d.window_s,
               static_cast<double>(r.drain_ns) / 1e9);
  std::fprintf(out,
               "\"published\":%llu,\"published_per_s\":%.1f,\"acked\":%llu,\"expected\":%llu,"
               "\"received\":%llu,\"loss\":%lld,\"loss_pct\":%.6f,\"delivered\":%llu,"
               "\"delivered_per_s\":%.1f,\"gaps\":%llu,\"reordered\":%llu,\"malformed\":%llu,"
               "\"received_total\":%llu,\"published_total\":%llu,\"latency_from\":\"%s\",",
               static_cast<ull>(r.published_window), d.published_per_s,
               static_cast<ull>(r.acked), static_cast<ull>(d.expected),
               static_cast<ull>(r.received_window), static_cast<long long>(d.loss), d.loss_pct,
               static_cast<ull>(r.delivered_window), d.delivered_per_s, static_cast<ull>(r.gaps),
               static_cast<ull>(r.reordered), static_cast<ull>(r.malformed),
               static_cast<ull>(r.received), static_cast<ull>(r.published),
               opt.pubs == 0 ? "server" : opt.rate > 0 ? "intended" : "enqueued");
  json_latency(out, "latency_ms", r.latency);
  std::fprintf(out,
               ",\"cycles_started\":%llu,\"cycles_ok\":%llu,\"cycles_failed\":%llu,"
               "\"cycles_per_s\":%.2f,\"replayed\":%llu,",
               static_cast<ull>(r.cycles_started), static_cast<ull>(r.cycles_ok),
               static_cast<ull>(r.cycles_failed),
               d.window_s > 0 ? r.cycles_window / d.window_s : 0, static_cast<ull>(r.replayed));
  json_latency(out, "handshake_ms", r.handshake);
  std::fputc(',', out);
  json_latency(out, "subscribe_ms", r.subscribe);
  std::fputc(',', out);
  json_latency(out, "cycle_ms", r.cycle);
  std::fprintf(out,
               ",\"loadgen_cpu_pct\":%.2f,\"loadgen_cpu_pct_max_proc\":%.2f,"
               "\"loadgen_peak_rss_kib\":%llu,\"recv_cqes\":%llu,\"loop_turns\":%llu,",
               r.cpu_pct(), r.cpu_pct_max, static_cast<ull>(r.max_rss_kib),
               static_cast<ull>(r.recv_cqes), static_cast<ull>(r.loop_turns));
  std::fprintf(out,
               "\"errors\":{\"connect\":%llu,\"handshake\":%llu,\"timeouts\":%llu,"
               "\"disconnects\":%llu,\"err_frames\":%llu,\"first\":\"%s\"}",
               static_cast<ull>(r.connect_errors), static_cast<ull>(r.handshake_errors),
               static_cast<ull>(r.timeouts), static_cast<ull>(r.disconnects),
               static_cast<ull>(r.err_frames), json_escape(r.first_error).c_str());
  if (d.server) {
    std::fprintf(out,
                 ",\"server\":{\"pid\":%d,\"cpu_pct\":%.2f,\"cpu_source\":\"%s\","
                 "\"rss_kib_before\":%llu,"
                 "\"rss_kib_start\":%llu,\"rss_kib\":%llu,\"peak_rss_kib\":%llu,"
                 "\"rss_per_conn_bytes\":%lld}",
                 srv.pid, d.server_cpu_pct, d.server_cpu_source,
                 static_cast<ull>(srv.before.rss_kib),
                 static_cast<ull>(srv.at_start.rss_kib), static_cast<ull>(srv.at_end.rss_kib),
                 static_cast<ull>(srv.at_end.hwm_kib), static_cast<long long>(d.rss_per_conn));
  } else {
    std::fprintf(out, ",\"server\":null");
  }
  std::fprintf(out, "}\n");
}

}  // namespace wsa::loadgen

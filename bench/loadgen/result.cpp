// Serialisation (same binary on both ends of a pipe, so a flat little-endian layout is
// enough) and merging of worker results.
#include "result.h"

#include <cstring>

namespace wsa::loadgen {

namespace {

constexpr uint64_t magic = 0x314e45474441'4c57ull;  // "WLADGEN1"-ish tag against mix-ups

void put(std::string& out, uint64_t v) { out.append(reinterpret_cast<const char*>(&v), 8); }

void put_vec(std::string& out, const std::vector<uint64_t>& v) {
  put(out, v.size());
  out.append(reinterpret_cast<const char*>(v.data()), v.size() * 8);
}

void put_hist(std::string& out, const histogram& h) {
  uint64_t nonzero = 0;
  for (uint64_t c : h.buckets()) {
    nonzero += c != 0;
  }
  put(out, nonzero);
  for (std::size_t i = 0; i < h.buckets().size(); ++i) {
    if (h.buckets()[i] != 0) {
      put(out, i);
      put(out, h.buckets()[i]);
    }
  }
  put(out, h.count());
  put(out, h.sum());
  put(out, h.raw_min());
  put(out, h.max());
}

struct reader {
  const char* p;
  std::size_t n;
  bool ok = true;

  uint64_t get() {
    if (n < 8) {
      ok = false;
      return 0;
    }
    uint64_t v;
    std::memcpy(&v, p, 8);
    p += 8;
    n -= 8;
    return v;
  }

  void get_vec(std::vector<uint64_t>& v) {
    uint64_t size = get();
    if (!ok || size > n / 8) {
      ok = false;
      return;
    }
    v.resize(size);
    std::memcpy(v.data(), p, size * 8);
    p += size * 8;
    n -= size * 8;
  }

  void get_hist(histogram& h) {
    uint64_t nonzero = get();
    for (uint64_t k = 0; ok && k < nonzero; ++k) {
      uint64_t i = get();
      uint64_t c = get();
      if (i >= histogram::bucket_count) {
        ok = false;
        return;
      }
      h.set_raw(i, c);
    }
    uint64_t count = get();
    uint64_t sum = get();
    uint64_t min = get();
    uint64_t max = get();
    h.set_summary(count, sum, min, max);
  }
};

}  // namespace

void run_result::serialize(std::string& out) const {
  put(out, magic);
#define WSA_LOADGEN_PUT(name) put(out, name);
  WSA_LOADGEN_COUNTERS(WSA_LOADGEN_PUT)
#undef WSA_LOADGEN_PUT
  put_vec(out, pub_window_per_tag);
  put_vec(out, subs_per_tag);
  put_hist(out, latency);
  put_hist(out, handshake);
  put_hist(out, subscribe);
  put_hist(out, cycle);
  put(out, first_error.size());
  out.append(first_error);
}

bool run_result::deserialize(const char* p, std::size_t n) {
  reader r{p, n};
  if (r.get() != magic) {
    return false;
  }
#define WSA_LOADGEN_GET(name) name = r.get();
  WSA_LOADGEN_COUNTERS(WSA_LOADGEN_GET)
#undef WSA_LOADGEN_GET
  r.get_vec(pub_window_per_tag);
  r.get_vec(subs_per_tag);
  r.get_hist(latency);
  r.get_hist(handshake);
  r.get_hist(subscribe);
  r.get_hist(cycle);
  uint64_t len = r.get();
  if (!r.ok || len > r.n) {
    return false;
  }
  first_error.assign(r.p, len);
  procs = 1;
  cpu_pct_max = cpu_pct();
  return true;
}

void run_result::merge(const run_result& o) {
  double self_max = procs == 0 ? 0 : cpu_pct_max;
  uint64_t rss = max_rss_kib > o.max_rss_kib ? max_rss_kib : o.max_rss_kib;
  uint64_t setup = setup_ns > o.setup_ns ? setup_ns : o.setup_ns;
  uint64_t drain = drain_ns > o.drain_ns ? drain_ns : o.drain_ns;
  uint64_t window = window_ns > o.window_ns ? window_ns : o.window_ns;
#define WSA_LOADGEN_ADD(name) name += o.name;
  WSA_LOADGEN_COUNTERS(WSA_LOADGEN_ADD)
#undef WSA_LOADGEN_ADD
  // Not sums: the processes ran side by side over the same window.
  max_rss_kib = rss;
  setup_ns = setup;
  drain_ns = drain;
  window_ns = window;
  procs += o.procs;
  cpu_pct_max = self_max > o.cpu_pct_max ? self_max : o.cpu_pct_max;
  auto add_vec = [](std::vector<uint64_t>& a, const std::vector<uint64_t>& b) {
    if (a.size() < b.size()) {
      a.resize(b.size(), 0);
    }
    for (std::size_t i = 0; i < b.size(); ++i) {
      a[i] += b[i];
    }
  };
  add_vec(pub_window_per_tag, o.pub_window_per_tag);
  add_vec(subs_per_tag, o.subs_per_tag);
  latency.merge(o.latency);
  handshake.merge(o.handshake);
  subscribe.merge(o.subscribe);
  cycle.merge(o.cycle);
  if (first_error.empty()) {
    first_error = o.first_error;
  }
}

}  // namespace wsa::loadgen

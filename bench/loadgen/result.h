// What one worker process measured, and how the parent merges workers. Each worker fills
// its own run_result on its loop thread, serialises it into its result pipe at the end; the
// parent deserialises and merges. Counters are plain integers: one writer each.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "histogram.h"

namespace wsa::loadgen {

// Every plain counter, in one list so that serialisation and merging cannot forget one.
#define WSA_LOADGEN_COUNTERS(X)                                                            \
  X(conns_attempted) /* connections this run opened (setup phase) */                       \
  X(conns_ready)     /* ... that completed the handshake and subscription */               \
  X(conns_failed)                                                                          \
  X(subs_ready)                                                                            \
  X(pubs_ready)                                                                            \
  X(published)        /* messages written, whole run */                                    \
  X(published_window) /* messages stamped inside the measured window */                    \
  X(received)         /* deliveries, whole run */                                          \
  X(received_window)  /* deliveries of messages stamped inside the window */               \
  X(delivered_window) /* deliveries that arrived inside the window (throughput) */         \
  X(gaps)             /* missing sequence numbers seen by subscribers */                   \
  X(reordered)        /* a sequence number at or below one already seen */                 \
  X(malformed)        /* deliveries whose stamp could not be read */                       \
  X(acked)            /* publishes acknowledged (--acks) */                                \
  X(err_frames)       /* `err` frames received */                                          \
  X(disconnects)      /* ready connections the server closed during the run */             \
  X(connect_errors)                                                                        \
  X(handshake_errors)                                                                      \
  X(timeouts)                                                                              \
  X(cycles_started)                                                                        \
  X(cycles_ok)                                                                             \
  X(cycles_failed)                                                                         \
  X(cycles_window) /* cycles completed that started inside the window */                   \
  X(replayed)      /* messages received by churn connections (recovery through since) */   \
  X(cpu_ns)        /* getrusage user+system over the window */                             \
  X(window_ns)     /* wall time of that window */                                          \
  X(max_rss_kib)   /* the load generator's own peak RSS (max over processes) */            \
  X(setup_ns)      /* first connect to last ready (max over processes) */                  \
  X(drain_ns)      /* time spent draining after the window (max over processes) */         \
  X(recv_cqes)     /* receive completions, whole run: messages per receive = batching */  \
  X(loop_turns)    /* event loop iterations, whole run */

struct run_result {
#define WSA_LOADGEN_DECLARE(name) uint64_t name = 0;
  WSA_LOADGEN_COUNTERS(WSA_LOADGEN_DECLARE)
#undef WSA_LOADGEN_DECLARE

  uint32_t procs = 0;
  double cpu_pct_max = 0;  // busiest process, % of one core
  std::vector<uint64_t> pub_window_per_tag;
  std::vector<uint64_t> subs_per_tag;
  histogram latency;    // publish (stamp) -> receive
  histogram handshake;  // churn: connect start -> 101 (or CONNACK)
  histogram subscribe;  // churn: connect start -> subscription acknowledged
  histogram cycle;      // churn: connect start -> closed
  std::string first_error;

  void serialize(std::string& out) const;
  bool deserialize(const char* p, std::size_t n);
  void merge(const run_result& o);
  double cpu_pct() const { return window_ns == 0 ? 0 : 100.0 * cpu_ns / window_ns; }
};

}  // namespace wsa::loadgen

// One load-generating process: a single-threaded io_uring loop that opens its share of the
// scenario's connections (every K-th), reports "ready" to the parent, waits for the
// parent's start time, runs the workload, drains, and writes its run_result to the parent.
// Everything here runs on the worker's only thread.
//
// Loop turn: submit + wait (bounded by the next deadline) -> reap completions (recv, send,
// connect, control) -> give receive buffers back -> phase work (connect more, pace
// publishers, start churn cycles, timers) -> flush: one send per connection with output.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "conn.h"
#include "options.h"
#include "payload.h"
#include "result.h"
#include "uring.h"

namespace wsa::loadgen {

// Worker -> parent once every setup connection is ready or failed.
struct ready_msg {
  uint64_t magic = 0x5245414459ull;
  uint64_t ready = 0;
  uint64_t failed = 0;
  uint64_t subs_ready = 0;
  uint64_t pubs_ready = 0;
  char error[200] = {};
};

// Parent -> worker: the run's absolute CLOCK_MONOTONIC times; start == 0 aborts.
struct control_msg {
  uint64_t start = 0;
  uint64_t warm_end = 0;
  uint64_t end = 0;
};

class worker {
 public:
  worker(const options& opt, uint32_t index, uint32_t count, int ctrl_fd, int result_fd);
  // Runs to the end; returns the process exit status.
  int run();

 private:
  enum class phase : uint8_t { setup, wait_start, running, draining, done };

  struct publisher {
    uint32_t slot = 0;
    uint32_t global = 0;
    std::vector<uint32_t> tags;
    std::vector<uint32_t> seqs;
    uint32_t cursor = 0;
    uint64_t k = 0;  // messages written
    bool done = false;
    // --window: deliveries this process's subscribers owe for this publisher's messages.
    uint64_t owed = 0;
    uint64_t window_deliveries = 0;  // --window x local subscribers per tag of its tags
  };

  // worker.cpp: lifecycle and loop
  bool prepare(std::string& err);
  void turn_phases(uint64_t now);
  uint64_t next_wake(uint64_t now) const;
  void finish_window(uint64_t now);
  bool drained(uint64_t now) const;
  void send_ready();
  void send_result();
  void periodic(uint64_t now);

  // worker_io.cpp: sockets and completions
  uint32_t take_slot(conn_role role, uint32_t global, uint32_t tag);
  void open_conn(uint32_t slot, uint32_t src_index);
  void on_cqe(const io_uring_cqe* cqe);
  void on_connect(uint32_t slot, int res);
  void on_recv(uint32_t slot, const io_uring_cqe* cqe);
  void on_send(uint32_t slot, int res);
  void on_control(int res);
  void arm_recv(uint32_t slot);
  void mark_dirty(uint32_t slot);
  void flush();
  void kill(uint32_t slot);
  void maybe_release(uint32_t slot);
  void peer_closed(uint32_t slot, int res);
  void fail(uint32_t slot, uint64_t& counter, std::string_view what);
  void note_error(std::string_view what);

  // worker_recv.cpp: the receive path per frame, and the deliveries' fast path
  struct ws_events;  // what ws_reader reports, for one connection
  void on_stream(uint32_t slot, char* data, std::size_t len);
  bool on_mqtt_stream(uint32_t slot, byte_buffer& carry, char* data, std::size_t len);
  bool on_ws_message(uint32_t slot, uint8_t opcode, char* p, std::size_t n);
  void on_delivery(uint32_t slot, const char* p, std::size_t n);
  void count_delivery(conn& c, const stamp& s);

  // worker_proto.cpp: WebSocket, wsagent JSON, MQTT (the general path)
  void on_http(uint32_t slot, char* data, std::size_t len);
  bool on_ws_control(uint32_t slot, uint8_t opcode, char* payload, std::size_t n);
  void on_json(uint32_t slot, const char* p, std::size_t n);
  bool on_mqtt_packet(uint32_t slot, char* p, std::size_t header, std::size_t total);
  void on_session_open(uint32_t slot);
  void on_subscribed(uint32_t slot, const char* ok, std::size_t n);
  void on_ack(uint32_t slot);
  void queue_ws(uint32_t slot, uint8_t opcode, const char* p, std::size_t n);
  void queue_mqtt(uint32_t slot, const char* p, std::size_t n);
  void queue_subscribe(uint32_t slot);
  void begin_close(uint32_t slot);

  // worker_load.cpp: what the scenario does
  void plan_connections();
  void setup_connections();
  double publish_rate() const;
  uint64_t churn_due() const;
  void publish_phase(uint64_t now);
  bool publisher_wants(const publisher& pb) const;
  uint64_t due_time(const publisher& pb) const;
  void write_publish(conn& c, publisher& pb, uint64_t t);
  void churn_phase(uint64_t now);
  void end_cycle(uint32_t slot, bool ok);
  void settle_ready(uint32_t slot);
  void settle_failed(uint32_t slot);
  void forget_subscriber(uint32_t slot);
  // Publishers whose sequence numbers subscribers check (with --pubs 0: the server's own).
  uint32_t seq_sources() const { return opt_.pubs == 0 ? 1 : opt_.pubs; }

  const options& opt_;
  uint32_t index_;
  uint32_t count_;
  int ctrl_fd_;
  int result_fd_;
  uring ring_;
  phase phase_ = phase::setup;
  std::vector<conn> conns_;
  std::vector<uint32_t> free_slots_;  // churn slots
  std::vector<uint32_t> dirty_;
  std::vector<uint32_t> rearm_;
  std::vector<uint32_t> to_open_;     // setup connections not yet opened, in order
  std::size_t open_next_ = 0;
  uint32_t setting_up_ = 0;           // setup connections between connect and settled
  uint32_t setup_total_ = 0;
  uint32_t setup_done_ = 0;
  std::vector<publisher> pubs_;
  std::vector<std::string> tag_names_;  // wsagent tags, or MQTT topics
  std::vector<std::string> pub_tail_;   // wsagent: `"tag":"<tag>","data":`
  std::vector<std::string> msg_prefix_; // wsagent: `{"op":"msg","tag":"<tag>","seq":`
  std::size_t tail_data_len_ = 0;        // wsagent: --size when every body has exactly that
                                         // size (read_msg_tail_stamp), else 0
  std::vector<uint32_t> live_subs_;     // per tag: this process's ready subscribers
  std::vector<int32_t> local_pub_;      // global publisher -> index in pubs_, or -1
  run_result res_;
  control_msg ctrl_{};
  char ctrl_buf_[sizeof(control_msg)] = {};
  uint64_t setup_begin_ = 0;
  uint64_t now_ = 0;  // time of the completion being handled
  uint64_t window_ = UINT64_MAX;  // == ctrl_.warm_end once started; avoids early counting
  uint64_t window_end_ = UINT64_MAX;
  uint64_t cpu_at_start_ = 0;
  uint64_t wall_at_start_ = 0;
  bool window_open_ = false;
  bool window_closed_ = false;
  uint64_t drain_start_ = 0;
  uint64_t last_delivery_ = 0;
  uint64_t next_tick_ = 0;
  uint32_t local_subs_ = 0;
  uint64_t last_turn_recvs_ = 0;
  bool window_sized_ = false;
  // churn
  uint64_t churn_k_ = 0;
  uint32_t churn_active_ = 0;  // churn slots in use (cycle running or socket closing)
  uint32_t churn_limit_ = 0;
  std::vector<uint64_t> last_seq_;  // per tag: top seq the last cycle's `ok` reported
};

}  // namespace wsa::loadgen

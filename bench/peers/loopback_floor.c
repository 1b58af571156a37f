// Loopback floor for bench/compare: how long the cheapest possible server needs to get one
// 120-byte message (the size of a 64 B `msg` frame) to each of N subscriber connections on
// this machine, while a reader on another CPU reads them the way the load generator does.
// The sender submits N io_uring sends in one io_uring_enter (no per-send system call), and
// for comparison N plain send() calls. Repeated every 50 ms, like the light workload. No
// server that writes each subscriber's TCP socket can reach its last subscriber sooner.
//   loopback_floor [N] [ROUNDS] [SENDER_CPU] [READER_CPU]      (defaults 1000 100 0 1)
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <liburing.h>

static int n;
static int reader_cpu = 1;
static int *rd;
static volatile long received;
static volatile long long last_ns;
static long long now_ns(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec * 1000000000LL + t.tv_nsec; }
static void pin(int cpu) { cpu_set_t s; CPU_ZERO(&s); CPU_SET(cpu, &s); sched_setaffinity(0, sizeof s, &s); }

// The reader works as wsagent-loadgen does: multishot receives into a provided buffer ring,
// DEFER_TASKRUN, completions reaped in batches.
enum { NBUF = 1024, BUFSZ = 32768 };

static void *reader(void *arg) {
  (void)arg; pin(reader_cpu);
  struct io_uring r;
  struct io_uring_params p = {.flags = IORING_SETUP_CQSIZE | IORING_SETUP_SINGLE_ISSUER |
                                       IORING_SETUP_DEFER_TASKRUN, .cq_entries = 65536};
  if (io_uring_queue_init_params(4096, &r, &p) < 0) { perror("reader ring"); exit(1); }
  struct io_uring_buf_ring *br = mmap(NULL, NBUF * sizeof(struct io_uring_buf),
                                      PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
  struct io_uring_buf_reg reg = {.ring_addr = (unsigned long)br, .ring_entries = NBUF, .bgid = 0};
  if (io_uring_register_buf_ring(&r, &reg, 0) < 0) { perror("buf ring"); exit(1); }
  char *bufs = malloc((size_t)NBUF * BUFSZ);
  io_uring_buf_ring_init(br);
  for (int i = 0; i < NBUF; i++)
    io_uring_buf_ring_add(br, bufs + (size_t)i * BUFSZ, BUFSZ, i, io_uring_buf_ring_mask(NBUF), i);
  io_uring_buf_ring_advance(br, NBUF);
  for (int i = 0; i < n; i++) {
    struct io_uring_sqe *sqe = io_uring_get_sqe(&r);
    if (sqe == NULL) { io_uring_submit(&r); sqe = io_uring_get_sqe(&r); }
    io_uring_prep_recv_multishot(sqe, rd[i], NULL, 0, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = 0;
    io_uring_sqe_set_data64(sqe, (unsigned long long)i);
  }
  for (;;) {
    io_uring_submit_and_wait(&r, 1);
    struct io_uring_cqe *cqe;
    unsigned head, seen = 0;
    long got = 0;
    io_uring_for_each_cqe(&r, head, cqe) {
      seen++;
      if (cqe->res > 0) {
        got += cqe->res / 120;
        int bid = (int)(cqe->flags >> IORING_CQE_BUFFER_SHIFT);
        io_uring_buf_ring_add(br, bufs + (size_t)bid * BUFSZ, BUFSZ, bid,
                              io_uring_buf_ring_mask(NBUF), 0);
        io_uring_buf_ring_advance(br, 1);
      }
      if (!(cqe->flags & IORING_CQE_F_MORE)) {  // re-arm
        struct io_uring_sqe *sqe = io_uring_get_sqe(&r);
        int i = (int)cqe->user_data;
        io_uring_prep_recv_multishot(sqe, rd[i], NULL, 0, 0);
        sqe->flags |= IOSQE_BUFFER_SELECT;
        sqe->buf_group = 0;
        io_uring_sqe_set_data64(sqe, (unsigned long long)i);
      }
    }
    io_uring_cq_advance(&r, seen);
    if (got) { last_ns = now_ns(); received += got; }
  }
  return NULL;
}

int main(int argc, char **argv) {
  n = argc > 1 ? atoi(argv[1]) : 1000;
  int rounds = argc > 2 ? atoi(argv[2]) : 100;
  pin(argc > 3 ? atoi(argv[3]) : 0);
  reader_cpu = argc > 4 ? atoi(argv[4]) : 1;
  int l = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  bind(l, (void *)&a, sizeof a); socklen_t al = sizeof a; getsockname(l, (void *)&a, &al); listen(l, 4096);
  int *wr = calloc(n, sizeof *wr); rd = calloc(n, sizeof *rd);
  for (int i = 0; i < n; i++) {
    rd[i] = socket(AF_INET, SOCK_STREAM, 0); connect(rd[i], (void *)&a, sizeof a);
    wr[i] = accept(l, NULL, NULL); int one = 1; setsockopt(wr[i], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  pthread_t t; pthread_create(&t, NULL, reader, NULL);
  char msg[120]; memset(msg, 'x', sizeof msg);
  struct io_uring ring;
  struct io_uring_params p = {.flags = IORING_SETUP_CQSIZE | IORING_SETUP_SINGLE_ISSUER |
                                       IORING_SETUP_DEFER_TASKRUN, .cq_entries = 8192};
  if (io_uring_queue_init_params(4096, &ring, &p) < 0) { perror("io_uring_queue_init"); return 1; }
  for (int uring = 1; uring >= 0; uring--) {
    double send_ms = 0, last_ms = 0;
    for (int r = 0; r < rounds; r++) {
      usleep(50000);
      long before = received;
      long long t0 = now_ns();
      if (uring) {
        for (int i = 0; i < n; i++) {
          struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
          if (sqe == NULL) { io_uring_submit(&ring); sqe = io_uring_get_sqe(&ring); }
          io_uring_prep_send(sqe, wr[i], msg, sizeof msg, MSG_NOSIGNAL);
        }
        io_uring_submit_and_wait(&ring, 0);
      } else {
        for (int i = 0; i < n; i++) send(wr[i], msg, sizeof msg, MSG_NOSIGNAL);
      }
      long long t1 = now_ns();
      while (received < before + n) ;
      if (uring) {
        struct io_uring_cqe *cqe;
        for (int i = 0; i < n; i++) { io_uring_wait_cqe(&ring, &cqe); io_uring_cqe_seen(&ring, cqe); }
      }
      send_ms += (t1 - t0) / 1e6; last_ms += (last_ns - t0) / 1e6;
    }
    printf("%s%d sends take %.2f ms (%.2f us each), the last copy is read %.2f ms after the start",
           uring ? "" : "; plain send(): ", n, send_ms / rounds, 1000 * send_ms / rounds / n,
           last_ms / rounds);
  }
  printf("\n");
  return 0;
}

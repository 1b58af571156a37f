// What one io_uring send costs the sending CPU on this machine, for the ways a shard could
// write its subscribers' sockets (docs/benchmarks.md "Kernel cost per send"): N loopback TCP
// connections, each given K frames of S bytes per round, as
//   sendmsg     one IORING_OP_SENDMSG of K iovecs (what a shard does today)
//   sendmsg+ff  the same on registered files (IOSQE_FIXED_FILE)
//   send        one IORING_OP_SEND of the K frames laid out contiguously (the best a gather
//               can do: no iovec import)
//   send+ff     the same on registered files
//   send_zc     IORING_OP_SEND_ZC of the contiguous bytes (two completions: the result,
//               then the notification that the pages may be reused)
//   send_zc+fb  the same from a registered buffer (IORING_RECVSEND_FIXED_BUF)
// A reader thread on another CPU drains every socket the way wsagent-loadgen does
// (multishot receives, provided buffers). Variants alternate round by round; each round is
// timed by the sending thread's own CPU clock (CLOCK_THREAD_CPUTIME_ID: what the kernel
// charges the sender, loopback delivery included), from the submission until every
// completion is reaped, so other load on the machine moves the figures less than wall time.
//   send_variants [N=1000] [K=8] [S=120] [ROUNDS=200] [SENDER_CPU=0] [READER_CPU=1]
// Prints one line per variant: sender CPU per send, per frame, and per KiB.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <liburing.h>

// Linux 6.2's usage report of SEND_ZC; liburing 2.3's headers predate it.
#ifndef IORING_SEND_ZC_REPORT_USAGE
#define IORING_SEND_ZC_REPORT_USAGE (1U << 3)
#define IORING_NOTIF_USAGE_ZC_COPIED (1U << 31)
#endif

static int n;
static int reader_cpu = 1;
static int *rd;
static volatile long long received_bytes;

static long long clock_ns(clockid_t c) {
  struct timespec t;
  clock_gettime(c, &t);
  return t.tv_sec * 1000000000LL + t.tv_nsec;
}
static void pin(int cpu) {
  cpu_set_t s;
  CPU_ZERO(&s);
  CPU_SET(cpu, &s);
  sched_setaffinity(0, sizeof s, &s);
}

enum { NBUF = 1024, BUFSZ = 65536 };

// A ring as wsagent's shards and load generator set theirs up.
static void ring_init(struct io_uring *r, unsigned cq_entries, const char *what) {
  struct io_uring_params p = {.flags = IORING_SETUP_CQSIZE | IORING_SETUP_SINGLE_ISSUER |
                                       IORING_SETUP_DEFER_TASKRUN,
                              .cq_entries = cq_entries};
  if (io_uring_queue_init_params(4096, r, &p) < 0) {
    perror(what);
    exit(1);
  }
}

static void arm(struct io_uring *r, int i) {
  struct io_uring_sqe *sqe = io_uring_get_sqe(r);
  if (sqe == NULL) {
    io_uring_submit(r);
    sqe = io_uring_get_sqe(r);
  }
  io_uring_prep_recv_multishot(sqe, rd[i], NULL, 0, 0);
  sqe->flags |= IOSQE_BUFFER_SELECT;
  sqe->buf_group = 0;
  io_uring_sqe_set_data64(sqe, (unsigned long long)i);
}

static void *reader(void *arg) {
  (void)arg;
  pin(reader_cpu);
  struct io_uring r;
  ring_init(&r, 65536, "reader ring");
  struct io_uring_buf_ring *br = mmap(NULL, NBUF * sizeof(struct io_uring_buf),
                                      PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
  struct io_uring_buf_reg reg = {.ring_addr = (unsigned long)br, .ring_entries = NBUF, .bgid = 0};
  if (io_uring_register_buf_ring(&r, &reg, 0) < 0) {
    perror("buf ring");
    exit(1);
  }
  char *bufs = malloc((size_t)NBUF * BUFSZ);
  io_uring_buf_ring_init(br);
  for (int i = 0; i < NBUF; i++) {
    io_uring_buf_ring_add(br, bufs + (size_t)i * BUFSZ, BUFSZ, i, io_uring_buf_ring_mask(NBUF),
                          i);
  }
  io_uring_buf_ring_advance(br, NBUF);
  for (int i = 0; i < n; i++) {
    arm(&r, i);
  }
  for (;;) {
    io_uring_submit_and_wait(&r, 1);
    struct io_uring_cqe *cqe;
    unsigned head, seen = 0;
    long long got = 0;
    io_uring_for_each_cqe(&r, head, cqe) {
      seen++;
      if (cqe->res > 0) {
        got += cqe->res;
        int bid = (int)(cqe->flags >> IORING_CQE_BUFFER_SHIFT);
        io_uring_buf_ring_add(br, bufs + (size_t)bid * BUFSZ, BUFSZ, bid,
                              io_uring_buf_ring_mask(NBUF), 0);
        io_uring_buf_ring_advance(br, 1);
      }
      if (!(cqe->flags & IORING_CQE_F_MORE)) {
        arm(&r, (int)cqe->user_data);
      }
    }
    io_uring_cq_advance(&r, seen);
    if (got) {
      __atomic_add_fetch(&received_bytes, got, __ATOMIC_RELEASE);
    }
  }
  return NULL;
}

enum variant { V_SENDMSG, V_SENDMSG_FF, V_SEND, V_SEND_FF, V_SEND_ZC, V_SEND_ZC_FB, V_COUNT };
static const char *names[V_COUNT] = {"sendmsg", "sendmsg+ff", "send", "send+ff", "send_zc",
                                     "send_zc+fb"};

static struct io_uring_sqe *sqe_of(struct io_uring *ring) {
  struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
  if (sqe == NULL) {
    io_uring_submit(ring);
    sqe = io_uring_get_sqe(ring);
  }
  return sqe;
}

int main(int argc, char **argv) {
  n = argc > 1 ? atoi(argv[1]) : 1000;
  int k = argc > 2 ? atoi(argv[2]) : 8;
  int s = argc > 3 ? atoi(argv[3]) : 120;
  int rounds = argc > 4 ? atoi(argv[4]) : 200;
  pin(argc > 5 ? atoi(argv[5]) : 0);
  reader_cpu = argc > 6 ? atoi(argv[6]) : 1;
  if (n < 1 || k < 1 || k > 1024 || s < 1 || (long long)k * s > BUFSZ * 16) {
    fprintf(stderr, "send_variants: bad arguments\n");
    return 2;
  }
  int l = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  bind(l, (void *)&a, sizeof a);
  socklen_t al = sizeof a;
  getsockname(l, (void *)&a, &al);
  listen(l, 4096);
  int *wr = calloc(n, sizeof *wr);
  rd = calloc(n, sizeof *rd);
  for (int i = 0; i < n; i++) {
    rd[i] = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(rd[i], (void *)&a, sizeof a) != 0) {
      perror("connect");
      return 1;
    }
    wr[i] = accept(l, NULL, NULL);
    int one = 1;
    setsockopt(wr[i], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  pthread_t t;
  pthread_create(&t, NULL, reader, NULL);

  // K frames of S bytes, apart in memory as a shard's frames are; and the same bytes contiguous.
  size_t bytes = (size_t)k * s;
  char *frames = malloc((size_t)k * (s + 64));
  char *flat = malloc(bytes);
  memset(frames, 'x', (size_t)k * (s + 64));
  memset(flat, 'x', bytes);
  struct iovec *iov = calloc(k, sizeof *iov);
  for (int j = 0; j < k; j++) {
    iov[j].iov_base = frames + (size_t)j * (s + 64);
    iov[j].iov_len = s;
  }
  struct msghdr *msg = calloc(n, sizeof *msg);
  for (int i = 0; i < n; i++) {
    msg[i].msg_iov = iov;
    msg[i].msg_iovlen = k;
  }

  struct io_uring ring;
  ring_init(&ring, 16384, "sender ring");
  int rc = io_uring_register_files(&ring, wr, n);
  if (rc < 0) {
    fprintf(stderr, "io_uring_register_files: %s\n", strerror(-rc));
    return 1;
  }
  struct iovec reg = {.iov_base = flat, .iov_len = bytes};
  bool have_fb = io_uring_register_buffers(&ring, &reg, 1) == 0;
  struct io_uring_probe *probe = io_uring_get_probe_ring(&ring);
  bool have_zc = probe != NULL && io_uring_opcode_supported(probe, IORING_OP_SEND_ZC);
  io_uring_free_probe(probe);
  unsigned zc_flags = 0;
  if (have_zc) {  // does the kernel report whether it copied anyway? (6.2+)
    struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
    io_uring_prep_send_zc(sqe, wr[0], flat, 1, MSG_NOSIGNAL, IORING_SEND_ZC_REPORT_USAGE);
    io_uring_submit(&ring);
    struct io_uring_cqe *cqe;
    io_uring_wait_cqe(&ring, &cqe);
    bool more = (cqe->flags & IORING_CQE_F_MORE) != 0;
    if (cqe->res == 1) {
      zc_flags = IORING_SEND_ZC_REPORT_USAGE;
    }
    io_uring_cqe_seen(&ring, cqe);
    if (more) {
      io_uring_wait_cqe(&ring, &cqe);
      io_uring_cqe_seen(&ring, cqe);
    }
  }

  long long cpu[V_COUNT] = {0}, wall[V_COUNT] = {0};
  int done[V_COUNT] = {0};
  long long zc_copied = 0, zc_sent = 0;
  for (int r = 0; r < rounds; r++) {
    for (int v = 0; v < V_COUNT; v++) {
      bool zc = v == V_SEND_ZC || v == V_SEND_ZC_FB;
      if ((zc && !have_zc) || (v == V_SEND_ZC_FB && !have_fb)) {
        continue;
      }
      usleep(2000);
      long long before = __atomic_load_n(&received_bytes, __ATOMIC_ACQUIRE);
      long long c0 = clock_ns(CLOCK_THREAD_CPUTIME_ID), w0 = clock_ns(CLOCK_MONOTONIC);
      for (int i = 0; i < n; i++) {
        struct io_uring_sqe *sqe = sqe_of(&ring);
        bool ff = v == V_SENDMSG_FF || v == V_SEND_FF;
        int fd = ff ? i : wr[i];
        switch (v) {
          case V_SENDMSG:
          case V_SENDMSG_FF:
            io_uring_prep_sendmsg(sqe, fd, &msg[i], MSG_NOSIGNAL);
            break;
          case V_SEND:
          case V_SEND_FF:
            io_uring_prep_send(sqe, fd, flat, bytes, MSG_NOSIGNAL);
            break;
          case V_SEND_ZC:
            io_uring_prep_send_zc(sqe, fd, flat, bytes, MSG_NOSIGNAL, zc_flags);
            break;
          case V_SEND_ZC_FB:
            io_uring_prep_send_zc_fixed(sqe, fd, flat, bytes, MSG_NOSIGNAL, zc_flags, 0);
            break;
        }
        if (ff) {
          sqe->flags |= IOSQE_FIXED_FILE;
        }
      }
      int want = zc ? 2 * n : n;
      int got = 0;
      while (got < want) {
        struct io_uring_cqe *cqe;
        io_uring_submit_and_wait(&ring, 1);
        unsigned head, seen = 0;
        io_uring_for_each_cqe(&ring, head, cqe) {
          seen++;
          if (cqe->flags & IORING_CQE_F_NOTIF) {
            got++;
            zc_sent++;
            if (cqe->res & IORING_NOTIF_USAGE_ZC_COPIED) {
              zc_copied++;
            }
            continue;
          }
          if (cqe->res != (int)bytes) {
            fprintf(stderr, "%s: send returned %d\n", names[v], cqe->res);
            return 1;
          }
          got += (zc && (cqe->flags & IORING_CQE_F_MORE)) ? 1 : (zc ? 2 : 1);
        }
        io_uring_cq_advance(&ring, seen);
      }
      long long c1 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
      while (__atomic_load_n(&received_bytes, __ATOMIC_ACQUIRE) < before + (long long)n * (long long)bytes) {
      }
      long long w1 = clock_ns(CLOCK_MONOTONIC);
      if (r > 0) {  // the first round warms up
        cpu[v] += c1 - c0;
        wall[v] += w1 - w0;
        done[v]++;
      }
    }
  }
  printf("%d connections, %d frames of %d B each per round (%zu B), %d rounds per variant\n",
         n, k, s, bytes, rounds - 1);
  for (int v = 0; v < V_COUNT; v++) {
    if (done[v] == 0) {
      printf("%-11s not available on this kernel\n", names[v]);
      continue;
    }
    double per_send = cpu[v] / 1e3 / done[v] / n;
    printf("%-11s sender CPU %6.2f us per send, %6.3f us per frame, %6.3f us per KiB; "
           "round %.2f ms wall\n",
           names[v], per_send, per_send / k, per_send / (bytes / 1024.0),
           wall[v] / 1e6 / done[v]);
  }
  if (zc_flags != 0) {
    printf("send_zc: %lld of %lld zero-copy sends were copied by the kernel anyway "
           "(IORING_NOTIF_USAGE_ZC_COPIED)\n", zc_copied, zc_sent);
  }
  return 0;
}

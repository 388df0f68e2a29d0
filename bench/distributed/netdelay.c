// netdelay: holds every packet of an NFQUEUE queue for a fixed time, then lets it through, in
// arrival order. netns_cluster.sh runs one per namespace behind an iptables NFQUEUE rule on
// its egress, to add the latency that `tc qdisc ... netem delay` would where the kernel has no
// sch_netem.
//
//   netdelay QUEUE_NUM DELAY_US
//
// Build: cc -O2 -o netdelay netdelay.c -lnetfilter_queue (libnetfilter-queue-dev).

#define _GNU_SOURCE  // ppoll
#include <arpa/inet.h>
#include <errno.h>
#include <libnetfilter_queue/libnetfilter_queue.h>
#include <linux/netfilter.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>

#define CAPACITY 65536  // packets held at once (a power of two)

struct held {
  uint32_t id;
  int64_t due_ns;
};

static struct held ring[CAPACITY];
static uint32_t head, tail;  // ring[head..tail) are held, oldest first
static int64_t delay_ns;
static volatile sig_atomic_t stop;

static int64_t now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static int on_packet(struct nfq_q_handle *qh, struct nfgenmsg *msg, struct nfq_data *nfa,
                     void *data) {
  (void)msg;
  (void)data;
  struct nfqnl_msg_packet_hdr *ph = nfq_get_msg_packet_hdr(nfa);
  if (!ph) return 0;
  uint32_t id = ntohl(ph->packet_id);
  if (tail - head == CAPACITY) return nfq_set_verdict(qh, id, NF_ACCEPT, 0, NULL);
  ring[tail % CAPACITY] = (struct held){id, now_ns() + delay_ns};
  tail++;
  return 0;
}

static void on_signal(int sig) {
  (void)sig;
  stop = 1;
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: netdelay QUEUE_NUM DELAY_US\n");
    return 2;
  }
  const int queue = atoi(argv[1]);
  delay_ns = (int64_t)atol(argv[2]) * 1000;
  struct nfq_handle *h = nfq_open();
  if (!h) {
    perror("netdelay: nfq_open");
    return 1;
  }
  struct nfq_q_handle *qh = nfq_create_queue(h, (uint16_t)queue, &on_packet, NULL);
  if (!qh) {
    perror("netdelay: nfq_create_queue");
    return 1;
  }
  // Only the verdict matters: copy no payload.
  if (nfq_set_mode(qh, NFQNL_COPY_META, 0) < 0 || nfq_set_queue_maxlen(qh, CAPACITY) < 0) {
    perror("netdelay: nfq_set_mode");
    return 1;
  }
  signal(SIGTERM, on_signal);
  signal(SIGINT, on_signal);
  const int fd = nfq_fd(h);
  static char buf[65536];
  while (!stop) {
    struct timespec wait = {1, 0};
    if (tail != head) {
      int64_t left = ring[head % CAPACITY].due_ns - now_ns();
      if (left < 0) left = 0;
      wait.tv_sec = left / 1000000000;
      wait.tv_nsec = left % 1000000000;
    }
    struct pollfd p = {fd, POLLIN, 0};
    if (ppoll(&p, 1, &wait, NULL) < 0 && errno != EINTR) break;
    if (p.revents & POLLIN) {
      for (;;) {
        const ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
        if (n <= 0) break;
        nfq_handle_packet(h, buf, (int)n);
      }
    }
    const int64_t t = now_ns();
    while (tail != head && ring[head % CAPACITY].due_ns <= t) {
      nfq_set_verdict(qh, ring[head % CAPACITY].id, NF_ACCEPT, 0, NULL);
      head++;
    }
  }
  while (tail != head) nfq_set_verdict(qh, ring[head++ % CAPACITY].id, NF_ACCEPT, 0, NULL);
  nfq_destroy_queue(qh);
  nfq_close(h);
  return 0;
}

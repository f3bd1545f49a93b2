/* RTP load generator for bench/media: N calls, two legs each, G.711 at 50 packets/s per leg.
 *
 * Every leg has its own UDP socket on 127.0.0.1 and sends 172-byte RTP packets (12-byte header,
 * 160-byte PCMU payload) to the relay's port for that leg; what the relay sends back on that socket
 * comes from the other leg of the same call. Each payload carries a magic, the CLOCK_MONOTONIC send
 * time in ns, the call, the leg and a sequence number, so the receiver measures loss, duplicates,
 * misrouted packets (another call's audio) and one-way latency through the relay.
 *
 * One thread, epoll; sends are paced by an absolute timerfd, calls staggered over the 20 ms period
 * (leg B half a slot after leg A) so the load is smooth.
 *
 * Protocol with the driver (lines on stdin/stdout):
 *   loadgen CALLS SECONDS WARMUP
 *   -> stdout "PORTS a0 b0 a1 b1 ..."          (the generator's own port per leg)
 *   <- stdin  "TARGETS a0 b0 a1 b1 ..."        (the relay's port for each leg)
 *   -> stdout "MARK warm"                      (warm-up over: measurement window begins)
 *   -> stdout "MARK end"                       (window over: sending stops, 300 ms drain follows)
 *   -> stdout one JSON object                  (the summary)
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define MAX_CALLS 5000
#define PERIOD_NS 20000000LL /* 20 ms: 50 packets/s */
#define PAYLOAD 160
#define PACKET (12 + PAYLOAD)
#define MAGIC 0x53504c42u /* "SPLB" */
#define DRAIN_NS 300000000LL
/* Latency histograms: global in 10 us buckets up to 2 s; per call in 100 us buckets up to 200 ms. */
#define G_BUCKET_NS 10000LL
#define G_BUCKETS 200000
#define C_BUCKET_NS 100000LL
#define C_BUCKETS 2000

struct leg {
    int fd;
    uint16_t local_port;
    struct sockaddr_in target;
    uint32_t ssrc;
    uint32_t seq;       /* next sequence number to send */
    long long next_due; /* ns, CLOCK_MONOTONIC */
    uint64_t sent;
    uint64_t received;   /* from the other leg, unique */
    uint64_t duplicates;
    uint8_t *seen;       /* one bit per sequence number received */
};

struct call {
    struct leg legs[2];
    uint32_t hist[C_BUCKETS + 1];
    long long max_ns;
    uint64_t samples;
};

static struct call *calls;
static int ncalls;
static uint32_t *ghist;
static long long gmax_ns;
static uint64_t gsamples, misrouted, garbage, window_received;
static int in_window;
static uint32_t max_seq;

static long long now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void die(const char *what) {
    fprintf(stderr, "loadgen: %s: %s\n", what, strerror(errno));
    exit(2);
}

static void put32(uint8_t *p, uint32_t v) { v = htonl(v); memcpy(p, &v, 4); }
static uint32_t get32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return ntohl(v); }
static void put64(uint8_t *p, uint64_t v) { put32(p, (uint32_t)(v >> 32)); put32(p + 4, (uint32_t)v); }
static uint64_t get64(const uint8_t *p) { return ((uint64_t)get32(p) << 32) | get32(p + 4); }

static void send_packet(int c, int l) {
    struct leg *leg = &calls[c].legs[l];
    uint8_t pkt[PACKET];
    memset(pkt + 12, 0xff, PAYLOAD); /* PCMU silence */
    pkt[0] = 0x80;
    pkt[1] = 0; /* PT 0, PCMU */
    pkt[2] = (uint8_t)(leg->seq >> 8);
    pkt[3] = (uint8_t)leg->seq;
    put32(pkt + 4, leg->seq * 160u);
    put32(pkt + 8, leg->ssrc);
    put32(pkt + 12, MAGIC);
    put32(pkt + 24, (uint32_t)c);
    pkt[28] = (uint8_t)l;
    put32(pkt + 29, leg->seq);
    put64(pkt + 16, (uint64_t)now_ns());
    if (sendto(leg->fd, pkt, PACKET, 0, (struct sockaddr *)&leg->target, sizeof leg->target) == PACKET)
        leg->sent++;
    leg->seq++;
}

static void receive(int c, int l) {
    uint8_t buf[2048];
    for (;;) {
        ssize_t n = recv(calls[c].legs[l].fd, buf, sizeof buf, MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) return;
            if (errno == ECONNREFUSED || errno == EINTR) continue;
            die("recv");
        }
        long long arrived = now_ns();
        if (n != PACKET || get32(buf + 12) != MAGIC) { garbage++; continue; }
        uint32_t from_call = get32(buf + 24), seq = get32(buf + 29);
        int from_leg = buf[28];
        if ((int)from_call != c || from_leg != 1 - l || seq >= max_seq) { misrouted++; continue; }
        struct leg *source = &calls[c].legs[from_leg];
        if (source->seen[seq / 8] & (1u << (seq % 8))) { source->duplicates++; continue; }
        source->seen[seq / 8] |= (uint8_t)(1u << (seq % 8));
        source->received++;
        if (in_window) window_received++;
        long long latency = arrived - (long long)get64(buf + 16);
        if (latency < 0) latency = 0;
        long long gb = latency / G_BUCKET_NS, cb = latency / C_BUCKET_NS;
        ghist[gb < G_BUCKETS ? gb : G_BUCKETS]++;
        calls[c].hist[cb < C_BUCKETS ? cb : C_BUCKETS]++;
        if (latency > gmax_ns) gmax_ns = latency;
        if (latency > calls[c].max_ns) calls[c].max_ns = latency;
        gsamples++;
        calls[c].samples++;
    }
}

/* The latency (ms) below which `fraction` of the samples fall, from a bucketed histogram. */
static double percentile(const uint32_t *hist, int buckets, long long bucket_ns, uint64_t samples,
                         double fraction) {
    if (samples == 0) return 0.0;
    uint64_t wanted = (uint64_t)(fraction * (double)samples), seen = 0;
    if (wanted >= samples) wanted = samples - 1;
    for (int i = 0; i <= buckets; i++) {
        seen += hist[i];
        if (seen > wanted) return (double)(i + 1) * (double)bucket_ns / 1e6;
    }
    return (double)buckets * (double)bucket_ns / 1e6;
}

static int open_leg(struct leg *leg) {
    leg->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    if (leg->fd < 0) die("socket");
    int size = 1 << 20;
    setsockopt(leg->fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = 0};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(leg->fd, (struct sockaddr *)&addr, sizeof addr) < 0) die("bind");
    socklen_t len = sizeof addr;
    getsockname(leg->fd, (struct sockaddr *)&addr, &len);
    leg->local_port = ntohs(addr.sin_port);
    return leg->fd;
}

static void arm(int tfd, long long at) {
    struct itimerspec spec = {0};
    spec.it_value.tv_sec = at / 1000000000LL;
    spec.it_value.tv_nsec = at % 1000000000LL;
    if (timerfd_settime(tfd, TFD_TIMER_ABSTIME, &spec, NULL) < 0) die("timerfd_settime");
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: loadgen CALLS SECONDS WARMUP\n");
        return 2;
    }
    ncalls = atoi(argv[1]);
    double seconds = atof(argv[2]), warmup = atof(argv[3]);
    if (ncalls < 1 || ncalls > MAX_CALLS || seconds <= 0 || seconds > 3600 || warmup < 0 || warmup > 600) {
        fprintf(stderr, "loadgen: CALLS 1-%d, SECONDS 0-3600, WARMUP 0-600\n", MAX_CALLS);
        return 2;
    }
    struct rlimit files;
    if (getrlimit(RLIMIT_NOFILE, &files) == 0) {
        files.rlim_cur = files.rlim_max;
        setrlimit(RLIMIT_NOFILE, &files);
    }
    max_seq = (uint32_t)((warmup + seconds) * 50.0) + 100;
    calls = calloc((size_t)ncalls, sizeof *calls);
    ghist = calloc(G_BUCKETS + 1, sizeof *ghist);
    if (!calls || !ghist) die("calloc");
    int ep = epoll_create1(0);
    if (ep < 0) die("epoll_create1");
    printf("PORTS");
    for (int c = 0; c < ncalls; c++) {
        for (int l = 0; l < 2; l++) {
            struct leg *leg = &calls[c].legs[l];
            int fd = open_leg(leg);
            leg->ssrc = 0x10000000u + (uint32_t)(c * 2 + l);
            leg->seen = calloc(max_seq / 8 + 1, 1);
            if (!leg->seen) die("calloc");
            struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)(c * 2 + l)};
            if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) die("epoll_ctl");
            printf(" %u", leg->local_port);
        }
    }
    printf("\n");
    fflush(stdout);

    char word[16];
    if (scanf("%15s", word) != 1 || strcmp(word, "TARGETS") != 0) {
        fprintf(stderr, "loadgen: expected TARGETS\n");
        return 2;
    }
    for (int c = 0; c < ncalls; c++) {
        for (int l = 0; l < 2; l++) {
            int port;
            if (scanf("%d", &port) != 1 || port < 1 || port > 65535) {
                fprintf(stderr, "loadgen: bad target port\n");
                return 2;
            }
            struct sockaddr_in *t = &calls[c].legs[l].target;
            t->sin_family = AF_INET;
            t->sin_port = htons((uint16_t)port);
            t->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        }
    }

    int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
    if (tfd < 0) die("timerfd_create");
    struct epoll_event tev = {.events = EPOLLIN, .data.u32 = UINT32_MAX};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &tev) < 0) die("epoll_ctl");

    long long start = now_ns() + 5000000LL;
    long long slot = PERIOD_NS / ncalls;
    for (int c = 0; c < ncalls; c++) {
        calls[c].legs[0].next_due = start + c * slot;
        calls[c].legs[1].next_due = start + c * slot + slot / 2;
    }
    long long warm_at = start + (long long)(warmup * 1e9);
    long long end_at = warm_at + (long long)(seconds * 1e9);
    long long stop_at = end_at + DRAIN_NS;
    int next = 0; /* index (call*2+leg) of the next leg due: the order is cyclic */
    int sending = 1, warm_marked = 0;
    arm(tfd, calls[0].legs[0].next_due);

    struct epoll_event events[256];
    for (;;) {
        long long now = now_ns();
        if (!warm_marked && now >= warm_at) {
            warm_marked = 1;
            in_window = 1;
            printf("MARK warm\n");
            fflush(stdout);
        }
        if (sending && now >= end_at) {
            sending = 0;
            in_window = 0;
            printf("MARK end\n");
            fflush(stdout);
            arm(tfd, stop_at);
        }
        if (!sending && now >= stop_at) break;
        int n = epoll_wait(ep, events, 256, 50);
        if (n < 0) {
            if (errno == EINTR) continue;
            die("epoll_wait");
        }
        for (int i = 0; i < n; i++) {
            uint32_t id = events[i].data.u32;
            if (id == UINT32_MAX) {
                uint64_t expirations;
                if (read(tfd, &expirations, sizeof expirations) < 0 && errno != EAGAIN) die("read timerfd");
                if (!sending) continue;
                /* Send everything due (or due within 100 us), in order, then re-arm for the next. */
                long long horizon = now_ns() + 100000LL;
                for (int guard = 0; guard < 2 * ncalls; guard++) {
                    struct leg *leg = &calls[next / 2].legs[next % 2];
                    if (leg->next_due > horizon) break;
                    send_packet(next / 2, next % 2);
                    leg->next_due += PERIOD_NS;
                    next = (next + 1) % (2 * ncalls);
                }
                arm(tfd, calls[next / 2].legs[next % 2].next_due);
            } else {
                receive((int)(id / 2), (int)(id % 2));
            }
        }
    }

    /* Summary. Loss per leg: what it sent that never came out of the other leg. */
    uint64_t sent = 0, received = 0, duplicates = 0, lost = 0;
    int clean_calls = 0;
    printf("{\"calls\": %d, \"seconds\": %.3f, \"warmup\": %.3f, \"per_call\": [", ncalls, seconds, warmup);
    for (int c = 0; c < ncalls; c++) {
        uint64_t csent = 0, crecv = 0, cdup = 0;
        for (int l = 0; l < 2; l++) {
            csent += calls[c].legs[l].sent;
            crecv += calls[c].legs[l].received;
            cdup += calls[c].legs[l].duplicates;
        }
        uint64_t clost = csent - crecv;
        if (clost == 0) clean_calls++;
        sent += csent;
        received += crecv;
        duplicates += cdup;
        lost += clost;
        struct call *k = &calls[c];
        printf("%s{\"sent\": %llu, \"received\": %llu, \"lost\": %llu, \"duplicates\": %llu, "
               "\"p50_ms\": %.2f, \"p99_ms\": %.2f, \"max_ms\": %.3f}",
               c ? ", " : "", (unsigned long long)csent, (unsigned long long)crecv, (unsigned long long)clost,
               (unsigned long long)cdup, percentile(k->hist, C_BUCKETS, C_BUCKET_NS, k->samples, 0.5),
               percentile(k->hist, C_BUCKETS, C_BUCKET_NS, k->samples, 0.99), (double)k->max_ns / 1e6);
    }
    printf("], \"sent\": %llu, \"received\": %llu, \"lost\": %llu, \"duplicates\": %llu, \"misrouted\": %llu, "
           "\"garbage\": %llu, \"window_received\": %llu, \"calls_zero_loss\": %d, "
           "\"p50_ms\": %.3f, \"p99_ms\": %.3f, \"max_ms\": %.3f}\n",
           (unsigned long long)sent, (unsigned long long)received, (unsigned long long)lost,
           (unsigned long long)duplicates, (unsigned long long)misrouted, (unsigned long long)garbage,
           (unsigned long long)window_received, clean_calls,
           percentile(ghist, G_BUCKETS, G_BUCKET_NS, gsamples, 0.5),
           percentile(ghist, G_BUCKETS, G_BUCKET_NS, gsamples, 0.99), (double)gmax_ns / 1e6);
    fflush(stdout);
    return 0;
}

/* netrelay: a TCP relay that delays what it forwards, for tests/cluster/netns.sh
 * (the kernel of the test machines has no netem, so delay and jitter are made
 * in user space). Not installed.
 *
 *   netrelay --route LISTEN_IP:PORT=TARGET_IP:PORT [--route ...]
 *            [--delay-ms D] [--jitter-ms J] [--seed S]
 *
 * Each route accepts TCP connections on LISTEN and opens one to TARGET for
 * each; bytes are relayed both ways, every chunk read (up to 16 KiB) held
 * D ± J ms (uniform) before it is written on. Chunks are never reordered: a
 * chunk never leaves before the one read before it in the same direction.
 * The delays come from a PRNG seeded with S, the route, the connection's rank
 * on its route and the direction, so the k-th chunk of a given connection
 * gets the same delay in every run with the same seed (how the byte stream
 * is cut into chunks still depends on timing). A half-close is relayed once
 * the queue is drained; a reset or error on one side resets the other.
 *
 * Prints "netrelay: ready" on stdout once every route listens, one line per
 * connection opened and closed on stderr, and totals ("netrelay: stats ...")
 * on SIGUSR1 and at exit. SIGTERM or SIGINT stops it, freeing everything.
 * Exit 0 after a signal, 1 on a runtime error, 2 on a usage error. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_ROUTES 16
#define MAX_CONNS 256
#define CHUNK_MAX 16384
#define QUEUE_MAX (4u << 20) /* per direction: stop reading beyond this */
#define DELAY_MAX_MS 60000

typedef struct chunk {
    struct chunk *next;
    uint64_t release_ms;
    size_t len, off;
    unsigned char data[];
} chunk_t;

/* One direction of a connection: read from `from`, write to `to`. */
typedef struct {
    int from, to;
    chunk_t *head, *tail;
    size_t queued;
    bool eof;      /* `from` said end of stream */
    bool shut;     /* the half-close was passed on to `to` */
    uint64_t rng;  /* splitmix64 state */
    uint64_t last_release_ms;
    uint64_t bytes;
} pipe_t;

typedef struct {
    int id, route;
    int client, upstream;
    bool connecting;
    pipe_t up, down; /* up: client -> upstream; down: upstream -> client */
} conn_t;

typedef struct {
    struct sockaddr_in listen, target;
    int fd;
    uint64_t accepted;
} route_t;

static route_t routes[MAX_ROUTES];
static int n_routes;
static conn_t *conns[MAX_CONNS];
static uint64_t delay_ms, jitter_ms, seed;
static uint64_t total_conns, total_bytes, chunks_delayed, delay_sum_ms;
static volatile sig_atomic_t stop_requested, stats_requested;

static void on_stop(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static void on_stats(int sig)
{
    (void)sig;
    stats_requested = 1;
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static uint64_t splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* The seed of one direction of one connection: a function of the run's seed,
 * the route, the connection's rank on it and the direction only. */
static uint64_t stream_seed(int route, uint64_t rank, int dir)
{
    uint64_t s = seed ^ ((uint64_t)route << 48) ^ (rank << 1) ^ (uint64_t)dir;
    return splitmix64(&s);
}

/* The delay of the next chunk: uniform in [D - J, D + J], at least 0. */
static uint64_t next_delay(pipe_t *p)
{
    uint64_t r = splitmix64(&p->rng);
    if (jitter_ms == 0)
        return delay_ms;
    uint64_t span = 2 * jitter_ms + 1;
    uint64_t lo = delay_ms > jitter_ms ? delay_ms - jitter_ms : 0;
    uint64_t d = delay_ms + (r % span); /* in [D, D + 2J] */
    d -= jitter_ms;                      /* in [D - J, D + J], may be < lo */
    return d < lo ? lo : d;
}

static void print_stats(void)
{
    int open = 0;
    for (int i = 0; i < MAX_CONNS; i++)
        open += conns[i] != NULL;
    fprintf(stderr,
            "netrelay: stats connections %" PRIu64 " open %d bytes %" PRIu64 " chunks %" PRIu64
            " mean_delay_ms %" PRIu64 "\n",
            total_conns, open, total_bytes, chunks_delayed, chunks_delayed ? delay_sum_ms / chunks_delayed : 0);
}

static void pipe_free(pipe_t *p)
{
    while (p->head) {
        chunk_t *c = p->head;
        p->head = c->next;
        free(c);
    }
    p->tail = NULL;
    p->queued = 0;
}

/* Closes both sockets; `reset` closes with an RST (SO_LINGER 0), as a peer
 * that saw the other side fail would see it. */
static void conn_destroy(conn_t **self_p, bool reset, const char *why)
{
    conn_t *self = *self_p;
    if (!self)
        return;
    fprintf(stderr, "netrelay: route %d conn %d closed (%s): %" PRIu64 " bytes up, %" PRIu64 " down\n",
            self->route, self->id, why, self->up.bytes, self->down.bytes);
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    int fds[2] = {self->client, self->upstream};
    for (int i = 0; i < 2; i++) {
        if (fds[i] < 0)
            continue;
        if (reset)
            setsockopt(fds[i], SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
        close(fds[i]);
    }
    pipe_free(&self->up);
    pipe_free(&self->down);
    free(self);
    *self_p = NULL;
}

static int set_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

static void accept_one(int r)
{
    route_t *rt = &routes[r];
    int cfd = accept(rt->fd, NULL, NULL);
    if (cfd < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && errno != ECONNABORTED)
            fprintf(stderr, "netrelay: route %d: accept: %s\n", r, strerror(errno));
        return;
    }
    int slot = -1;
    for (int i = 0; i < MAX_CONNS && slot < 0; i++)
        if (!conns[i])
            slot = i;
    int one = 1;
    int ufd = -1;
    if (slot < 0) {
        fprintf(stderr, "netrelay: route %d: %d connections open, refusing another\n", r, MAX_CONNS);
        close(cfd);
        return;
    }
    ufd = socket(AF_INET, SOCK_STREAM, 0);
    if (ufd < 0 || set_nonblock(cfd) || set_nonblock(ufd)) {
        fprintf(stderr, "netrelay: route %d: socket: %s\n", r, strerror(errno));
        close(cfd);
        if (ufd >= 0)
            close(ufd);
        return;
    }
    setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    setsockopt(ufd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    bool connecting = false;
    if (connect(ufd, (struct sockaddr *)&rt->target, sizeof rt->target) != 0) {
        if (errno != EINPROGRESS) {
            fprintf(stderr, "netrelay: route %d: connect to the target: %s\n", r, strerror(errno));
            close(cfd);
            close(ufd);
            return;
        }
        connecting = true;
    }
    conn_t *c = calloc(1, sizeof *c);
    if (!c) {
        fprintf(stderr, "netrelay: out of memory\n");
        close(cfd);
        close(ufd);
        return;
    }
    uint64_t rank = rt->accepted++;
    c->id = (int)rank;
    c->route = r;
    c->client = cfd;
    c->upstream = ufd;
    c->connecting = connecting;
    c->up = (pipe_t){.from = cfd, .to = ufd, .rng = stream_seed(r, rank, 0)};
    c->down = (pipe_t){.from = ufd, .to = cfd, .rng = stream_seed(r, rank, 1)};
    conns[slot] = c;
    total_conns++;
    fprintf(stderr, "netrelay: route %d conn %d opened\n", r, c->id);
}

/* Reads one chunk from p->from into the queue. Returns -1 on an error (the
 * connection must be reset), 0 otherwise. */
static int pipe_read(pipe_t *p, uint64_t now)
{
    chunk_t *c = malloc(sizeof *c + CHUNK_MAX);
    if (!c)
        return -1;
    ssize_t n = recv(p->from, c->data, CHUNK_MAX, 0);
    if (n < 0) {
        free(c);
        return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -1;
    }
    if (n == 0) {
        free(c);
        p->eof = true;
        return 0;
    }
    uint64_t d = next_delay(p);
    uint64_t release = now + d;
    if (release < p->last_release_ms)
        release = p->last_release_ms; /* never overtake the chunk before */
    p->last_release_ms = release;
    c->next = NULL;
    c->len = (size_t)n;
    c->off = 0;
    c->release_ms = release;
    if (p->tail)
        p->tail->next = c;
    else
        p->head = c;
    p->tail = c;
    p->queued += (size_t)n;
    chunks_delayed++;
    delay_sum_ms += release - now;
    return 0;
}

/* Writes every chunk whose time has come. Returns -1 on an error. */
static int pipe_write(pipe_t *p, uint64_t now)
{
    while (p->head && p->head->release_ms <= now) {
        chunk_t *c = p->head;
        ssize_t n = send(p->to, c->data + c->off, c->len - c->off, MSG_NOSIGNAL);
        if (n < 0)
            return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -1;
        c->off += (size_t)n;
        p->queued -= (size_t)n;
        p->bytes += (uint64_t)n;
        total_bytes += (uint64_t)n;
        if (c->off < c->len)
            return 0;
        p->head = c->next;
        if (!p->head)
            p->tail = NULL;
        free(c);
    }
    if (p->eof && !p->head && !p->shut) {
        shutdown(p->to, SHUT_WR);
        p->shut = true;
    }
    return 0;
}

static bool pipe_due(const pipe_t *p, uint64_t now)
{
    return (p->head && p->head->release_ms <= now) || (p->eof && !p->head && !p->shut);
}

static bool pipe_wants_read(const pipe_t *p) { return !p->eof && p->queued < QUEUE_MAX; }

static int parse_endpoint(const char *s, size_t len, struct sockaddr_in *out)
{
    char buf[64];
    if (len == 0 || len >= sizeof buf)
        return -1;
    memcpy(buf, s, len);
    buf[len] = '\0';
    char *colon = strrchr(buf, ':');
    if (!colon)
        return -1;
    *colon = '\0';
    char *end;
    errno = 0;
    long port = strtol(colon + 1, &end, 10);
    if (errno || *end || end == colon + 1 || port < 1 || port > 65535)
        return -1;
    memset(out, 0, sizeof *out);
    out->sin_family = AF_INET;
    out->sin_port = htons((uint16_t)port);
    return inet_pton(AF_INET, buf, &out->sin_addr) == 1 ? 0 : -1;
}

static int parse_u64(const char *s, uint64_t max, uint64_t *out)
{
    char *end;
    errno = 0;
    if (*s < '0' || *s > '9')
        return -1;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || v > max)
        return -1;
    *out = v;
    return 0;
}

static int usage(void)
{
    fprintf(stderr, "usage: netrelay --route LISTEN_IP:PORT=TARGET_IP:PORT [--route ...]\n"
                    "                [--delay-ms D] [--jitter-ms J] [--seed S]\n"
                    "  relays TCP, holding every chunk D +- J ms (uniform, seeded, never reordered)\n");
    return 2;
}

static int listen_route(int r)
{
    route_t *rt = &routes[r];
    int one = 1;
    char addr[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &rt->listen.sin_addr, addr, sizeof addr);
    rt->fd = socket(AF_INET, SOCK_STREAM, 0);
    if (rt->fd < 0 || setsockopt(rt->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) ||
        bind(rt->fd, (struct sockaddr *)&rt->listen, sizeof rt->listen) || listen(rt->fd, 64) ||
        set_nonblock(rt->fd)) {
        fprintf(stderr, "netrelay: cannot listen on %s:%u: %s (is the address configured in this namespace?)\n",
                addr, ntohs(rt->listen.sin_port), strerror(errno));
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    bool have_seed = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (i + 1 >= argc)
            return usage();
        const char *v = argv[++i];
        if (strcmp(a, "--route") == 0) {
            const char *eq = strchr(v, '=');
            if (n_routes == MAX_ROUTES) {
                fprintf(stderr, "netrelay: at most %d routes\n", MAX_ROUTES);
                return 2;
            }
            if (!eq || parse_endpoint(v, (size_t)(eq - v), &routes[n_routes].listen) ||
                parse_endpoint(eq + 1, strlen(eq + 1), &routes[n_routes].target)) {
                fprintf(stderr, "netrelay: bad --route '%s': want LISTEN_IP:PORT=TARGET_IP:PORT (IPv4)\n", v);
                return 2;
            }
            routes[n_routes++].fd = -1;
        } else if (strcmp(a, "--delay-ms") == 0) {
            if (parse_u64(v, DELAY_MAX_MS, &delay_ms)) {
                fprintf(stderr, "netrelay: bad --delay-ms '%s': want 0..%d\n", v, DELAY_MAX_MS);
                return 2;
            }
        } else if (strcmp(a, "--jitter-ms") == 0) {
            if (parse_u64(v, DELAY_MAX_MS, &jitter_ms)) {
                fprintf(stderr, "netrelay: bad --jitter-ms '%s': want 0..%d\n", v, DELAY_MAX_MS);
                return 2;
            }
        } else if (strcmp(a, "--seed") == 0) {
            if (parse_u64(v, UINT64_MAX, &seed)) {
                fprintf(stderr, "netrelay: bad --seed '%s': want a decimal number\n", v);
                return 2;
            }
            have_seed = true;
        } else {
            return usage();
        }
    }
    if (n_routes == 0)
        return usage();
    if (!have_seed)
        seed = 1;

    struct sigaction sa = {0};
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = on_stop;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sa.sa_handler = on_stats;
    sigaction(SIGUSR1, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    int rc = 0;
    for (int r = 0; r < n_routes; r++) {
        if (listen_route(r)) {
            rc = 1;
            goto done;
        }
    }
    printf("netrelay: ready, %d routes, delay %" PRIu64 " +- %" PRIu64 " ms, seed %" PRIu64 "\n", n_routes,
           delay_ms, jitter_ms, seed);
    fflush(stdout);

    static struct pollfd pfds[MAX_ROUTES + 2 * MAX_CONNS];
    /* owner: 2 * conn slot + side (0 client, 1 upstream), or -1 - route */
    static int owner[MAX_ROUTES + 2 * MAX_CONNS];
    while (!stop_requested) {
        if (stats_requested) {
            stats_requested = 0;
            print_stats();
        }
        uint64_t now = now_ms();
        int n = 0;
        int64_t timeout = -1;
        for (int r = 0; r < n_routes; r++) {
            pfds[n] = (struct pollfd){.fd = routes[r].fd, .events = POLLIN};
            owner[n++] = -1 - r;
        }
        for (int i = 0; i < MAX_CONNS; i++) {
            conn_t *c = conns[i];
            if (!c)
                continue;
            short ce = 0, ue = 0;
            if (c->connecting) {
                ue = POLLOUT;
            } else {
                if (pipe_wants_read(&c->up))
                    ce |= POLLIN;
                if (pipe_wants_read(&c->down))
                    ue |= POLLIN;
                if (pipe_due(&c->up, now))
                    ue |= POLLOUT;
                if (pipe_due(&c->down, now))
                    ce |= POLLOUT;
                const pipe_t *ps[2] = {&c->up, &c->down};
                for (int k = 0; k < 2; k++) {
                    if (ps[k]->head && ps[k]->head->release_ms > now) {
                        int64_t t = (int64_t)(ps[k]->head->release_ms - now);
                        if (timeout < 0 || t < timeout)
                            timeout = t;
                    }
                }
            }
            /* A socket with nothing to wait for is left out: a closed one
             * would report POLLHUP on every call while the other direction
             * waits for its delayed chunks. */
            pfds[n] = (struct pollfd){.fd = ce ? c->client : -1, .events = ce};
            owner[n++] = 2 * i;
            pfds[n] = (struct pollfd){.fd = ue ? c->upstream : -1, .events = ue};
            owner[n++] = 2 * i + 1;
        }
        /* At most 1 s: a signal that lands between the flag checks and poll
         * is seen within a second. */
        if (timeout < 0 || timeout > 1000)
            timeout = 1000;
        int ready = poll(pfds, (nfds_t)n, (int)timeout);
        if (ready < 0) {
            if (errno == EINTR)
                continue;
            fprintf(stderr, "netrelay: poll: %s\n", strerror(errno));
            rc = 1;
            break;
        }
        now = now_ms();
        for (int k = 0; k < n; k++) {
            if (owner[k] < 0) {
                if (pfds[k].revents & POLLIN)
                    accept_one(-1 - owner[k]);
                continue;
            }
            conn_t **cp = &conns[owner[k] / 2];
            conn_t *c = *cp;
            bool is_client = owner[k] % 2 == 0;
            short re = pfds[k].revents;
            if (!c || !re)
                continue;
            if (c->connecting) {
                if (is_client)
                    continue; /* the client's events wait for the upstream */
                int err = 0;
                socklen_t len = sizeof err;
                getsockopt(c->upstream, SOL_SOCKET, SO_ERROR, &err, &len);
                if (err) {
                    fprintf(stderr, "netrelay: route %d conn %d: connect to the target: %s\n", c->route, c->id,
                            strerror(err));
                    conn_destroy(cp, true, "target unreachable");
                    continue;
                }
                c->connecting = false;
                continue;
            }
            pipe_t *rd = is_client ? &c->up : &c->down;  /* reads this socket */
            pipe_t *wr = is_client ? &c->down : &c->up; /* writes this socket */
            if ((re & (POLLIN | POLLHUP | POLLERR)) && pipe_wants_read(rd) && pipe_read(rd, now)) {
                conn_destroy(cp, true, "read error or reset");
                continue;
            }
            if ((re & POLLERR) && !pipe_wants_read(rd)) {
                conn_destroy(cp, true, "socket error");
                continue;
            }
            if ((re & POLLOUT) && pipe_write(wr, now)) {
                conn_destroy(cp, true, "write error or reset");
                continue;
            }
        }
        /* Half-closes whose queues drained without a POLLOUT, and finished
         * connections. */
        for (int i = 0; i < MAX_CONNS; i++) {
            conn_t *c = conns[i];
            if (!c || c->connecting)
                continue;
            if ((pipe_due(&c->up, now) && !c->up.head && pipe_write(&c->up, now)) ||
                (pipe_due(&c->down, now) && !c->down.head && pipe_write(&c->down, now))) {
                conn_destroy(&conns[i], true, "write error");
                continue;
            }
            if (c->up.shut && c->down.shut)
                conn_destroy(&conns[i], false, "both sides closed");
        }
    }
done:
    print_stats();
    for (int i = 0; i < MAX_CONNS; i++)
        conn_destroy(&conns[i], true, "relay stopping");
    for (int r = 0; r < n_routes; r++)
        if (routes[r].fd >= 0)
            close(routes[r].fd);
    return rc;
}

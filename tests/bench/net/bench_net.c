/* bench_net: how many messages per second, and how many MB/s, one validator
 * can push to another through peer_net (CURVE, 127.0.0.1), for a PBFT-sized
 * message (250 bytes) and a block-sized one (64 KiB). The sender never drops:
 * on a full queue it waits for room, so the figure is the pipe's capacity. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <zmq.h>

#include "net.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int free_port(void)
{
    struct sockaddr_in a;
    socklen_t alen = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM, 0), port = 0;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &alen) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

typedef struct {
    peer_net *node;
    uint64_t expect;
    uint64_t got;
    uint64_t bytes;
    double last;
} receiver;

static void *receiver_main(void *arg)
{
    receiver *r = arg;
    double deadline = now_s() + 120;
    while (r->got < r->expect && now_s() < deadline) {
        zmq_pollitem_t item = {.socket = peer_net_poll_socket(r->node), .events = ZMQ_POLLIN};
        uint8_t *bytes;
        size_t len;
        uint32_t from;
        (void)zmq_poll(&item, 1, 100);
        while (peer_net_recv(r->node, &from, &bytes, &len) == NET_OK) {
            r->got++;
            r->bytes += len;
            free(bytes);
        }
    }
    r->last = now_s();
    return NULL;
}

static int run(peer_net *sender, peer_net *recv_node, size_t size, uint64_t count)
{
    uint8_t *msg = malloc(size);
    receiver r = {.node = recv_node, .expect = count};
    pthread_t th;
    double start;

    if (msg == NULL)
        return 1;
    memset(msg, 0x5a, size);
    if (pthread_create(&th, NULL, receiver_main, &r) != 0) {
        free(msg);
        return 1;
    }
    start = now_s();
    for (uint64_t i = 0; i < count; i++) {
        net_err err;
        while ((err = peer_net_send(sender, 1, msg, size)) == NET_ERR_QUEUE_FULL) {
            struct timespec ts = {0, 20000};
            nanosleep(&ts, NULL);
        }
        if (err != NET_OK) {
            fprintf(stderr, "bench_net: send: %s\n", net_strerror(err));
            break;
        }
    }
    pthread_join(th, NULL);
    double secs = r.last - start;
    printf("%8zu-byte messages: %8llu in %6.3f s  %10.0f msg/s  %8.1f MB/s%s\n", size,
           (unsigned long long)r.got, secs, (double)r.got / secs, (double)r.bytes / secs / 1e6,
           r.got == count ? "" : "  (INCOMPLETE)");
    free(msg);
    return r.got == count ? 0 : 1;
}

int main(void)
{
    net_curve_keypair keys[2];
    net_validator validators[2];
    peer_net *nodes[2] = {NULL, NULL};
    int rc = 0;

    memset(validators, 0, sizeof validators);
    for (int i = 0; i < 2; i++) {
        if (net_curve_keypair_generate(&keys[i]) != NET_OK) {
            fprintf(stderr, "bench_net: no CURVE support\n");
            return 1;
        }
        memcpy(validators[i].curve_public, keys[i].public_key, NET_CURVE_KEY_LEN);
        snprintf(validators[i].endpoint, sizeof validators[i].endpoint, "tcp://127.0.0.1:%d", free_port());
    }
    for (uint32_t i = 0; i < 2; i++) {
        peer_net_config cfg;
        net_error why;
        memset(&cfg, 0, sizeof cfg);
        cfg.validators = validators;
        cfg.n = 2;
        cfg.self = i;
        memcpy(cfg.curve_secret, keys[i].secret_key, NET_CURVE_KEY_LEN);
        cfg.sndhwm = 10000;
        net_err err = peer_net_new(&cfg, &nodes[i], &why);
        if (err != NET_OK) {
            fprintf(stderr, "bench_net: %s (%s)\n", net_strerror(err), why.detail);
            return 1;
        }
    }
    for (double deadline = now_s() + 10; peer_net_connected_count(nodes[0]) < 1 && now_s() < deadline;)
        usleep(1000);
    printf("peer_net, 2 validators, CURVE over TCP on 127.0.0.1, one sender thread, one receiver thread\n");
    rc |= run(nodes[0], nodes[1], 250, 300000);
    rc |= run(nodes[0], nodes[1], 64 * 1024, 10000);
    for (int i = 0; i < 2; i++) {
        peer_net_destroy(&nodes[i]);
        net_curve_keypair_wipe(&keys[i]);
    }
    return rc;
}

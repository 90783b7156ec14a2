/* Tests of src/net over real ZeroMQ sockets on 127.0.0.1: the CURVE mesh
 * (who may talk, who a message is from, what is dropped), the client
 * endpoint and connection, and the CURVE key files. Every wait is a poll
 * with a deadline. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <zmq.h>

#include "net.h"

#define WAIT_MS 5000

/* ------------------------------------------------------------------ helpers */

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* A port nobody listens on right now, chosen below the kernel's ephemeral
 * range: a port from that range could be taken as the source port of one of
 * our own reconnect attempts (or connect to itself) before a node binds it. */
static int free_port(void)
{
    static unsigned seed;
    int low = 32768, high = 60999;
    FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");
    if (f != NULL) {
        if (fscanf(f, "%d %d", &low, &high) != 2)
            low = 32768;
        fclose(f);
    }
    if (seed == 0)
        seed = (unsigned)getpid() ^ (unsigned)now_ms();
    if (low <= 16000) /* unusual range: fall back to the kernel's choice */
        low = 0;
    for (int attempt = 0; attempt < 1000; attempt++) {
        struct sockaddr_in a;
        socklen_t alen = sizeof a;
        int fd = socket(AF_INET, SOCK_STREAM, 0), port;
        assert_true(fd >= 0);
        memset(&a, 0, sizeof a);
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        a.sin_port = low ? htons((uint16_t)(15000 + rand_r(&seed) % (unsigned)(low - 15000))) : 0;
        if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0) {
            close(fd);
            continue;
        }
        assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
        port = ntohs(a.sin_port);
        close(fd);
        return port;
    }
    fail_msg("no free TCP port on 127.0.0.1");
    return 0;
}

#define MAX_NODES 4

typedef struct {
    uint32_t n;
    net_curve_keypair keys[MAX_NODES];
    net_validator validators[MAX_NODES];
    peer_net *nodes[MAX_NODES];
} mesh;

static void mesh_init(mesh *m, uint32_t n)
{
    memset(m, 0, sizeof *m);
    m->n = n;
    for (uint32_t i = 0; i < n; i++) {
        assert_int_equal(net_curve_keypair_generate(&m->keys[i]), NET_OK);
        memcpy(m->validators[i].curve_public, m->keys[i].public_key, NET_CURVE_KEY_LEN);
        snprintf(m->validators[i].endpoint, sizeof m->validators[i].endpoint, "tcp://127.0.0.1:%d", free_port());
    }
}

static peer_net_config mesh_config(const mesh *m, uint32_t i)
{
    peer_net_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.validators = m->validators;
    cfg.n = m->n;
    cfg.self = i;
    memcpy(cfg.curve_secret, m->keys[i].secret_key, NET_CURVE_KEY_LEN);
    cfg.reconnect_ivl_ms = 20;
    cfg.reconnect_ivl_max_ms = 200;
    cfg.linger_ms = 10;
    return cfg;
}

static void mesh_start(mesh *m, uint32_t i, const peer_net_config *cfg_or_null)
{
    peer_net_config cfg = cfg_or_null ? *cfg_or_null : mesh_config(m, i);
    net_error why;
    net_err err = peer_net_new(&cfg, &m->nodes[i], &why);
    if (err != NET_OK)
        fail_msg("peer_net_new(%u): %s (%s)", i, net_strerror(err), why.detail);
}

static void mesh_stop_all(mesh *m)
{
    for (uint32_t i = 0; i < m->n; i++) {
        peer_net_destroy(&m->nodes[i]);
        net_curve_keypair_wipe(&m->keys[i]);
    }
}

/* Waits for one message. Returns: NET_OK, or NET_ERR_AGAIN at the deadline. */
static net_err recv_wait(peer_net *p, int timeout_ms, uint32_t *from, uint8_t **bytes, size_t *len)
{
    int64_t deadline = now_ms() + timeout_ms;
    for (;;) {
        net_err err = peer_net_recv(p, from, bytes, len);
        if (err != NET_ERR_AGAIN)
            return err;
        int64_t left = deadline - now_ms();
        if (left <= 0)
            return NET_ERR_AGAIN;
        zmq_pollitem_t item = {.socket = peer_net_poll_socket(p), .events = ZMQ_POLLIN};
        (void)zmq_poll(&item, 1, (long)(left < 50 ? left : 50));
    }
}

static int all_connected(const mesh *m)
{
    for (uint32_t i = 0; i < m->n; i++)
        if (m->nodes[i] == NULL || peer_net_connected_count(m->nodes[i]) != m->n - 1)
            return 0;
    return 1;
}

static void wait_all_connected(const mesh *m)
{
    int64_t deadline = now_ms() + WAIT_MS;
    while (!all_connected(m)) {
        if (now_ms() > deadline)
            fail_msg("mesh did not connect within %d ms", WAIT_MS);
        sleep_ms(5);
    }
}

static peer_net_stats stats_of(const peer_net *p)
{
    peer_net_stats s;
    peer_net_get_stats(p, &s);
    return s;
}

/* A raw ZeroMQ DEALER with the given CURVE key pair, connected to a node. */
static void *raw_dealer(void *ctx, const uint8_t server_public[NET_CURVE_KEY_LEN], const net_curve_keypair *kp,
                        const char *endpoint)
{
    void *s = zmq_socket(ctx, ZMQ_DEALER);
    int zero = 0, ivl = 20;
    assert_non_null(s);
    assert_int_equal(zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero), 0);
    assert_int_equal(zmq_setsockopt(s, ZMQ_RECONNECT_IVL, &ivl, sizeof ivl), 0);
    assert_int_equal(zmq_setsockopt(s, ZMQ_CURVE_SERVERKEY, server_public, NET_CURVE_KEY_LEN), 0);
    assert_int_equal(zmq_setsockopt(s, ZMQ_CURVE_PUBLICKEY, kp->public_key, NET_CURVE_KEY_LEN), 0);
    assert_int_equal(zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, kp->secret_key, NET_CURVE_KEY_LEN), 0);
    assert_int_equal(zmq_connect(s, endpoint), 0);
    return s;
}

/* --------------------------------------------------------------- z85, keys */

static void test_z85_round_trip_and_invalid_inputs(void **state)
{
    (void)state;
    uint8_t key[NET_CURVE_KEY_LEN], back[NET_CURVE_KEY_LEN];
    char z85[NET_CURVE_Z85_LEN + 1], bad[NET_CURVE_Z85_LEN + 2];

    for (int round = 0; round < 20; round++) {
        assert_int_equal(crypto_random(key, sizeof key), CRYPTO_OK);
        net_z85_encode(key, z85);
        assert_int_equal(strlen(z85), NET_CURVE_Z85_LEN);
        assert_int_equal(net_z85_decode(z85, back), NET_OK);
        assert_memory_equal(key, back, sizeof key);
    }
    memset(back, 0xAB, sizeof back);
    assert_int_equal(net_z85_decode(NULL, back), NET_ERR_BAD_Z85);
    assert_int_equal(net_z85_decode("", back), NET_ERR_BAD_Z85);
    memcpy(bad, z85, NET_CURVE_Z85_LEN - 1); /* 39 characters */
    bad[NET_CURVE_Z85_LEN - 1] = '\0';
    assert_int_equal(net_z85_decode(bad, back), NET_ERR_BAD_Z85);
    memcpy(bad, z85, NET_CURVE_Z85_LEN); /* 41 characters */
    bad[NET_CURVE_Z85_LEN] = '0';
    bad[NET_CURVE_Z85_LEN + 1] = '\0';
    assert_int_equal(net_z85_decode(bad, back), NET_ERR_BAD_Z85);
    memcpy(bad, z85, sizeof z85);
    bad[7] = '~'; /* not in the Z85 alphabet */
    assert_int_equal(net_z85_decode(bad, back), NET_ERR_BAD_Z85);
    bad[7] = ' ';
    assert_int_equal(net_z85_decode(bad, back), NET_ERR_BAD_Z85);
    memcpy(bad, z85, sizeof z85);
    memcpy(bad, "#####", 5); /* 84^5 - 1 > 2^32 - 1: the group overflows */
    assert_int_equal(net_z85_decode(bad, back), NET_ERR_BAD_Z85);
    for (size_t i = 0; i < sizeof back; i++)
        assert_int_equal(back[i], 0xAB); /* untouched on error */
}

static void test_keypair_from_secret_matches_generated(void **state)
{
    (void)state;
    net_curve_keypair a, b;
    assert_int_equal(net_curve_keypair_generate(&a), NET_OK);
    assert_int_equal(net_curve_keypair_from_secret(a.secret_key, &b), NET_OK);
    assert_memory_equal(a.public_key, b.public_key, NET_CURVE_KEY_LEN);
    net_curve_keypair_wipe(&a);
    for (size_t i = 0; i < sizeof a; i++)
        assert_int_equal(((uint8_t *)&a)[i], 0);
    net_curve_keypair_wipe(&b);
}

static void write_file(const char *path, const char *text, size_t len, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, len), (ssize_t)len);
    assert_int_equal(fchmod(fd, mode), 0);
    close(fd);
}

static void test_curve_key_file_save_load_and_refusals(void **state)
{
    (void)state;
    char dir[] = "/tmp/evote-test-net-XXXXXX";
    char path[256], other[256], line[128], z85[NET_CURVE_Z85_LEN + 1];
    net_curve_keypair kp, loaded;
    struct stat st;

    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/curve.key", dir);
    snprintf(other, sizeof other, "%s/other.key", dir);
    assert_int_equal(net_curve_keypair_generate(&kp), NET_OK);

    assert_int_equal(net_curve_secret_save(&kp, path), NET_OK);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(net_curve_secret_load(path, &loaded), NET_OK);
    assert_memory_equal(loaded.secret_key, kp.secret_key, NET_CURVE_KEY_LEN);
    assert_memory_equal(loaded.public_key, kp.public_key, NET_CURVE_KEY_LEN);
    assert_int_equal(net_curve_secret_save(&kp, path), NET_ERR_KEY_FILE_EXISTS);

    assert_int_equal(chmod(path, 0644), 0); /* world-readable: refused */
    assert_int_equal(net_curve_secret_load(path, &loaded), NET_ERR_KEY_FILE_MODE);
    assert_int_equal(chmod(path, 0640), 0);
    assert_int_equal(net_curve_secret_load(path, &loaded), NET_ERR_KEY_FILE_MODE);
    unlink(path);

    assert_int_equal(net_curve_secret_load(path, &loaded), NET_ERR_KEY_FILE_OPEN); /* missing */

    write_file(other, "evote-curve-secret-v1 short\n", 28, 0600);
    assert_int_equal(net_curve_secret_load(other, &loaded), NET_ERR_KEY_FILE_SIZE);

    net_z85_encode(kp.secret_key, z85);
    snprintf(line, sizeof line, "evote-curve-secret-v2 %s\n", z85); /* right size, wrong header */
    write_file(other, line, strlen(line), 0600);
    assert_int_equal(net_curve_secret_load(other, &loaded), NET_ERR_KEY_FILE_FORMAT);

    z85[3] = '~'; /* right size and header, not Z85 */
    snprintf(line, sizeof line, "evote-curve-secret-v1 %s\n", z85);
    write_file(other, line, strlen(line), 0600);
    assert_int_equal(net_curve_secret_load(other, &loaded), NET_ERR_KEY_FILE_FORMAT);

    net_z85_encode(kp.secret_key, z85);
    snprintf(line, sizeof line, "evote-curve-secret-v1 %s ", z85); /* no newline at the end */
    write_file(other, line, strlen(line), 0600);
    assert_int_equal(net_curve_secret_load(other, &loaded), NET_ERR_KEY_FILE_FORMAT);

    unlink(other);
    rmdir(dir);
    net_curve_keypair_wipe(&kp);
    net_curve_keypair_wipe(&loaded);
}

/* -------------------------------------------------------------- peer mesh */

static void test_peer_net_rejects_inconsistent_config(void **state)
{
    (void)state;
    mesh m;
    peer_net *p = (peer_net *)1;
    net_error why;
    peer_net_config cfg;

    mesh_init(&m, 2);
    cfg = mesh_config(&m, 0);
    cfg.self = 2;
    assert_int_equal(peer_net_new(&cfg, &p, &why), NET_ERR_CONFIG);
    assert_null(p);
    cfg = mesh_config(&m, 0);
    memcpy(cfg.curve_secret, m.keys[1].secret_key, NET_CURVE_KEY_LEN); /* not validator 0's */
    assert_int_equal(peer_net_new(&cfg, &p, &why), NET_ERR_CONFIG);
    assert_non_null(strstr(why.detail, "validator 0"));
    cfg = mesh_config(&m, 0);
    cfg.n = 0;
    assert_int_equal(peer_net_new(&cfg, &p, &why), NET_ERR_CONFIG);
    cfg = mesh_config(&m, 0);
    snprintf(m.validators[1].endpoint, sizeof m.validators[1].endpoint, "udp://127.0.0.1:1");
    assert_int_equal(peer_net_new(&cfg, &p, &why), NET_ERR_ENDPOINT);
    snprintf(m.validators[1].endpoint, sizeof m.validators[1].endpoint, "tcp://127.0.0.1:%d", free_port());
    memcpy(m.validators[1].curve_public, m.validators[0].curve_public, NET_CURVE_KEY_LEN);
    assert_int_equal(peer_net_new(&cfg, &p, &why), NET_ERR_CONFIG);
    mesh_stop_all(&m);
}

static void test_bind_in_use_is_reported(void **state)
{
    (void)state;
    mesh m;
    peer_net *p = NULL;
    net_error why;
    peer_net_config cfg;

    mesh_init(&m, 2);
    mesh_start(&m, 0, NULL);
    cfg = mesh_config(&m, 0); /* a second node 0 on the same port */
    assert_int_equal(peer_net_new(&cfg, &p, &why), NET_ERR_BIND);
    assert_null(p);
    assert_non_null(strstr(why.detail, m.validators[0].endpoint));
    mesh_stop_all(&m);
}

static void test_mesh_delivers_unicast_and_broadcast_with_sender_index(void **state)
{
    (void)state;
    mesh m;
    char msg[32];
    uint8_t *bytes;
    size_t len;
    uint32_t from;

    mesh_init(&m, 4);
    for (uint32_t i = 0; i < 4; i++)
        mesh_start(&m, i, NULL);
    wait_all_connected(&m);
    for (uint32_t i = 0; i < 4; i++) {
        int k = snprintf(msg, sizeof msg, "unicast from %u", i);
        assert_int_equal(peer_net_send(m.nodes[i], (i + 1) % 4, (const uint8_t *)msg, (size_t)k), NET_OK);
        k = snprintf(msg, sizeof msg, "broadcast from %u", i);
        assert_int_equal(peer_net_broadcast(m.nodes[i], (const uint8_t *)msg, (size_t)k), NET_OK);
    }
    for (uint32_t i = 0; i < 4; i++) {
        int got_unicast = 0, got_broadcast[4] = {0};
        for (int k = 0; k < 4; k++) {
            assert_int_equal(recv_wait(m.nodes[i], WAIT_MS, &from, &bytes, &len), NET_OK);
            assert_true(from < 4 && from != i);
            char expect[32];
            if (len > 7 && memcmp(bytes, "unicast", 7) == 0) {
                assert_int_equal(from, (i + 3) % 4);
                snprintf(expect, sizeof expect, "unicast from %u", from);
                got_unicast++;
            } else {
                snprintf(expect, sizeof expect, "broadcast from %u", from);
                got_broadcast[from]++;
            }
            /* The payload names the sender the transport proved. */
            assert_int_equal(len, strlen(expect));
            assert_memory_equal(bytes, expect, len);
            free(bytes);
        }
        assert_int_equal(got_unicast, 1);
        for (uint32_t j = 0; j < 4; j++)
            assert_int_equal(got_broadcast[j], j == i ? 0 : 1);
        assert_int_equal(peer_net_recv(m.nodes[i], &from, &bytes, &len), NET_ERR_AGAIN);
        peer_net_stats s = stats_of(m.nodes[i]);
        assert_int_equal(s.sent, 4);
        assert_int_equal(s.received, 4);
        assert_int_equal(s.peers_connected, 3);
        assert_int_equal(s.refused_unknown_key, 0);
        peer_net_peer_stats ps;
        peer_net_get_peer_stats(m.nodes[i], (i + 1) % 4, &ps);
        assert_int_equal(ps.connected, 1);
        assert_int_equal(ps.sent, 2);
        peer_net_get_peer_stats(m.nodes[i], i, &ps);
        assert_int_equal(ps.sent, 0);
    }
    mesh_stop_all(&m);
}

static void wait_refused(peer_net *p, uint64_t at_least)
{
    int64_t deadline = now_ms() + WAIT_MS;
    while (stats_of(p).refused_unknown_key < at_least) {
        if (now_ms() > deadline)
            fail_msg("no refused handshake within %d ms", WAIT_MS);
        sleep_ms(5);
    }
}

static void test_peer_with_key_outside_the_set_cannot_deliver(void **state)
{
    (void)state;
    mesh m, impostor;
    uint8_t *bytes;
    size_t len;
    uint32_t from;

    mesh_init(&m, 4);
    mesh_start(&m, 0, NULL);
    /* A validator of another set that lists node 0 (right server key and
     * endpoint) but holds a key node 0's set does not contain. */
    mesh_init(&impostor, 2);
    impostor.validators[0] = m.validators[0];
    mesh_start(&impostor, 1, NULL);
    for (int i = 0; i < 10; i++)
        assert_int_equal(peer_net_send(impostor.nodes[1], 0, (const uint8_t *)"forged", 6), NET_OK);
    wait_refused(m.nodes[0], 1);
    assert_int_equal(recv_wait(m.nodes[0], 200, &from, &bytes, &len), NET_ERR_AGAIN);
    assert_int_equal(stats_of(m.nodes[0]).received, 0);
    assert_int_equal(peer_net_connected(impostor.nodes[1], 0), 0);
    /* The impostor's side sees its handshake refused, and never connects. */
    peer_net_peer_stats ps;
    int64_t deadline = now_ms() + WAIT_MS;
    do {
        peer_net_get_peer_stats(impostor.nodes[1], 0, &ps);
        if (ps.handshake_failures == 0)
            sleep_ms(5);
    } while (ps.handshake_failures == 0 && now_ms() < deadline);
    assert_true(ps.handshake_failures >= 1);
    assert_int_equal(ps.connected, 0);
    mesh_stop_all(&impostor);
    mesh_stop_all(&m);
}

static void test_raw_socket_with_unknown_client_key_is_refused(void **state)
{
    (void)state;
    mesh m;
    net_curve_keypair stranger;
    uint8_t *bytes;
    size_t len;
    uint32_t from;
    void *ctx = zmq_ctx_new(), *s, *t;

    mesh_init(&m, 4);
    mesh_start(&m, 0, NULL);
    assert_int_equal(net_curve_keypair_generate(&stranger), NET_OK);
    s = raw_dealer(ctx, m.validators[0].curve_public, &stranger, m.validators[0].endpoint);
    assert_int_equal(zmq_send(s, "hello", 5, ZMQ_DONTWAIT), 5);
    wait_refused(m.nodes[0], 1);
    /* Wrong server key: the handshake fails before ZAP is even asked. */
    t = raw_dealer(ctx, stranger.public_key, &m.keys[1], m.validators[0].endpoint);
    assert_int_equal(zmq_send(t, "hello", 5, ZMQ_DONTWAIT), 5);
    /* No CURVE at all (the NULL mechanism): refused as well. */
    void *plain = zmq_socket(ctx, ZMQ_DEALER);
    int zero = 0;
    assert_int_equal(zmq_setsockopt(plain, ZMQ_LINGER, &zero, sizeof zero), 0);
    assert_int_equal(zmq_connect(plain, m.validators[0].endpoint), 0);
    assert_int_equal(zmq_send(plain, "hello", 5, ZMQ_DONTWAIT), 5);
    int64_t deadline = now_ms() + WAIT_MS;
    while (stats_of(m.nodes[0]).inbound_handshake_failed < 3 && now_ms() < deadline)
        sleep_ms(5);
    assert_true(stats_of(m.nodes[0]).inbound_handshake_failed >= 3);
    zmq_close(plain);
    /* Node 0's own key is in the set, but nobody may speak as node 0 to it. */
    void *u = raw_dealer(ctx, m.validators[0].curve_public, &m.keys[0], m.validators[0].endpoint);
    assert_int_equal(zmq_send(u, "hello", 5, ZMQ_DONTWAIT), 5);
    wait_refused(m.nodes[0], 2);
    assert_int_equal(recv_wait(m.nodes[0], 200, &from, &bytes, &len), NET_ERR_AGAIN);
    assert_int_equal(stats_of(m.nodes[0]).received, 0);
    zmq_close(s);
    zmq_close(t);
    zmq_close(u);
    zmq_ctx_term(ctx);
    net_curve_keypair_wipe(&stranger);
    mesh_stop_all(&m);
}

static void test_oversized_message_is_never_delivered_and_node_keeps_serving(void **state)
{
    (void)state;
    mesh m;
    peer_net_config cfg;
    uint8_t *big = calloc(1, 8192), *bytes;
    size_t len;
    uint32_t from;
    net_err err;
    void *ctx = zmq_ctx_new(), *s;

    assert_non_null(big);
    memset(big, 'x', 8192);
    mesh_init(&m, 2);
    cfg = mesh_config(&m, 0);
    cfg.max_msg_size = 4096;
    mesh_start(&m, 0, &cfg);
    assert_int_equal(peer_net_send(m.nodes[0], 1, big, 4097), NET_ERR_TOO_LARGE);
    assert_int_equal(peer_net_broadcast(m.nodes[0], big, 4097), NET_ERR_TOO_LARGE);
    assert_int_equal(stats_of(m.nodes[0]).dropped_oversized, 2);

    /* Validator 1's key, but a message over the limit: the connection is cut. */
    s = raw_dealer(ctx, m.validators[0].curve_public, &m.keys[1], m.validators[0].endpoint);
    assert_int_equal(zmq_send(s, big, 8192, 0), 8192);
    int64_t deadline = now_ms() + WAIT_MS;
    while (stats_of(m.nodes[0]).inbound_disconnects < 1 && now_ms() < deadline)
        sleep_ms(5);
    assert_true(stats_of(m.nodes[0]).inbound_disconnects >= 1);
    /* The node still serves: the sender reconnects and a small message arrives. */
    deadline = now_ms() + WAIT_MS;
    do {
        assert_int_equal(zmq_send(s, "small", 5, ZMQ_DONTWAIT), 5);
        err = recv_wait(m.nodes[0], 100, &from, &bytes, &len);
    } while (err == NET_ERR_AGAIN && now_ms() < deadline);
    assert_int_equal(err, NET_OK);
    assert_int_equal(from, 1);
    assert_int_equal(len, 5);
    assert_memory_equal(bytes, "small", 5);
    free(bytes);
    while ((err = recv_wait(m.nodes[0], 50, &from, &bytes, &len)) == NET_OK) {
        assert_int_equal(len, 5); /* never the big one */
        free(bytes);
    }
    free(big);
    zmq_close(s);
    zmq_ctx_term(ctx);
    mesh_stop_all(&m);
}

static void test_empty_and_multipart_messages_are_dropped_and_counted(void **state)
{
    (void)state;
    mesh m;
    uint8_t *bytes;
    size_t len;
    uint32_t from;
    void *ctx = zmq_ctx_new(), *s;

    mesh_init(&m, 2);
    mesh_start(&m, 0, NULL);
    s = raw_dealer(ctx, m.validators[0].curve_public, &m.keys[1], m.validators[0].endpoint);
    assert_int_equal(zmq_send(s, "", 0, 0), 0);
    assert_int_equal(zmq_send(s, "part1", 5, ZMQ_SNDMORE), 5);
    assert_int_equal(zmq_send(s, "part2", 5, 0), 5);
    assert_int_equal(zmq_send(s, "", 0, ZMQ_SNDMORE), 0);
    assert_int_equal(zmq_send(s, "body", 4, 0), 4);
    assert_int_equal(zmq_send(s, "good", 4, 0), 4);
    assert_int_equal(recv_wait(m.nodes[0], WAIT_MS, &from, &bytes, &len), NET_OK);
    assert_int_equal(from, 1);
    assert_int_equal(len, 4);
    assert_memory_equal(bytes, "good", 4);
    free(bytes);
    peer_net_stats st = stats_of(m.nodes[0]);
    assert_int_equal(st.dropped_malformed, 3);
    assert_int_equal(st.received, 1);

    /* A flood of empty messages: recv yields (AGAIN) after a bounded run of
     * drops instead of spinning, and the good message still comes through. */
    for (int i = 0; i < 300; i++)
        assert_int_equal(zmq_send(s, "", 0, 0), 0);
    assert_int_equal(zmq_send(s, "after-flood", 11, 0), 11);
    int yields = 0;
    int64_t deadline = now_ms() + WAIT_MS;
    net_err err;
    while ((err = peer_net_recv(m.nodes[0], &from, &bytes, &len)) == NET_ERR_AGAIN && now_ms() < deadline) {
        yields++;
        zmq_pollitem_t item = {.socket = peer_net_poll_socket(m.nodes[0]), .events = ZMQ_POLLIN};
        (void)zmq_poll(&item, 1, 20);
    }
    assert_int_equal(err, NET_OK);
    assert_int_equal(len, 11);
    assert_memory_equal(bytes, "after-flood", 11);
    free(bytes);
    assert_true(yields >= 300 / 64);
    assert_int_equal(stats_of(m.nodes[0]).dropped_malformed, 303);
    zmq_close(s);
    zmq_ctx_term(ctx);
    mesh_stop_all(&m);
}

static void test_send_to_dead_peer_never_blocks_and_drops_past_sndhwm(void **state)
{
    (void)state;
    mesh m;
    peer_net_config cfg;
    int64_t start;
    int ok = 0, full = 0;

    mesh_init(&m, 4); /* only node 0 runs: 1, 2, 3 are down */
    cfg = mesh_config(&m, 0);
    cfg.sndhwm = 10;
    mesh_start(&m, 0, &cfg);
    assert_int_equal(peer_net_send(m.nodes[0], 0, (const uint8_t *)"x", 1), NET_ERR_BAD_INDEX);
    assert_int_equal(peer_net_send(m.nodes[0], 4, (const uint8_t *)"x", 1), NET_ERR_BAD_INDEX);
    assert_int_equal(peer_net_send(m.nodes[0], 1, (const uint8_t *)"x", 0), NET_ERR_EMPTY);
    assert_int_equal(peer_net_broadcast(m.nodes[0], NULL, 0), NET_ERR_EMPTY);

    start = now_ms();
    for (int i = 0; i < 10000; i++) {
        net_err err = peer_net_send(m.nodes[0], 1, (const uint8_t *)"prepare", 7);
        if (err == NET_OK)
            ok++;
        else {
            assert_int_equal(err, NET_ERR_QUEUE_FULL);
            full++;
        }
    }
    assert_true(now_ms() - start < 2000); /* never blocked */
    assert_true(ok >= 10 && ok <= 100);   /* about sndhwm were queued ... */
    assert_true(full > 0);                /* ... the rest dropped */
    assert_int_equal(peer_net_broadcast(m.nodes[0], (const uint8_t *)"commit", 6), NET_ERR_QUEUE_FULL);
    peer_net_stats st = stats_of(m.nodes[0]);
    assert_int_equal(st.dropped_queue_full, (uint64_t)full + 1);
    assert_int_equal(st.peers_connected, 0);
    peer_net_peer_stats ps;
    peer_net_get_peer_stats(m.nodes[0], 1, &ps);
    assert_int_equal(ps.connected, 0);
    assert_int_equal(ps.dropped_queue_full, (uint64_t)full + 1);
    mesh_stop_all(&m);
}

/* sndhwm counts messages; for a peer that is not connected the queue also
 * has a budget in bytes, so big messages (PRE-PREPAREs with their batches)
 * cannot pile up by the hundred MB. Once it is back, sends go through. */
static void test_dead_peers_queue_is_bounded_in_bytes_too(void **state)
{
    (void)state;
    mesh m;
    peer_net_config cfg;
    uint8_t *big = calloc(1, 1 << 20), *bytes;
    size_t len;
    uint32_t from;
    int ok = 0, full = 0, got = 0;
    net_err err;
    int64_t deadline;
    peer_net_peer_stats ps;

    assert_non_null(big);
    mesh_init(&m, 2); /* node 1 is down at first */
    cfg = mesh_config(&m, 0);
    cfg.down_queue_bytes = (size_t)3 << 20; /* 3 MiB; sndhwm stays 1,000 */
    mesh_start(&m, 0, &cfg);
    for (int i = 0; i < 50; i++) {
        err = peer_net_send(m.nodes[0], 1, big, 1 << 20);
        if (err == NET_OK)
            ok++;
        else {
            assert_int_equal(err, NET_ERR_QUEUE_FULL);
            full++;
        }
    }
    assert_int_equal(ok, 3);
    assert_int_equal(full, 47);
    /* The budget is spent: even a small message waits for the peer. */
    assert_int_equal(peer_net_send(m.nodes[0], 1, (const uint8_t *)"prepare", 7), NET_ERR_QUEUE_FULL);
    assert_int_equal(stats_of(m.nodes[0]).dropped_queue_full, 48);

    mesh_start(&m, 1, NULL);
    deadline = now_ms() + WAIT_MS;
    while (!peer_net_connected(m.nodes[0], 1) && now_ms() < deadline)
        sleep_ms(5);
    assert_int_equal(peer_net_connected(m.nodes[0], 1), 1);
    for (int i = 0; i < 10; i++) /* connected: the byte budget does not apply */
        assert_int_equal(peer_net_send(m.nodes[0], 1, big, 1 << 20), NET_OK);
    deadline = now_ms() + WAIT_MS;
    while (got < 10 && now_ms() < deadline) {
        if (recv_wait(m.nodes[1], 50, &from, &bytes, &len) == NET_OK) {
            if (len == 1 << 20)
                got++;
            free(bytes);
        }
    }
    assert_true(got >= 10);
    deadline = now_ms() + WAIT_MS; /* every message written and released by libzmq */
    do {
        peer_net_get_peer_stats(m.nodes[0], 1, &ps);
        if (ps.queued_bytes != 0)
            sleep_ms(10);
    } while (ps.queued_bytes != 0 && now_ms() < deadline);
    assert_int_equal(ps.queued_bytes, 0);
    free(big);
    mesh_stop_all(&m);
}

/* The largest of the three numbers in a /proc/sys/net/ipv4/tcp_[rw]mem. */
static long sysctl_max(const char *path)
{
    long lo = 0, def = 0, max = 4L << 20;
    FILE *f = fopen(path, "r");
    if (f != NULL) {
        if (fscanf(f, "%ld %ld %ld", &lo, &def, &max) != 3)
            max = 4L << 20;
        fclose(f);
    }
    return max;
}

/* The peer of test_stopped_peer...: counts the 1 MiB messages it receives
 * until "end", writes the count to report_fd and exits. */
static void stopped_peer_child(mesh *m, int report_fd)
{
    peer_net_config cfg = mesh_config(m, 1);
    net_error why;
    peer_net *p = NULL;
    uint32_t from, got = 0;
    uint8_t *bytes;
    size_t len;
    int64_t deadline = now_ms() + 60000;

    (void)prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (peer_net_new(&cfg, &p, &why) != NET_OK)
        _exit(2);
    while (now_ms() < deadline) {
        if (recv_wait(p, 100, &from, &bytes, &len) != NET_OK)
            continue;
        int end = len == 3 && memcmp(bytes, "end", 3) == 0;
        got += len == 1 << 20;
        free(bytes);
        if (end)
            break;
    }
    if (write(report_fd, &got, sizeof got) != (ssize_t)sizeof got)
        _exit(3);
    peer_net_destroy(&p);
    _exit(0);
}

/* A connected peer that stops reading (SIGSTOP; a slow link looks the same
 * from here) keeps its connection until the heartbeat gives up on it. Its
 * queue is bounded in bytes meanwhile, not only in messages: 1,000 batches
 * would be gigabytes. Once it reads again, everything queued is delivered
 * and the queue's count is back at zero (libzmq released every message). */
static void test_stopped_peers_queue_is_bounded_in_bytes(void **state)
{
    (void)state;
    mesh m;
    peer_net_config cfg;
    uint8_t *big = calloc(1, 1 << 20);
    int report[2], ok = 0, full = 0, status;
    uint32_t delivered = 0;
    peer_net_peer_stats ps;
    int64_t deadline;
    pid_t child;

    assert_non_null(big);
    mesh_init(&m, 2);
    assert_int_equal(pipe(report), 0);
    child = fork(); /* before any ZeroMQ context of ours */
    assert_true(child >= 0);
    if (child == 0) {
        close(report[0]);
        stopped_peer_child(&m, report[1]);
    }
    close(report[1]);
    cfg = mesh_config(&m, 0);
    cfg.queue_bytes = (size_t)4 << 20; /* 4 MiB; sndhwm stays 1,000 */
    cfg.heartbeat_timeout_ms = 60000;  /* stays connected while the peer is stopped */
    mesh_start(&m, 0, &cfg);
    deadline = now_ms() + WAIT_MS;
    while (!peer_net_connected(m.nodes[0], 1) && now_ms() < deadline)
        sleep_ms(5);
    assert_int_equal(peer_net_connected(m.nodes[0], 1), 1);

    assert_int_equal(kill(child, SIGSTOP), 0);
    assert_int_equal(waitpid(child, &status, WUNTRACED), child);
    assert_true(WIFSTOPPED(status));
    /* What the kernel's socket buffers may take before the queue grows:
     * the most TCP autotuning gives the receiver and the sender. */
    long kernel_mib = (sysctl_max("/proc/sys/net/ipv4/tcp_rmem") + sysctl_max("/proc/sys/net/ipv4/tcp_wmem")) >> 20;
    int bound = 4 + (int)kernel_mib + 2, sends = bound + 24;
    for (int i = 0; i < sends; i++) {
        net_err err = peer_net_send(m.nodes[0], 1, big, 1 << 20);
        if (err == NET_OK)
            ok++;
        else {
            assert_int_equal(err, NET_ERR_QUEUE_FULL);
            full++;
        }
        peer_net_get_peer_stats(m.nodes[0], 1, &ps);
        assert_true(ps.queued_bytes <= (uint64_t)4 << 20);
        sleep_ms(2); /* let the I/O thread fill the kernel's buffers */
    }
    /* The budget, plus what the kernel's socket buffers took before (sndhwm
     * alone would have queued every one). */
    assert_true(ok >= 4 && ok <= bound);
    assert_true(full >= sends - bound);
    assert_int_equal(peer_net_connected(m.nodes[0], 1), 1);

    assert_int_equal(kill(child, SIGCONT), 0);
    deadline = now_ms() + WAIT_MS;
    do {
        sleep_ms(10);
        peer_net_get_peer_stats(m.nodes[0], 1, &ps);
    } while (ps.queued_bytes != 0 && now_ms() < deadline);
    assert_int_equal(ps.queued_bytes, 0);
    assert_int_equal(peer_net_send(m.nodes[0], 1, (const uint8_t *)"end", 3), NET_OK);
    assert_int_equal(read(report[0], &delivered, sizeof delivered), (ssize_t)sizeof delivered);
    assert_int_equal(delivered, (uint32_t)ok); /* nothing accepted was lost */
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    close(report[0]);
    free(big);
    mesh_stop_all(&m);
}

static void test_restarted_peer_is_reconnected_and_receives_again(void **state)
{
    (void)state;
    mesh m;
    uint8_t *bytes;
    size_t len;
    uint32_t from;
    net_err err;
    int64_t deadline;

    mesh_init(&m, 2);
    mesh_start(&m, 0, NULL);
    mesh_start(&m, 1, NULL);
    wait_all_connected(&m);
    assert_int_equal(peer_net_send(m.nodes[0], 1, (const uint8_t *)"before", 6), NET_OK);
    assert_int_equal(recv_wait(m.nodes[1], WAIT_MS, &from, &bytes, &len), NET_OK);
    free(bytes);

    peer_net_destroy(&m.nodes[1]);
    deadline = now_ms() + WAIT_MS;
    while (peer_net_connected(m.nodes[0], 1) && now_ms() < deadline)
        sleep_ms(5);
    assert_int_equal(peer_net_connected(m.nodes[0], 1), 0);

    mesh_start(&m, 1, NULL); /* same key, same port */
    deadline = now_ms() + WAIT_MS;
    do {
        err = peer_net_send(m.nodes[0], 1, (const uint8_t *)"after", 5);
        assert_true(err == NET_OK || err == NET_ERR_QUEUE_FULL);
        err = recv_wait(m.nodes[1], 50, &from, &bytes, &len);
    } while (err == NET_ERR_AGAIN && now_ms() < deadline);
    assert_int_equal(err, NET_OK);
    assert_int_equal(from, 0);
    assert_int_equal(len, 5);
    assert_memory_equal(bytes, "after", 5);
    free(bytes);
    wait_all_connected(&m);
    mesh_stop_all(&m);
}

static void test_flooding_peer_does_not_starve_another(void **state)
{
    (void)state;
    mesh m;
    peer_net_config cfg;
    uint8_t *bytes, payload[200];
    size_t len;
    uint32_t from;
    int before = 0, found = 0;

    mesh_init(&m, 4);
    for (uint32_t i = 0; i < 3; i++) {
        cfg = mesh_config(&m, i);
        cfg.sndhwm = 10000;
        mesh_start(&m, i, &cfg);
    }
    int64_t deadline = now_ms() + WAIT_MS;
    while ((!peer_net_connected(m.nodes[1], 0) || !peer_net_connected(m.nodes[2], 0)) && now_ms() < deadline)
        sleep_ms(5);
    memset(payload, 'f', sizeof payload);
    for (int i = 0; i < 6000; i++) /* node 1 floods node 0 ... */
        assert_int_equal(peer_net_send(m.nodes[1], 0, payload, sizeof payload), NET_OK);
    sleep_ms(50); /* (only lets the flood get ahead; the assertion does not depend on it) */
    assert_int_equal(peer_net_send(m.nodes[2], 0, (const uint8_t *)"vote", 4), NET_OK); /* ... 2 speaks once */
    while (!found && recv_wait(m.nodes[0], WAIT_MS, &from, &bytes, &len) == NET_OK) {
        if (from == 2) {
            assert_int_equal(len, 4);
            found = 1;
        } else {
            assert_int_equal(from, 1);
            before++;
        }
        free(bytes);
    }
    assert_true(found);
    /* Fair queueing: node 2's message is not stuck behind the whole flood.
     * libzmq notices a newly readable pipe only between batches, so it may
     * wait behind one inbound queue's worth of the flood (RCVHWM, 1000). */
    assert_true(before < 2500);
    mesh_stop_all(&m);
}

/* ---------------------------------------------------------- client side */

/* Serves an echo ("re:" + request) on a client_endpoint until told to stop. */
typedef struct {
    client_endpoint *ep;
    atomic_int stop;
    atomic_int served;
} echo_server;

static void *echo_main(void *arg)
{
    echo_server *srv = arg;
    while (!atomic_load(&srv->stop)) {
        zmq_pollitem_t item = {.socket = client_endpoint_poll_socket(srv->ep), .events = ZMQ_POLLIN};
        client_request req;
        (void)zmq_poll(&item, 1, 20);
        while (client_endpoint_recv(srv->ep, &req) == NET_OK) {
            uint8_t *out = malloc(req.len + 3);
            if (out != NULL) {
                memcpy(out, "re:", 3);
                memcpy(out + 3, req.data, req.len);
                if (client_endpoint_reply(srv->ep, &req.reply, out, req.len + 3) == NET_OK)
                    atomic_fetch_add(&srv->served, 1);
                free(out);
            }
            free(req.data);
        }
    }
    return NULL;
}

static client_endpoint *endpoint_new(int curve, const net_curve_keypair *kp)
{
    client_endpoint_config cfg;
    client_endpoint *ep = NULL;
    net_error why;
    memset(&cfg, 0, sizeof cfg);
    cfg.endpoint = "tcp://127.0.0.1:*";
    cfg.curve = curve;
    if (curve)
        memcpy(cfg.curve_secret, kp->secret_key, NET_CURVE_KEY_LEN);
    cfg.linger_ms = 10;
    net_err err = client_endpoint_new(&cfg, &ep, &why);
    if (err != NET_OK)
        fail_msg("client_endpoint_new: %s (%s)", net_strerror(err), why.detail);
    return ep;
}

static void expect_echo(client_conn *c, const char *text)
{
    uint8_t *resp = NULL;
    size_t len = 0;
    assert_int_equal(client_conn_call(c, (const uint8_t *)text, strlen(text), &resp, &len), NET_OK);
    assert_int_equal(len, strlen(text) + 3);
    assert_memory_equal(resp, "re:", 3);
    assert_memory_equal(resp + 3, text, strlen(text));
    free(resp);
}

static void test_client_round_trip_over_curve_and_plain(void **state)
{
    (void)state;
    net_curve_keypair kp;
    echo_server srv = {0};
    pthread_t th;
    client_conn *c = NULL;
    net_error why;

    assert_int_equal(net_curve_keypair_generate(&kp), NET_OK);
    srv.ep = endpoint_new(1, &kp);
    assert_non_null(strstr(client_endpoint_endpoint(srv.ep), "tcp://127.0.0.1:"));
    assert_null(strchr(client_endpoint_endpoint(srv.ep), '*'));
    assert_int_equal(pthread_create(&th, NULL, echo_main, &srv), 0);
    assert_int_equal(client_conn_new(client_endpoint_endpoint(srv.ep), kp.public_key, 3000, &c, &why), NET_OK);
    expect_echo(c, "submit ballot");
    expect_echo(c, "query tracking code");
    assert_int_equal(client_conn_call(c, (const uint8_t *)"", 0, &(uint8_t *){NULL}, &(size_t){0}), NET_ERR_EMPTY);
    client_conn_destroy(&c);
    assert_null(c);
    atomic_store(&srv.stop, 1);
    pthread_join(th, NULL);
    client_endpoint_stats st;
    client_endpoint_get_stats(srv.ep, &st);
    assert_int_equal(st.received, 2);
    assert_int_equal(st.replied, 2);
    client_endpoint_destroy(&srv.ep);

    /* Plain endpoint, and a standard REQ socket as the client. */
    srv.ep = endpoint_new(0, NULL);
    atomic_store(&srv.stop, 0);
    assert_int_equal(pthread_create(&th, NULL, echo_main, &srv), 0);
    void *ctx = zmq_ctx_new(), *req = zmq_socket(ctx, ZMQ_REQ);
    int timeout = 3000, zero = 0;
    zmq_setsockopt(req, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
    zmq_setsockopt(req, ZMQ_LINGER, &zero, sizeof zero);
    assert_int_equal(zmq_connect(req, client_endpoint_endpoint(srv.ep)), 0);
    assert_int_equal(zmq_send(req, "ping", 4, 0), 4);
    char buf[16];
    assert_int_equal(zmq_recv(req, buf, sizeof buf, 0), 7);
    assert_memory_equal(buf, "re:ping", 7);
    zmq_close(req);
    zmq_ctx_term(ctx);
    atomic_store(&srv.stop, 1);
    pthread_join(th, NULL);
    client_endpoint_destroy(&srv.ep);
    net_curve_keypair_wipe(&kp);
}

static void test_client_endpoint_drops_malformed_frames(void **state)
{
    (void)state;
    client_endpoint *ep = endpoint_new(0, NULL);
    void *ctx = zmq_ctx_new(), *s = zmq_socket(ctx, ZMQ_DEALER);
    client_request req;
    int zero = 0;
    net_err err;

    zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero);
    assert_int_equal(zmq_connect(s, client_endpoint_endpoint(ep)), 0);
    assert_int_equal(zmq_send(s, "no-delimiter", 12, 0), 12);  /* [body] */
    assert_int_equal(zmq_send(s, "", 0, ZMQ_SNDMORE), 0);      /* [][] */
    assert_int_equal(zmq_send(s, "", 0, 0), 0);
    assert_int_equal(zmq_send(s, "", 0, ZMQ_SNDMORE), 0);      /* [][a][b] */
    assert_int_equal(zmq_send(s, "a", 1, ZMQ_SNDMORE), 1);
    assert_int_equal(zmq_send(s, "b", 1, 0), 1);
    assert_int_equal(zmq_send(s, "x", 1, ZMQ_SNDMORE), 1);     /* [x][body] */
    assert_int_equal(zmq_send(s, "body", 4, 0), 4);
    assert_int_equal(zmq_send(s, "", 0, ZMQ_SNDMORE), 0);      /* [][good] */
    assert_int_equal(zmq_send(s, "good", 4, 0), 4);

    int64_t deadline = now_ms() + WAIT_MS;
    do {
        zmq_pollitem_t item = {.socket = client_endpoint_poll_socket(ep), .events = ZMQ_POLLIN};
        (void)zmq_poll(&item, 1, 50);
        err = client_endpoint_recv(ep, &req);
    } while (err == NET_ERR_AGAIN && now_ms() < deadline);
    assert_int_equal(err, NET_OK);
    assert_int_equal(req.len, 4);
    assert_memory_equal(req.data, "good", 4);
    free(req.data);
    client_endpoint_stats st;
    client_endpoint_get_stats(ep, &st);
    assert_int_equal(st.dropped_malformed, 4);
    assert_int_equal(st.received, 1);
    assert_int_equal(client_endpoint_reply(ep, &req.reply, (const uint8_t *)"", 0), NET_ERR_EMPTY);
    assert_int_equal(client_endpoint_reply(ep, &req.reply, (const uint8_t *)"ok", 2), NET_OK);
    char buf[8];
    zmq_pollitem_t item = {.socket = s, .events = ZMQ_POLLIN};
    assert_int_equal(zmq_poll(&item, 1, WAIT_MS), 1);
    assert_int_equal(zmq_recv(s, buf, sizeof buf, 0), 0); /* delimiter */
    assert_int_equal(zmq_recv(s, buf, sizeof buf, 0), 2);
    assert_memory_equal(buf, "ok", 2);
    zmq_close(s);
    zmq_ctx_term(ctx);
    client_endpoint_destroy(&ep);
}

static void test_client_timeout_then_recovery_on_a_fresh_socket(void **state)
{
    (void)state;
    echo_server srv = {0};
    client_conn *c = NULL;
    client_request stale;
    pthread_t th;
    net_error why;
    uint8_t *resp = NULL;
    size_t len = 0;
    net_err err;
    int64_t start;

    srv.ep = endpoint_new(0, NULL);
    assert_int_equal(client_conn_new(client_endpoint_endpoint(srv.ep), NULL, 200, &c, &why), NET_OK);
    start = now_ms();
    assert_int_equal(client_conn_call(c, (const uint8_t *)"first", 5, &resp, &len), NET_ERR_TIMEOUT);
    assert_true(now_ms() - start >= 190 && now_ms() - start < 2000);

    /* The server gets the first request late; its reply never reaches the
     * new request (that socket is gone: PEER_GONE once libzmq notices). */
    int64_t deadline = now_ms() + WAIT_MS;
    do {
        zmq_pollitem_t item = {.socket = client_endpoint_poll_socket(srv.ep), .events = ZMQ_POLLIN};
        (void)zmq_poll(&item, 1, 50);
        err = client_endpoint_recv(srv.ep, &stale);
    } while (err == NET_ERR_AGAIN && now_ms() < deadline);
    assert_int_equal(err, NET_OK);
    free(stale.data);
    deadline = now_ms() + WAIT_MS;
    while ((err = client_endpoint_reply(srv.ep, &stale.reply, (const uint8_t *)"late", 4)) == NET_OK &&
           now_ms() < deadline)
        sleep_ms(10);
    assert_int_equal(err, NET_ERR_PEER_GONE);

    assert_int_equal(pthread_create(&th, NULL, echo_main, &srv), 0);
    expect_echo(c, "second");
    atomic_store(&srv.stop, 1);
    pthread_join(th, NULL);
    client_endpoint_destroy(&srv.ep);

    /* Nobody listening at all: a timeout, not a hang. */
    assert_int_equal(client_conn_call(c, (const uint8_t *)"third", 5, &resp, &len), NET_ERR_TIMEOUT);
    client_conn_destroy(&c);
}

/* A server that answers with frames that are not [empty][body]. */
static void *bad_server_main(void *arg)
{
    void *router = arg;
    zmq_pollitem_t item = {.socket = router, .events = ZMQ_POLLIN};
    if (zmq_poll(&item, 1, WAIT_MS) == 1) {
        zmq_msg_t id;
        char buf[64];
        int more;
        zmq_msg_init(&id);
        (void)zmq_msg_recv(&id, router, 0);
        do { /* the rest of the request */
            size_t sz = sizeof more;
            (void)zmq_recv(router, buf, sizeof buf, 0);
            zmq_getsockopt(router, ZMQ_RCVMORE, &more, &sz);
        } while (more);
        (void)zmq_msg_send(&id, router, ZMQ_SNDMORE);
        (void)zmq_send(router, "no-delimiter", 12, 0);
    }
    return NULL;
}

static void test_client_conn_reports_malformed_reply(void **state)
{
    (void)state;
    void *ctx = zmq_ctx_new(), *router = zmq_socket(ctx, ZMQ_ROUTER);
    char ep[64];
    size_t ep_len = sizeof ep;
    client_conn *c = NULL;
    net_error why;
    pthread_t th;
    uint8_t *resp = NULL;
    size_t len = 0;
    int zero = 0;

    zmq_setsockopt(router, ZMQ_LINGER, &zero, sizeof zero);
    assert_int_equal(zmq_bind(router, "tcp://127.0.0.1:*"), 0);
    assert_int_equal(zmq_getsockopt(router, ZMQ_LAST_ENDPOINT, ep, &ep_len), 0);
    assert_int_equal(pthread_create(&th, NULL, bad_server_main, router), 0);
    assert_int_equal(client_conn_new(ep, NULL, 3000, &c, &why), NET_OK);
    assert_int_equal(client_conn_call(c, (const uint8_t *)"hi", 2, &resp, &len), NET_ERR_MALFORMED);
    pthread_join(th, NULL);
    client_conn_destroy(&c);
    zmq_close(router);
    zmq_ctx_term(ctx);

    assert_int_equal(client_conn_new("tcp://nowhere", NULL, 100, &c, &why), NET_ERR_ENDPOINT);
    assert_int_equal(client_conn_new("tcp://127.0.0.1:1", NULL, 0, &c, &why), NET_ERR_CONFIG);
    assert_null(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_z85_round_trip_and_invalid_inputs),
        cmocka_unit_test(test_keypair_from_secret_matches_generated),
        cmocka_unit_test(test_curve_key_file_save_load_and_refusals),
        cmocka_unit_test(test_peer_net_rejects_inconsistent_config),
        cmocka_unit_test(test_bind_in_use_is_reported),
        cmocka_unit_test(test_mesh_delivers_unicast_and_broadcast_with_sender_index),
        cmocka_unit_test(test_peer_with_key_outside_the_set_cannot_deliver),
        cmocka_unit_test(test_raw_socket_with_unknown_client_key_is_refused),
        cmocka_unit_test(test_oversized_message_is_never_delivered_and_node_keeps_serving),
        cmocka_unit_test(test_empty_and_multipart_messages_are_dropped_and_counted),
        cmocka_unit_test(test_send_to_dead_peer_never_blocks_and_drops_past_sndhwm),
        cmocka_unit_test(test_dead_peers_queue_is_bounded_in_bytes_too),
        cmocka_unit_test(test_stopped_peers_queue_is_bounded_in_bytes),
        cmocka_unit_test(test_restarted_peer_is_reconnected_and_receives_again),
        cmocka_unit_test(test_flooding_peer_does_not_starve_another),
        cmocka_unit_test(test_client_round_trip_over_curve_and_plain),
        cmocka_unit_test(test_client_endpoint_drops_malformed_frames),
        cmocka_unit_test(test_client_timeout_then_recovery_on_a_fresh_socket),
        cmocka_unit_test(test_client_conn_reports_malformed_reply),
    };
    if (!net_has_curve()) {
        fprintf(stderr, "test_net: this libzmq has no CURVE support; skipping\n");
        return 77;
    }
    return cmocka_run_group_tests(tests, NULL, NULL);
}

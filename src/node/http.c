/* The HTTP glue around metrics.c: libmicrohttpd with one internal polling
 * thread, a listening socket this file binds itself (so a busy port or a
 * bad address gets a precise error), and a snapshot copied under a mutex. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "http.h"
#include "log.h"

#define HTTP_MAX_CONNECTIONS 32
#define HTTP_MAX_PER_IP 16
#define HTTP_TIMEOUT_S 10
#define HTTP_MEMORY_PER_CONNECTION (32 * 1024) /* request line and headers */

struct http_server {
    struct MHD_Daemon *daemon;
    pthread_mutex_t lock;
    metrics_snapshot snap;
};

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int http_read_rss(uint64_t *rss, uint64_t *rss_anon)
{
    char line[256];
    int got = 0;
    FILE *f = fopen("/proc/self/status", "r");

    if (f == NULL)
        return 0;
    while (fgets(line, sizeof line, f)) {
        unsigned long long kb;
        if (sscanf(line, "VmRSS: %llu kB", &kb) == 1) {
            *rss = (uint64_t)kb * 1024u;
            got |= 1;
        } else if (sscanf(line, "RssAnon: %llu kB", &kb) == 1) {
            *rss_anon = (uint64_t)kb * 1024u;
            got |= 2;
        }
    }
    fclose(f);
    return got == 3;
}

/* text is copied; status with a one-line body (text + "\n" is the caller's). */
static enum MHD_Result respond(struct MHD_Connection *c, unsigned status, const char *content_type, char *body,
                               size_t len, int must_free)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(
        len, body, must_free ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_MUST_COPY);
    enum MHD_Result ret;

    if (r == NULL) {
        if (must_free)
            free(body);
        return MHD_NO; /* MHD closes the connection */
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
    ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result respond_text(struct MHD_Connection *c, unsigned status, const char *line)
{
    char body[256];
    int n = snprintf(body, sizeof body, "%s\n", line);
    return respond(c, status, "text/plain; charset=utf-8", body, n > 0 && (size_t)n < sizeof body ? (size_t)n : 0,
                   0);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    http_server *h = cls;
    metrics_snapshot s;
    const char *clen, *te;
    int health;

    (void)version;
    (void)upload_data;
    (void)con_cls;
    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
        return respond_text(c, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed: only GET and HEAD");
    /* No request bodies: answered at once (the body is never read, and MHD
     * closes the connection after the answer). */
    clen = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    te = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING);
    if (*upload_data_size != 0 || te != NULL || (clen != NULL && strcmp(clen, "0") != 0))
        return respond_text(c, MHD_HTTP_CONTENT_TOO_LARGE, "a request body is not accepted here");
    if (strcmp(url, "/healthz") == 0)
        health = 1;
    else if (strcmp(url, "/metrics") == 0)
        health = 0;
    else
        return respond_text(c, MHD_HTTP_NOT_FOUND, "not found: evoted serves /healthz and /metrics");

    pthread_mutex_lock(&h->lock);
    s = h->snap;
    pthread_mutex_unlock(&h->lock);
    if (health) {
        char line[200];
        int ok = metrics_health(&s, mono_ms(), line, sizeof line);
        return respond_text(c, ok ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE, line);
    }
    s.have_rss = http_read_rss(&s.rss_bytes, &s.rss_anon_bytes);
    {
        size_t len = 0;
        char *text = metrics_render(&s, mono_ms(), &len);
        if (text == NULL)
            return respond_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
        return respond(c, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", text, len, 1);
    }
}

/* libmicrohttpd's own messages (refused connections, timeouts) at debug. */
__attribute__((format(printf, 2, 0))) static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    char msg[300];
    size_t n;
    (void)cls;
    if (!log_enabled(LOG_DEBUG))
        return;
    vsnprintf(msg, sizeof msg, fmt, ap);
    n = strlen(msg);
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = '\0';
    log_debug("http: %s", msg);
}

int http_server_new(const char *listen_addr, const metrics_snapshot *first, http_server **out, char *why,
                    size_t why_len)
{
    struct sockaddr_storage addr;
    socklen_t addr_len;
    http_server *h;
    int fd, one = 1;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL | MHD_USE_ERROR_LOG;

    *out = NULL;
    if (!config_http_address(listen_addr, &addr, &addr_len)) {
        snprintf(why, why_len, "http_listen '%s' is not IP:port", listen_addr);
        return 0;
    }
    fd = socket(addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        snprintf(why, why_len, "http_listen %s: cannot create a socket: %s", listen_addr, strerror(errno));
        return 0;
    }
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (addr.ss_family == AF_INET6) {
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
        flags |= MHD_USE_IPv6;
    }
    if (bind(fd, (struct sockaddr *)&addr, addr_len) != 0 || listen(fd, 64) != 0) {
        int e = errno;
        snprintf(why, why_len, "http_listen %s: cannot listen: %s%s", listen_addr, strerror(e),
                 e == EADDRINUSE      ? " (another program uses this port: choose another http_listen)"
                 : e == EADDRNOTAVAIL ? " (no interface of this host has this address)"
                 : e == EACCES        ? " (ports below 1024 need privileges: choose a higher port)"
                                      : "");
        close(fd);
        return 0;
    }
    h = calloc(1, sizeof *h);
    if (h == NULL) {
        close(fd);
        snprintf(why, why_len, "out of memory");
        return 0;
    }
    pthread_mutex_init(&h->lock, NULL);
    h->snap = *first;
    h->daemon = MHD_start_daemon(flags, 0, NULL, NULL, on_request, h, MHD_OPTION_LISTEN_SOCKET, fd,
                                 MHD_OPTION_CONNECTION_LIMIT, (unsigned)HTTP_MAX_CONNECTIONS,
                                 MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)HTTP_MAX_PER_IP,
                                 MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)HTTP_TIMEOUT_S,
                                 MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)HTTP_MEMORY_PER_CONNECTION,
                                 MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, NULL, MHD_OPTION_END);
    if (h->daemon == NULL) {
        close(fd);
        pthread_mutex_destroy(&h->lock);
        free(h);
        snprintf(why, why_len, "http_listen %s: libmicrohttpd could not start (out of memory or threads?)",
                 listen_addr);
        return 0;
    }
    *out = h;
    return 1;
}

void http_server_publish(http_server *self, const metrics_snapshot *s)
{
    pthread_mutex_lock(&self->lock);
    self->snap = *s;
    pthread_mutex_unlock(&self->lock);
}

void http_server_destroy(http_server **self)
{
    http_server *h;
    if (self == NULL || *self == NULL)
        return;
    h = *self;
    MHD_stop_daemon(h->daemon); /* joins the thread and closes the listening socket */
    pthread_mutex_destroy(&h->lock);
    free(h);
    *self = NULL;
}

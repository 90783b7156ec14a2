/* evoted's HTTP endpoint for monitoring: GET /healthz and GET /metrics
 * (README, "Health and metrics"), served by libmicrohttpd on its own
 * thread. That thread never touches the node: the event loop publishes a
 * metrics_snapshot with http_server_publish() and the handlers render a
 * copy of the last one. Only GET and HEAD of those two paths are served
 * (404 for another path, 405 for another method, 413 for a request with a
 * body), with a connection limit and timeouts. */
#ifndef EVOTE_NODE_HTTP_H
#define EVOTE_NODE_HTTP_H

#include <stddef.h>

#include "metrics.h"

typedef struct http_server http_server;

/* Binds listen ("IP:port", see config_http_address) and starts serving
 * first, a snapshot with the node's identity (published_mono_ms 0: /healthz
 * says "starting" until the first http_server_publish).
 * Returns: 1 and *out, or 0 with a sentence for the operator in why. */
int http_server_new(const char *listen, const metrics_snapshot *first, http_server **out, char *why,
                    size_t why_len);

/* Replaces the snapshot the handlers serve (copied under a mutex). Any thread. */
void http_server_publish(http_server *self, const metrics_snapshot *s);

/* Stops the server (waits for its thread; open connections are closed) and
 * frees it; sets *self to NULL. */
void http_server_destroy(http_server **self);

/* Out: RSS and anonymous RSS of this process in bytes, from
 * /proc/self/status (VmRSS, RssAnon). Returns: 1 when both were read. */
int http_read_rss(uint64_t *rss, uint64_t *rss_anon);

#endif

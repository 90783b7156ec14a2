/* Small helpers shared by peer_net, client_endpoint and client_conn. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zmq.h>

#include "net_internal.h"

int net_endpoint_ok(const char *s, int allow_any_port)
{
    const char *host, *colon, *p;
    long port = 0;

    if (s == NULL || strncmp(s, "tcp://", 6) != 0 || strlen(s) > NET_MAX_ENDPOINT)
        return 0;
    host = s + 6;
    colon = strrchr(host, ':');
    if (colon == NULL || colon == host)
        return 0;
    p = colon + 1;
    if (allow_any_port && strcmp(p, "*") == 0)
        return 1;
    if (*p == '\0' || strlen(p) > 5)
        return 0;
    for (; *p; p++) {
        if (*p < '0' || *p > '9')
            return 0;
        port = port * 10 + (*p - '0');
    }
    return port >= 1 && port <= 65535;
}

void net_why(net_error *why, int zmq_errno, const char *fmt, ...)
{
    va_list ap;
    if (why == NULL)
        return;
    why->zmq_errno = zmq_errno;
    va_start(ap, fmt);
    vsnprintf(why->detail, sizeof why->detail, fmt, ap);
    va_end(ap);
}

int net_set_int(void *sock, int option, int value)
{
    return zmq_setsockopt(sock, option, &value, sizeof value);
}

net_err net_bind_err(int zmq_errno)
{
    switch (zmq_errno) {
    case EADDRINUSE:
    case EADDRNOTAVAIL:
    case EACCES:
    case ENODEV:
        return NET_ERR_BIND;
    case EINVAL:
    case EPROTONOSUPPORT:
    case ENOCOMPATPROTO:
        return NET_ERR_ENDPOINT;
    case ENOMEM:
        return NET_ERR_NOMEM;
    default:
        return NET_ERR_ZMQ;
    }
}

/* Helpers shared by the files of src/net (not part of the public API):
 * endpoint checks, filling a net_error, and ZeroMQ option setting. */
#ifndef EVOTE_NET_INTERNAL_H
#define EVOTE_NET_INTERNAL_H

#include <stddef.h>

#include "net.h"

/* Returns: 1 when s is "tcp://host:port" with a non-empty host and a port
 * 1..65535 (or "*" when allow_any_port), else 0. */
int net_endpoint_ok(const char *s, int allow_any_port);

/* Fills *why (when not NULL) with the errno and a printf-style sentence. */
void net_why(net_error *why, int zmq_errno, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* zmq_setsockopt for an int option. Returns: 0 or -1 (errno set). */
int net_set_int(void *sock, int option, int value);

/* Maps the errno of a failed bind/connect to a net_err. */
net_err net_bind_err(int zmq_errno);

#endif

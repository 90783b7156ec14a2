/* evoted's log: one line per event on stderr,
 *   2026-11-25T02:20:01.123Z INFO  commission view=3 seq=17 committed block ...
 * with UTC time, level and node name; callers put view=/seq= first where
 * relevant. Lines are written with one write(2) each, so threads never
 * interleave within a line. Never log a secret. */
#ifndef EVOTE_NODE_LOG_H
#define EVOTE_NODE_LOG_H

#include "config.h"

/* Sets the node name shown on every line and the lowest level written. */
void log_init(const char *node_name, log_level level);

/* Returns: 1 when a message of this level would be written. */
int log_enabled(log_level level);

void log_event(log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_error(...) log_event(LOG_ERROR, __VA_ARGS__)
#define log_warn(...) log_event(LOG_WARN, __VA_ARGS__)
#define log_info(...) log_event(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_event(LOG_DEBUG, __VA_ARGS__)

#endif

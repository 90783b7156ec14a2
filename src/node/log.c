/* One-line-per-event logging for evoted (see log.h). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static char node_name[65] = "evoted";
static log_level min_level = LOG_INFO;

void log_init(const char *name, log_level level)
{
    snprintf(node_name, sizeof node_name, "%s", name);
    min_level = level;
}

int log_enabled(log_level level)
{
    return level <= min_level;
}

void log_event(log_level level, const char *fmt, ...)
{
    static const char *names[] = {"ERROR", "WARN ", "INFO ", "DEBUG"};
    char line[2048];
    struct timespec ts;
    struct tm tm;
    size_t used;
    va_list ap;

    if (!log_enabled(level))
        return;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    used = strftime(line, sizeof line, "%Y-%m-%dT%H:%M:%S", &tm);
    used += (size_t)snprintf(line + used, sizeof line - used, ".%03ldZ %s %s ", ts.tv_nsec / 1000000,
                             names[level], node_name);
    va_start(ap, fmt);
    int n = vsnprintf(line + used, sizeof line - used, fmt, ap);
    va_end(ap);
    if (n < 0)
        n = 0;
    used += (size_t)n;
    if (used > sizeof line - 2)
        used = sizeof line - 2; /* truncated: keep one line */
    /* Control characters from peers (names, reasons) must not forge lines. */
    for (size_t i = 0; i < used; i++)
        if ((unsigned char)line[i] < 0x20)
            line[i] = ' ';
    line[used++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, used);
    (void)w;
}

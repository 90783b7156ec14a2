/* evoted configuration: "key = value" lines, '#' comments, every key known
 * (an unknown key is an error, so a typo never silently keeps a default). */
#include <ctype.h>
#include <errno.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "config.h"

const char *config_strerror(config_err err)
{
    switch (err) {
    case CONFIG_OK: return "success";
    case CONFIG_ERR_READ: return "cannot read the configuration file: check the --config path";
    case CONFIG_ERR_SYNTAX: return "the configuration file has an invalid line: fix the line named";
    case CONFIG_ERR_UNKNOWN: return "the configuration file has an unknown key (a typo?): see README for the keys";
    case CONFIG_ERR_MISSING: return "the configuration file lacks a required key";
    }
    return "unknown configuration error";
}

__attribute__((format(printf, 4, 5)))
static config_err fail(config_error *why, unsigned line, config_err err, const char *fmt, ...)
{
    if (why) {
        va_list ap;
        why->line = line;
        va_start(ap, fmt);
        vsnprintf(why->reason, sizeof why->reason, fmt, ap);
        va_end(ap);
    }
    return err;
}

int log_level_parse(const char *s, log_level *out)
{
    static const char *names[] = {"error", "warn", "info", "debug"};
    for (int i = 0; i < 4; i++)
        if (strcmp(s, names[i]) == 0) {
            *out = (log_level)i;
            return 1;
        }
    return 0;
}

static char *trim(char *s)
{
    char *end;
    while (isspace((unsigned char)*s))
        s++;
    end = s + strlen(s);
    while (end > s && isspace((unsigned char)end[-1]))
        *--end = '\0';
    return s;
}

/* dir/value unless value is absolute. Returns 0 when it does not fit. */
static int set_path(char *dst, const char *dir, const char *value)
{
    int n = value[0] == '/' ? snprintf(dst, CONFIG_MAX_PATH, "%s", value)
                            : snprintf(dst, CONFIG_MAX_PATH, "%s/%s", dir, value);
    return n > 0 && n < CONFIG_MAX_PATH;
}

static int set_u32(uint32_t *dst, const char *value, uint32_t lo, uint32_t hi)
{
    char *end;
    unsigned long v;
    if (!isdigit((unsigned char)value[0]))
        return 0;
    errno = 0;
    v = strtoul(value, &end, 10);
    if (errno || *end || v < lo || v > hi)
        return 0;
    *dst = (uint32_t)v;
    return 1;
}

static int endpoint_ok(const char *s)
{
    return strncmp(s, "tcp://", 6) == 0 && strlen(s) < CONFIG_MAX_ENDPOINT && strchr(s + 6, ':');
}

int config_http_address(const char *s, struct sockaddr_storage *addr, socklen_t *addr_len)
{
    char host[INET6_ADDRSTRLEN + 2];
    const char *colon, *port_text;
    struct sockaddr_storage ss;
    socklen_t len;
    uint32_t port;
    size_t hl;

    if (s == NULL || (colon = strrchr(s, ':')) == NULL)
        return 0;
    port_text = colon + 1;
    if (!set_u32(&port, port_text, 1, 65535))
        return 0;
    hl = (size_t)(colon - s);
    if (hl == 0 || hl >= sizeof host)
        return 0;
    memcpy(host, s, hl);
    host[hl] = '\0';
    memset(&ss, 0, sizeof ss);
    if (host[0] == '[') {
        struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
        if (hl < 3 || host[hl - 1] != ']')
            return 0;
        host[hl - 1] = '\0';
        if (inet_pton(AF_INET6, host + 1, &a6->sin6_addr) != 1)
            return 0;
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)port);
        len = sizeof *a6;
    } else {
        struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
        if (inet_pton(AF_INET, host, &a4->sin_addr) != 1)
            return 0;
        a4->sin_family = AF_INET;
        a4->sin_port = htons((uint16_t)port);
        len = sizeof *a4;
    }
    if (addr != NULL)
        *addr = ss;
    if (addr_len != NULL)
        *addr_len = len;
    return 1;
}

config_err node_config_load(const char *path, node_config *out, config_error *why)
{
    char line[CONFIG_MAX_PATH + 128], dir[CONFIG_MAX_PATH], tmp[CONFIG_MAX_PATH];
    unsigned lineno = 0;
    config_err err = CONFIG_OK;
    FILE *f;

    memset(out, 0, sizeof *out);
    out->log_level = LOG_INFO;
    out->mempool_capacity = 20000;
    out->mempool_max_mb = 64;
    out->view_change_timeout_ms = 1000;
    out->idle_checkpoint_ms = 1000;
    out->client_read_rate = CONFIG_DEFAULT_CLIENT_READ_RATE;
    out->client_refusal_rate = CONFIG_DEFAULT_CLIENT_REFUSAL_RATE;
    snprintf(out->client_listen, sizeof out->client_listen, "tcp://127.0.0.1:7200");
    if (why) {
        why->line = 0;
        why->reason[0] = '\0';
    }
    if (snprintf(tmp, sizeof tmp, "%s", path) >= (int)sizeof tmp)
        return fail(why, 0, CONFIG_ERR_READ, "path too long");
    snprintf(dir, sizeof dir, "%s", dirname(tmp));
    f = fopen(path, "r");
    if (f == NULL)
        return fail(why, 0, CONFIG_ERR_READ, "cannot open %s: %s", path, strerror(errno));

    while (err == CONFIG_OK && fgets(line, sizeof line, f)) {
        char *hash, *eq, *key, *value;
        lineno++;
        if (strchr(line, '\n') == NULL && !feof(f)) {
            err = fail(why, lineno, CONFIG_ERR_SYNTAX, "line too long");
            break;
        }
        if ((hash = strchr(line, '#')) != NULL)
            *hash = '\0';
        key = trim(line);
        if (*key == '\0')
            continue;
        eq = strchr(key, '=');
        if (eq == NULL) {
            err = fail(why, lineno, CONFIG_ERR_SYNTAX, "expected 'key = value'");
            break;
        }
        *eq = '\0';
        key = trim(key);
        value = trim(eq + 1);
        if (*value == '\0' && strcmp(key, "http_listen") != 0 &&
            strcmp(key, "client_curve_listen") != 0) { /* empty: no such server */
            err = fail(why, lineno, CONFIG_ERR_SYNTAX, "%s has no value", key);
        } else if (strcmp(key, "name") == 0) {
            if (strlen(value) >= sizeof out->name)
                err = fail(why, lineno, CONFIG_ERR_SYNTAX, "name is longer than 64 characters");
            else
                strcpy(out->name, value);
        } else if (strcmp(key, "genesis") == 0 || strcmp(key, "key") == 0 ||
                   strcmp(key, "curve_key") == 0 || strcmp(key, "data_dir") == 0) {
            char *dst = strcmp(key, "genesis") == 0 ? out->genesis
                        : strcmp(key, "key") == 0   ? out->key
                        : strcmp(key, "curve_key") == 0 ? out->curve_key
                                                        : out->data_dir;
            if (!set_path(dst, dir, value))
                err = fail(why, lineno, CONFIG_ERR_SYNTAX, "%s: path too long", key);
        } else if (strcmp(key, "client_curve_listen") == 0) {
            if (*value != '\0' && !endpoint_ok(value))
                err = fail(why, lineno, CONFIG_ERR_SYNTAX, "%s must be tcp://host:port (or empty: none)", key);
            else
                snprintf(out->client_curve_listen, CONFIG_MAX_ENDPOINT, "%s", value);
        } else if (strcmp(key, "peer_listen") == 0 || strcmp(key, "client_listen") == 0) {
            char *dst = key[0] == 'p' ? out->peer_listen : out->client_listen;
            if (!endpoint_ok(value))
                err = fail(why, lineno, CONFIG_ERR_SYNTAX, "%s must be tcp://host:port", key);
            else
                snprintf(dst, CONFIG_MAX_ENDPOINT, "%s", value);
        } else if (strcmp(key, "log_level") == 0) {
            if (!log_level_parse(value, &out->log_level))
                err = fail(why, lineno, CONFIG_ERR_SYNTAX, "log_level must be error, warn, info or debug");
        } else if (strcmp(key, "mempool_capacity") == 0) {
            if (!set_u32(&out->mempool_capacity, value, 1, 10000000))
                err = fail(why, lineno, CONFIG_ERR_SYNTAX, "mempool_capacity must be 1..10000000");
        } else if (strcmp(key, "mempool_max_mb") == 0) {
            if (!set_u32(&out->mempool_max_mb, value, 1, 65536))
                err = fail(why, lineno, CONFIG_ERR_SYNTAX, "mempool_max_mb must be 1..65536 (MiB)");
        } else if (strcmp(key, "verify_threads") == 0) {
            if (!set_u32(&out->verify_threads, value, 0, 256))
                err = fail(why, lineno, CONFIG_ERR_SYNTAX,
                           "verify_threads must be 0..256 (threads checking signatures and ballot proofs; 0: one "
                           "per core)");
        } else if (strcmp(key, "view_change_timeout_ms") == 0) {
            if (!set_u32(&out->view_change_timeout_ms, value, 10, 600000))
                err = fail(why, lineno, CONFIG_ERR_SYNTAX, "view_change_timeout_ms must be 10..600000");
        } else if (strcmp(key, "idle_checkpoint_ms") == 0) {
            if (!set_u32(&out->idle_checkpoint_ms, value, 0, 3600000))
                err = fail(why, lineno, CONFIG_ERR_SYNTAX,
                           "idle_checkpoint_ms must be 0..3600000 (0: never propose an idle checkpoint)");
        } else if (strcmp(key, "client_read_rate") == 0) {
            if (!set_u32(&out->client_read_rate, value, 0, 1000000))
                err = fail(why, lineno, CONFIG_ERR_SYNTAX,
                           "client_read_rate must be 0..1000000 (read units per second per client address; 0: "
                           "no limit)");
        } else if (strcmp(key, "client_refusal_rate") == 0) {
            if (!set_u32(&out->client_refusal_rate, value, 0, 1000000))
                err = fail(why, lineno, CONFIG_ERR_SYNTAX,
                           "client_refusal_rate must be 0..1000000 (refused transactions per second per client "
                           "address before its submissions are answered busy without a check; 0: no limit)");
        } else if (strcmp(key, "http_listen") == 0) {
            if (*value != '\0' && !config_http_address(value, NULL, NULL))
                err = fail(why, lineno, CONFIG_ERR_SYNTAX,
                           "http_listen must be IP:port (e.g. 127.0.0.1:9100 or 0.0.0.0:9100; [::1]:9100 for "
                           "IPv6; no host names; port 1..65535), or empty for no HTTP server");
            else
                snprintf(out->http_listen, sizeof out->http_listen, "%s", value);
        } else {
            err = fail(why, lineno, CONFIG_ERR_UNKNOWN, "unknown key '%.60s'", key);
        }
    }
    if (err == CONFIG_OK && ferror(f))
        err = fail(why, 0, CONFIG_ERR_READ, "error reading %s", path);
    fclose(f);
    if (err != CONFIG_OK)
        return err;
    if (!out->name[0])
        return fail(why, 0, CONFIG_ERR_MISSING, "'name' is required");
    if (!out->genesis[0])
        return fail(why, 0, CONFIG_ERR_MISSING, "'genesis' is required");
    if (!out->key[0])
        return fail(why, 0, CONFIG_ERR_MISSING, "'key' is required");
    if (!out->curve_key[0])
        return fail(why, 0, CONFIG_ERR_MISSING, "'curve_key' is required");
    if (!out->data_dir[0])
        return fail(why, 0, CONFIG_ERR_MISSING, "'data_dir' is required");
    return CONFIG_OK;
}

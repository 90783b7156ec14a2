/* Unit tests of src/node: the evoted configuration file and the log. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "log.h"

static char dir[64];
static char path[128];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/evote-test-node-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    snprintf(path, sizeof path, "%s/evoted.conf", dir);
    return 0;
}

static int teardown(void **state)
{
    char cmd[128];
    (void)state;
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void write_config(const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static const char *good =
    "# a validator\n"
    "name = commission\n"
    "genesis = genesis.txt\n"
    "key = keys/commission.key   # 0600\n"
    "curve_key = /etc/evote/commission.curve\n"
    "data_dir = data\n"
    "client_listen = tcp://127.0.0.1:7301\n"
    "log_level = debug\n"
    "mempool_capacity = 5000\n";

static void test_config_parses_and_resolves_relative_paths(void **state)
{
    node_config c;
    config_error why;
    char want[256], text[1024];
    (void)state;
    write_config(good);
    assert_int_equal(node_config_load(path, &c, &why), CONFIG_OK);
    assert_string_equal(c.name, "commission");
    snprintf(want, sizeof want, "%s/genesis.txt", dir);
    assert_string_equal(c.genesis, want);
    snprintf(want, sizeof want, "%s/keys/commission.key", dir);
    assert_string_equal(c.key, want);
    assert_string_equal(c.curve_key, "/etc/evote/commission.curve");
    assert_string_equal(c.client_listen, "tcp://127.0.0.1:7301");
    assert_string_equal(c.peer_listen, "");
    assert_int_equal(c.log_level, LOG_DEBUG);
    assert_int_equal(c.mempool_capacity, 5000);
    assert_int_equal(c.verify_threads, 0); /* absent: one per core */
    assert_int_equal(c.mempool_max_mb, 64);  /* absent: the default */
    assert_int_equal(c.client_refusal_rate, 50);
    assert_int_equal(c.view_change_timeout_ms, 1000);
    assert_int_equal(c.idle_checkpoint_ms, 1000); /* absent: the default */
    assert_string_equal(c.http_listen, ""); /* absent: no HTTP server */

    snprintf(text, sizeof text, "%sverify_threads = 256\n", good);
    write_config(text);
    assert_int_equal(node_config_load(path, &c, &why), CONFIG_OK);
    assert_int_equal(c.verify_threads, 256);
}

static void test_config_http_listen_takes_ip_and_port(void **state)
{
    char text[2048];
    node_config c;
    config_error why;
    struct sockaddr_storage a;
    socklen_t len;
    (void)state;
    snprintf(text, sizeof text, "%shttp_listen = 0.0.0.0:9100\n", good);
    write_config(text);
    assert_int_equal(node_config_load(path, &c, &why), CONFIG_OK);
    assert_string_equal(c.http_listen, "0.0.0.0:9100");
    snprintf(text, sizeof text, "%shttp_listen =\n", good); /* empty: no HTTP server */
    write_config(text);
    assert_int_equal(node_config_load(path, &c, &why), CONFIG_OK);
    assert_string_equal(c.http_listen, "");

    assert_true(config_http_address("127.0.0.1:9100", &a, &len));
    assert_int_equal(a.ss_family, AF_INET);
    assert_int_equal(ntohs(((struct sockaddr_in *)&a)->sin_port), 9100);
    assert_int_equal(len, sizeof(struct sockaddr_in));
    assert_true(config_http_address("[::1]:65535", &a, &len));
    assert_int_equal(a.ss_family, AF_INET6);
    assert_int_equal(ntohs(((struct sockaddr_in6 *)&a)->sin6_port), 65535);
    assert_false(config_http_address("localhost:9100", &a, &len)); /* no resolver */
    assert_false(config_http_address("127.0.0.1", &a, &len));
    assert_false(config_http_address("127.0.0.1:", &a, &len));
    assert_false(config_http_address("127.0.0.1:0", &a, &len));
    assert_false(config_http_address("127.0.0.1:65536", &a, &len));
    assert_false(config_http_address("127.0.0.1:+80", &a, &len));
    assert_false(config_http_address(":9100", &a, &len));
    assert_false(config_http_address("::1:9100", &a, &len));
    assert_false(config_http_address("[::1:9100", &a, &len));
    assert_false(config_http_address("http://127.0.0.1:9100", &a, &len));
    assert_false(config_http_address("256.0.0.1:9100", &a, &len));
}

static void expect(const char *extra, config_err want, unsigned line, const char *words)
{
    char text[2048];
    node_config c;
    config_error why;
    snprintf(text, sizeof text, "%s%s", good, extra);
    write_config(text);
    assert_int_equal(node_config_load(path, &c, &why), want);
    if (line)
        assert_int_equal(why.line, line);
    if (strstr(why.reason, words) == NULL)
        fail_msg("reason '%s' lacks '%s'", why.reason, words);
}

static void test_config_errors_name_the_line(void **state)
{
    (void)state;
    expect("log_levle = info\n", CONFIG_ERR_UNKNOWN, 10, "log_levle");
    expect("just words\n", CONFIG_ERR_SYNTAX, 10, "key = value");
    expect("log_level = loud\n", CONFIG_ERR_SYNTAX, 10, "log_level");
    expect("mempool_capacity = 0\n", CONFIG_ERR_SYNTAX, 10, "mempool_capacity");
    expect("mempool_capacity = 12k\n", CONFIG_ERR_SYNTAX, 10, "mempool_capacity");
    expect("mempool_max_mb = 0\n", CONFIG_ERR_SYNTAX, 10, "mempool_max_mb must be 1..65536 (MiB)");
    expect("mempool_max_mb = 1G\n", CONFIG_ERR_SYNTAX, 10, "mempool_max_mb");
    expect("client_refusal_rate = -1\n", CONFIG_ERR_SYNTAX, 10, "client_refusal_rate must be 0..1000000");
    expect("verify_threads = 257\n", CONFIG_ERR_SYNTAX, 10, "verify_threads must be 0..256");
    expect("verify_threads = two\n", CONFIG_ERR_SYNTAX, 10, "verify_threads");
    expect("view_change_timeout_ms = 5\n", CONFIG_ERR_SYNTAX, 10, "view_change");
    expect("idle_checkpoint_ms = -1\n", CONFIG_ERR_SYNTAX, 10, "idle_checkpoint_ms must be 0..3600000");
    expect("idle_checkpoint_ms = 3600001\n", CONFIG_ERR_SYNTAX, 10, "idle_checkpoint_ms");
    expect("peer_listen = 0.0.0.0:7101\n", CONFIG_ERR_SYNTAX, 10, "tcp://");
    expect("name =\n", CONFIG_ERR_SYNTAX, 10, "no value");
    expect("http_listen = 9100\n", CONFIG_ERR_SYNTAX, 10, "http_listen must be IP:port");
    expect("http_listen = tcp://127.0.0.1:9100\n", CONFIG_ERR_SYNTAX, 10, "http_listen");
    expect("http_listen = metrics.local:9100\n", CONFIG_ERR_SYNTAX, 10, "no host names");
}

static void test_config_missing_required_key_or_file(void **state)
{
    node_config c;
    config_error why;
    (void)state;
    write_config("name = x\ngenesis = g\nkey = k\ncurve_key = c\n");
    assert_int_equal(node_config_load(path, &c, &why), CONFIG_ERR_MISSING);
    assert_non_null(strstr(why.reason, "data_dir"));
    unlink(path);
    assert_int_equal(node_config_load(path, &c, &why), CONFIG_ERR_READ);
    assert_non_null(strstr(why.reason, "No such file"));
}

static void test_log_level_names(void **state)
{
    log_level l;
    (void)state;
    assert_true(log_level_parse("warn", &l));
    assert_int_equal(l, LOG_WARN);
    assert_false(log_level_parse("WARN", &l));
    assert_false(log_level_parse("", &l));
}

/* Runs fn with stderr sent to a file; returns what it wrote. */
static char *capture_stderr(void (*fn)(void))
{
    char file[160];
    static char out[4096];
    int saved = dup(2), fd;
    snprintf(file, sizeof file, "%s/stderr.txt", dir);
    fd = open(file, O_RDWR | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    dup2(fd, 2);
    fn();
    dup2(saved, 2);
    close(saved);
    ssize_t n = pread(fd, out, sizeof out - 1, 0);
    close(fd);
    out[n > 0 ? n : 0] = '\0';
    return out;
}

static void log_some(void)
{
    log_init("north-board", LOG_INFO);
    log_info("view=%d seq=%d committed block", 3, 17);
    log_debug("not shown at info");
    log_warn("peer said \"%s\"", "bad\nFAKE ERROR line");
}

static void test_log_lines_have_time_level_node_and_no_forged_lines(void **state)
{
    (void)state;
    char *out = capture_stderr(log_some);
    char *first = out, *second = strchr(out, '\n');
    assert_non_null(second);
    *second++ = '\0';
    /* 2026-11-25T02:20:01.123Z INFO  north-board view=3 seq=17 committed block */
    assert_int_equal(first[4], '-');
    assert_int_equal(first[10], 'T');
    assert_int_equal(first[23], 'Z');
    assert_non_null(strstr(first, " INFO  north-board view=3 seq=17 committed block"));
    assert_null(strstr(second, "not shown"));
    assert_non_null(strstr(second, "WARN  north-board peer said \"bad FAKE ERROR line\""));
    /* exactly two lines */
    assert_non_null(strchr(second, '\n'));
    assert_int_equal(strchr(second, '\n')[1], '\0');
    assert_true(log_enabled(LOG_WARN));
    assert_false(log_enabled(LOG_DEBUG));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_parses_and_resolves_relative_paths),
        cmocka_unit_test(test_config_http_listen_takes_ip_and_port),
        cmocka_unit_test(test_config_errors_name_the_line),
        cmocka_unit_test(test_config_missing_required_key_or_file),
        cmocka_unit_test(test_log_level_names),
        cmocka_unit_test(test_log_lines_have_time_level_node_and_no_forged_lines),
    };
    return cmocka_run_group_tests_name("node", tests, setup, teardown);
}

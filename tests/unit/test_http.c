/*
 * test_http.c - the observability server on an in-process event_base with
 * a fake provider, driven over raw loopback sockets: every route, the
 * security headers, malformed requests, SSE fan-out, replay, the client
 * limit, slow-client dropping and many concurrent clients.
 *
 * The client side never blocks: sockets are non-blocking and every wait
 * pumps the server's loop until a condition holds or a deadline passes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <cmocka.h>

#include <event2/event.h>

#include "core/http.h"
#include "core/metrics.h"
#include "core/record.h"

#define DEADLINE_MS 5000

struct fx {
    struct event_base *base;
    struct http_server *srv;
    struct metrics *m;
    struct http_settings hs;
    int ready;
    char reason[64];
    char webdir[64];
};

static int fake_ready(void *o, char *reason, size_t len)
{
    struct fx *f = o;
    if (!f->ready)
        snprintf(reason, len, "%s", f->reason);
    return f->ready;
}

static json_t *fake_stats(void *o)
{
    return json_pack("{s:s}", "fake", "yes");
}

static struct metrics *fake_metrics(void *o)
{
    return ((struct fx *)o)->m;
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void pump(struct fx *f)
{
    event_base_loop(f->base, EVLOOP_NONBLOCK);
}

static struct fx *fx_new(int64_t max_clients, int64_t client_buffer)
{
    struct fx *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    f->base = event_base_new();
    f->m = metrics_new(0);
    f->ready = 1;
    snprintf(f->webdir, sizeof(f->webdir), "/tmp/ws-test-web.XXXXXX");
    assert_non_null(mkdtemp(f->webdir));
    char p[128];
    snprintf(p, sizeof(p), "%s/index.html", f->webdir);
    FILE *fp = fopen(p, "w");
    assert_non_null(fp);
    fputs("<!doctype html><title>fixture page</title>\n", fp);
    fclose(fp);
    f->hs.enabled = 1;
    f->hs.listen = "127.0.0.1";
    f->hs.port = 0;
    f->hs.max_sse_clients = max_clients;
    f->hs.sse_client_buffer = client_buffer;
    f->hs.web_root = f->webdir;
    struct http_provider prov = {f, fake_ready, fake_stats, fake_metrics};
    char err[256] = "";
    f->srv = http_server_new(f->base, &f->hs, &prov, err, sizeof(err));
    if (!f->srv)
        fail_msg("http_server_new: %s", err);
    http_server_set_event_rate(f->srv, 0);
    return f;
}

static void fx_free(struct fx *f)
{
    char p[128];
    http_server_free(f->srv);
    metrics_free(f->m);
    event_base_free(f->base);
    snprintf(p, sizeof(p), "%s/index.html", f->webdir);
    unlink(p);
    rmdir(f->webdir);
    free(f);
}

/* A non-blocking client socket connected to the server (rcvbuf > 0: a
 * small receive buffer, set before connecting, for the slow client). */
static int client_connect(struct fx *f, int rcvbuf)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    if (rcvbuf > 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    struct sockaddr_in sa = {.sin_family = AF_INET};
    sa.sin_port = htons((uint16_t)http_server_port(f->srv));
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    return fd;
}

/* Sends all of buf, pumping the server while the socket is full. Returns
 * 0, or -1 when the server closed the connection first. */
static int client_send(struct fx *f, int fd, const char *buf, size_t len)
{
    int64_t end = mono_ms() + DEADLINE_MS;
    while (len > 0 && mono_ms() < end) {
        ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
        if (n > 0) {
            buf += n;
            len -= (size_t)n;
        } else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
            return -1;
        }
        pump(f);
    }
    return len ? -1 : 0;
}

struct resp {
    char *buf;
    size_t len, cap;
    int closed;
};

/* Reads what is available into r (pumping the server first). */
static void client_read(struct fx *f, int fd, struct resp *r)
{
    pump(f);
    for (;;) {
        if (r->cap - r->len < 4096) {
            r->cap = r->cap * 2 + 8192;
            r->buf = realloc(r->buf, r->cap);
            assert_non_null(r->buf);
        }
        ssize_t n = recv(fd, r->buf + r->len, r->cap - r->len - 1, 0);
        if (n > 0) {
            r->len += (size_t)n;
            r->buf[r->len] = '\0';
            continue;
        }
        if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
            r->closed = 1;
        break;
    }
    if (r->buf)
        r->buf[r->len] = '\0';
}

static size_t count(const char *hay, const char *needle)
{
    size_t n = 0;
    if (!hay)
        return 0;
    for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

/* Reads until `needle` appears `times` times, the peer closes, or the
 * deadline. */
static void client_wait(struct fx *f, int fd, struct resp *r, const char *needle, size_t times)
{
    int64_t end = mono_ms() + DEADLINE_MS;
    while (mono_ms() < end) {
        client_read(f, fd, r);
        if (r->closed || (needle && count(r->buf, needle) >= times))
            return;
    }
}

/* One request on its own connection, read until the server closes it. */
static struct resp request(struct fx *f, const char *raw, size_t len)
{
    struct resp r = {0};
    int fd = client_connect(f, 0);
    client_send(f, fd, raw, len);
    client_wait(f, fd, &r, NULL, 0);
    close(fd);
    return r;
}

static struct resp get(struct fx *f, const char *path)
{
    char raw[512];
    int n = snprintf(raw, sizeof(raw), "GET %s HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
                     path);
    return request(f, raw, (size_t)n);
}

static int status(const struct resp *r)
{
    if (!r->buf || strncmp(r->buf, "HTTP/1.", 7) != 0 || r->len < 12)
        return -1;
    return atoi(r->buf + 9);
}

static const char *body(const struct resp *r)
{
    const char *p = r->buf ? strstr(r->buf, "\r\n\r\n") : NULL;
    return p ? p + 4 : "";
}

static struct record *story(const char *id, const char *headline)
{
    struct record *rec = record_new();
    record_set(&rec->id, id, (size_t)-1);
    record_set(&rec->headline, headline, (size_t)-1);
    struct topic_hit *t = record_add_topic(rec);
    record_set(&t->name, "war", (size_t)-1);
    t->score = 0.9;
    struct entity *e = record_add_entity(rec);
    record_set(&e->name, "Kyiv", (size_t)-1);
    e->type = ENTITY_PLACE;
    e->salience = 0.7;
    e->mentions = 2;
    record_set(&rec->dedupe.cluster, "c-1", (size_t)-1);
    rec->dedupe.cluster_size = 1;
    return rec;
}

static void publish(struct fx *f, const char *id, const char *headline)
{
    struct record *rec = story(id, headline);
    http_server_publish(f->srv, rec);
    record_free(rec);
}

/* The JSON of the n-th (0-based) "story" event in the stream, or NULL. */
static json_t *story_event(const char *stream, size_t n)
{
    const char *p = stream;
    for (size_t i = 0; p && (p = strstr(p, "event: story\ndata: ")); i++) {
        p += strlen("event: story\ndata: ");
        if (i == n) {
            const char *nl = strchr(p, '\n');
            if (!nl)
                return NULL;
            return json_loadb(p, (size_t)(nl - p), 0, NULL);
        }
    }
    return NULL;
}

static int open_sse(struct fx *f, int rcvbuf)
{
    int fd = client_connect(f, rcvbuf);
    const char req[] = "GET /events HTTP/1.1\r\nHost: t\r\n\r\n";
    assert_int_equal(client_send(f, fd, req, sizeof(req) - 1), 0);
    return fd;
}

static uint64_t sse_clients(struct fx *f)
{
    struct http_server_counters c;
    http_server_counters(f->srv, &c);
    return c.sse_clients;
}

/* Pumps until the server counts `want` SSE clients, publishing a
 * keep-alive story meanwhile when `poke` (a write finds closed peers). */
static void wait_clients(struct fx *f, uint64_t want, int poke)
{
    int64_t end = mono_ms() + DEADLINE_MS;
    while (sse_clients(f) != want && mono_ms() < end) {
        if (poke)
            publish(f, "poke", "keep-alive");
        pump(f);
        usleep(1000);
    }
    assert_int_equal(sse_clients(f), want);
}

/* ---- tests ------------------------------------------------------------------ */

static void test_health_and_ready(void **unused)
{
    struct fx *f = fx_new(4, 65536);
    assert_true(http_server_port(f->srv) > 0);

    struct resp r = get(f, "/healthz");
    assert_int_equal(status(&r), 200);
    assert_string_equal(body(&r), "ok\n");
    free(r.buf);

    r = get(f, "/readyz");
    assert_int_equal(status(&r), 200);
    assert_string_equal(body(&r), "ready\n");
    free(r.buf);

    f->ready = 0;
    snprintf(f->reason, sizeof(f->reason), "broker unreachable");
    r = get(f, "/readyz");
    assert_int_equal(status(&r), 503);
    assert_string_equal(body(&r), "not ready: broker unreachable\n");
    free(r.buf);
    fx_free(f);
}

static void test_metrics_and_stats(void **unused)
{
    struct fx *f = fx_new(4, 65536);
    for (int i = 0; i < 3; i++)
        metrics_inc_in(f->m, "news.raw");
    metrics_inc_reject(f->m, "decode_error");

    struct resp r = get(f, "/metrics");
    assert_int_equal(status(&r), 200);
    assert_non_null(strstr(r.buf, "Content-Type: text/plain; version=0.0.4"));
    assert_non_null(strstr(body(&r), "\nwirestream_records_in_total{topic=\"news.raw\"} 3\n"));
    assert_non_null(strstr(body(&r), "\nwirestream_rejects_total{reason=\"decode_error\"} 1\n"));
    assert_non_null(strstr(body(&r), "\nwirestream_ready 1\n"));
    free(r.buf);

    r = get(f, "/stats");
    assert_int_equal(status(&r), 200);
    assert_non_null(strstr(r.buf, "Content-Type: application/json"));
    json_t *o = json_loads(body(&r), 0, NULL);
    assert_non_null(o);
    assert_true(json_is_true(json_object_get(o, "ready")));
    assert_string_equal(json_string_value(json_object_get(json_object_get(o, "pipeline"), "fake")),
                        "yes");
    json_t *in = json_object_get(json_object_get(o, "metrics"), "records_in");
    assert_int_equal(json_integer_value(json_object_get(in, "total")), 3);
    json_decref(o);
    free(r.buf);
    fx_free(f);
}

static void test_static_files_and_headers(void **unused)
{
    struct fx *f = fx_new(4, 65536);
    struct resp r = get(f, "/");
    assert_int_equal(status(&r), 200);
    assert_non_null(strstr(body(&r), "<title>fixture page</title>"));
    assert_non_null(strstr(r.buf, "Content-Type: text/html; charset=utf-8"));
    assert_non_null(strstr(r.buf, "Content-Security-Policy: default-src 'none'; script-src 'self'"));
    assert_non_null(strstr(r.buf, "X-Content-Type-Options: nosniff"));
    free(r.buf);

    /* only the listed files exist; no request path reaches the disk */
    const char *missing[] = {"/style.css", "/../../../etc/passwd", "/index.html/..", "/nope",
                             "/%2e%2e/%2e%2e/etc/passwd"};
    for (size_t i = 0; i < sizeof(missing) / sizeof(missing[0]); i++) {
        r = get(f, missing[i]);
        assert_int_equal(status(&r), 404);
        assert_null(strstr(r.buf, "root:"));
        free(r.buf);
    }
    fx_free(f);
}

static void test_malformed_requests(void **unused)
{
    struct fx *f = fx_new(4, 65536);

    /* the half-sent request stays open through everything below */
    int half = client_connect(f, 0);
    client_send(f, half, "GET /healthz HTTP/1.1\r\nHo", 25);

    struct resp r = request(f, "garbage\r\n\r\n", 11);
    assert_true(status(&r) != 200);
    free(r.buf);

    char bin[4096];
    for (size_t i = 0; i < sizeof(bin); i++)
        bin[i] = (char)((i * 2654435761u) >> 13);
    r = request(f, bin, sizeof(bin));
    assert_true(status(&r) != 200);
    free(r.buf);

    size_t big = 200000;
    char *huge = malloc(big + 64);
    int n = snprintf(huge, 64, "GET /healthz HTTP/1.1\r\nX-Big: ");
    memset(huge + n, 'a', big);
    memcpy(huge + n + big, "\r\n\r\n", 4);
    r = request(f, huge, (size_t)n + big + 4);
    assert_true(status(&r) == 400 || status(&r) == 413 || status(&r) == -1);
    free(r.buf);
    free(huge);

    r = request(f, "BREW /healthz HTCPCP/1.0\r\n\r\n", 28);
    assert_true(status(&r) != 200);
    free(r.buf);

    const char post[] = "POST /healthz HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc";
    r = request(f, post, sizeof(post) - 1);
    assert_int_equal(status(&r), 501);    /* evhttp 2.1: method not allowed here */
    free(r.buf);

    const char nover[] = "GET /healthz\r\n\r\n";
    r = request(f, nover, sizeof(nover) - 1);
    assert_true(status(&r) != 200 || strstr(r.buf, "ok") != NULL);
    free(r.buf);

    /* still serving, and the half request can still complete */
    r = get(f, "/healthz");
    assert_int_equal(status(&r), 200);
    free(r.buf);
    struct resp h = {0};
    client_send(f, half, "st: t\r\nConnection: close\r\n\r\n", 29);
    client_wait(f, half, &h, NULL, 0);
    assert_int_equal(status(&h), 200);
    free(h.buf);
    close(half);
    fx_free(f);
}

static void test_sse_story_event(void **unused)
{
    struct fx *f = fx_new(4, 65536);
    int fd = open_sse(f, 0);
    struct resp r = {0};
    client_wait(f, fd, &r, "event: hello", 1);
    assert_non_null(strstr(r.buf, "Content-Type: text/event-stream"));
    assert_non_null(strstr(r.buf, "Content-Security-Policy:"));

    const char *hostile = "<script>document.title='pwned'</script>\nline two \"quoted\" &amp;";
    struct record *rec = story("s-1", hostile);
    rec->dedupe.status = DEDUPE_NEAR_DUPLICATE;
    rec->dedupe.cluster_size = 3;
    record_set(&rec->dedupe.duplicate_of, "s-0", (size_t)-1);
    http_server_publish(f->srv, rec);
    record_free(rec);
    publish(f, "s-2", "bad \xff\xfe utf-8");

    client_wait(f, fd, &r, "event: story", 2);
    json_t *ev = story_event(r.buf, 0);
    assert_non_null(ev);
    assert_string_equal(json_string_value(json_object_get(ev, "id")), "s-1");
    assert_string_equal(json_string_value(json_object_get(ev, "headline")), hostile);
    json_t *d = json_object_get(ev, "dedupe");
    assert_string_equal(json_string_value(json_object_get(d, "status")), "near_duplicate");
    assert_int_equal(json_integer_value(json_object_get(d, "cluster_size")), 3);
    assert_string_equal(json_string_value(json_object_get(d, "duplicate_of")), "s-0");
    json_t *t0 = json_array_get(json_object_get(ev, "topics"), 0);
    assert_string_equal(json_string_value(json_object_get(t0, "name")), "war");
    json_t *e0 = json_array_get(json_object_get(ev, "entities"), 0);
    assert_string_equal(json_string_value(json_object_get(e0, "name")), "Kyiv");
    assert_string_equal(json_string_value(json_object_get(e0, "type")), "place");
    json_decref(ev);

    ev = story_event(r.buf, 1);   /* invalid UTF-8 still makes valid JSON */
    assert_non_null(ev);
    assert_string_equal(json_string_value(json_object_get(ev, "headline")), "bad ?? utf-8");
    json_decref(ev);
    free(r.buf);
    close(fd);
    wait_clients(f, 0, 1);
    fx_free(f);
}

static void test_sse_replay(void **unused)
{
    struct fx *f = fx_new(4, 65536);
    publish(f, "r-1", "first");
    publish(f, "r-2", "second");
    publish(f, "r-3", "third");
    int fd = open_sse(f, 0);
    struct resp r = {0};
    client_wait(f, fd, &r, "event: story", 3);
    const char *a = strstr(r.buf, "\"r-1\""), *b = strstr(r.buf, "\"r-2\""),
               *c = strstr(r.buf, "\"r-3\"");
    assert_true(a && b && c && a < b && b < c);
    /* a reconnect names the last id it saw and gets only what it missed:
     * find the id line of r-2's event (the one after r-1's) */
    const char *p2 = strstr(strstr(a, "\n\n") + 2, "id: ");
    assert_non_null(p2);
    uint64_t id2 = strtoull(p2 + 4, NULL, 10);
    const char *next_id = strstr(p2 + 4, "id: ");
    assert_true(b > p2 && (!next_id || b < next_id));
    free(r.buf);
    close(fd);
    publish(f, "r-4", "fourth");
    char raw[256];
    int n = snprintf(raw, sizeof(raw),
                     "GET /events HTTP/1.1\r\nHost: t\r\nLast-Event-ID: %llu\r\n\r\n",
                     (unsigned long long)id2);
    fd = client_connect(f, 0);
    assert_int_equal(client_send(f, fd, raw, (size_t)n), 0);
    memset(&r, 0, sizeof(r));
    client_wait(f, fd, &r, "event: story", 2);
    assert_null(strstr(r.buf, "\"r-1\""));
    assert_null(strstr(r.buf, "\"r-2\""));
    assert_non_null(strstr(r.buf, "\"r-3\""));
    assert_non_null(strstr(r.buf, "\"r-4\""));
    free(r.buf);
    close(fd);
    fx_free(f);   /* frees a connected client too (ASan checks for leaks) */
}

static void test_sse_client_limit(void **unused)
{
    struct fx *f = fx_new(2, 65536);
    int a = open_sse(f, 0), b = open_sse(f, 0);
    wait_clients(f, 2, 0);

    struct resp r = {0};
    int c = open_sse(f, 0);
    client_wait(f, c, &r, "\r\n\r\n", 1);
    assert_int_equal(status(&r), 503);
    assert_non_null(strstr(r.buf, "Retry-After: 10"));
    free(r.buf);
    close(c);
    struct http_server_counters k;
    http_server_counters(f->srv, &k);
    assert_int_equal(k.sse_rejected, 1);

    /* a place frees up once the server notices a client left */
    close(a);
    wait_clients(f, 1, 1);
    memset(&r, 0, sizeof(r));
    c = open_sse(f, 0);
    client_wait(f, c, &r, "event: hello", 1);
    assert_int_equal(status(&r), 200);
    free(r.buf);
    close(b);
    close(c);
    fx_free(f);
}

static void test_slow_client_dropped(void **unused)
{
    const int64_t limit = 16384;
    struct fx *f = fx_new(4, limit);
    int slow = open_sse(f, 1024);        /* never reads */
    int fast = open_sse(f, 0);
    wait_clients(f, 2, 0);

    char headline[300];
    memset(headline, 'x', sizeof(headline) - 1);
    headline[sizeof(headline) - 1] = '\0';
    struct resp r = {0};
    struct http_server_counters k;
    int published = 0;
    int64_t end = mono_ms() + 4 * DEADLINE_MS;
    do {
        for (int i = 0; i < 20; i++, published++)
            publish(f, "slow", headline);
        client_read(f, fast, &r);           /* the fast client keeps up */
        http_server_counters(f->srv, &k);
    } while (k.sse_dropped == 0 && published < 200000 && mono_ms() < end);
    assert_int_equal(k.sse_dropped, 1);
    assert_int_equal(k.sse_clients, 1);

    /* the fast client got every story, the slow one did not stop it */
    client_wait(f, fast, &r, "event: story", (size_t)published);
    assert_int_equal(count(r.buf, "event: story"), (size_t)published);
    assert_int_equal(r.closed, 0);

    /* the slow client finds its connection closed after what it had */
    struct resp s = {0};
    client_wait(f, slow, &s, NULL, 0);
    assert_int_equal(s.closed, 1);
    assert_true(count(s.buf, "event: story") < (size_t)published);
    free(s.buf);
    free(r.buf);
    close(slow);
    close(fast);
    fx_free(f);
}

static void test_many_clients(void **unused)
{
    enum { N = 48, STORIES = 25 };
    struct fx *f = fx_new(64, 65536);
    int fds[N];
    struct resp rs[N];
    memset(rs, 0, sizeof(rs));
    for (int i = 0; i < N; i++)
        fds[i] = open_sse(f, 0);
    wait_clients(f, N, 0);
    for (int i = 0; i < STORIES; i++)
        publish(f, "many", "one story for every dashboard");
    for (int i = 0; i < N; i++) {
        client_wait(f, fds[i], &rs[i], "event: story", STORIES);
        assert_int_equal(count(rs[i].buf, "event: story"), STORIES);
        free(rs[i].buf);
        close(fds[i]);
    }
    /* every client is gone once writes find the peers closed */
    wait_clients(f, 0, 1);
    struct resp r = get(f, "/healthz");
    assert_int_equal(status(&r), 200);
    free(r.buf);
    fx_free(f);
}

static void test_event_rate_and_port_in_use(void **unused)
{
    struct fx *f = fx_new(4, 65536);
    http_server_set_event_rate(f->srv, 5);
    for (int i = 0; i < 20; i++)
        publish(f, "rate", "many stories at once");
    struct http_server_counters k;
    http_server_counters(f->srv, &k);
    assert_int_equal(k.events_published + k.events_skipped, 20);
    assert_true(k.events_published <= 10);   /* 5 per second, maybe two seconds */
    assert_true(k.events_skipped >= 10);

    struct http_settings hs = f->hs;
    hs.port = http_server_port(f->srv);
    char err[256] = "";
    struct http_server *second = http_server_new(f->base, &hs, NULL, err, sizeof(err));
    assert_null(second);
    assert_non_null(strstr(err, "cannot listen on 127.0.0.1:"));
    fx_free(f);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_health_and_ready),
        cmocka_unit_test(test_metrics_and_stats),
        cmocka_unit_test(test_static_files_and_headers),
        cmocka_unit_test(test_malformed_requests),
        cmocka_unit_test(test_sse_story_event),
        cmocka_unit_test(test_sse_replay),
        cmocka_unit_test(test_sse_client_limit),
        cmocka_unit_test(test_slow_client_dropped),
        cmocka_unit_test(test_many_clients),
        cmocka_unit_test(test_event_rate_and_port_in_use),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * http.c - see http.h. One evhttp on the pipeline's loop; a generic
 * callback routes by path so that unknown paths, static files and the
 * event stream share one place that sets the security headers.
 *
 * SSE clients are a doubly linked list. A client leaves it in exactly one
 * place, the connection's close callback, which libevent calls both when we
 * free the connection (slow client, shutdown) and when a write finds the
 * peer gone.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <netinet/in.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "http.h"
#include "log.h"

#define MOD "http"
#define HTTP_TIMEOUT_S 30            /* idle/slow requests, stuck writes */
#define HTTP_MAX_HEADERS 16384
#define HTTP_MAX_BODY 4096           /* we take GET and HEAD only */
#define HTTP_MAX_FILE (1 << 20)
#define HTTP_HEADLINE_MAX 400        /* bytes of headline in an event */
#define HTTP_EVENT_TOPICS 5
#define HTTP_EVENT_ENTITIES 6
#define HTTP_TOP_ENTITIES 15

/* No inline script or style, nothing from elsewhere: even if an article's
 * text reached the DOM as markup, the browser would run none of it. */
static const char csp[] =
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

struct sse_client {
    struct http_server *srv;
    struct evhttp_request *req;
    struct sse_client *prev, *next;
};

struct http_server {
    struct event_base *base;
    struct evhttp *http;
    struct http_provider prov;
    int port;
    size_t max_clients;
    size_t client_buffer;
    char *web_root;

    struct sse_client *clients;
    struct evbuffer *scratch;        /* one chunk, handed to evhttp per client */
    struct event *tick;              /* stats event + dead-peer detection */

    char *replay[HTTP_REPLAY_EVENTS];/* SSE messages, oldest at replay_next */
    size_t replay_len[HTTP_REPLAY_EVENTS];
    uint64_t replay_id[HTTP_REPLAY_EVENTS];
    size_t replay_next;
    uint64_t event_id;

    unsigned rate;
    int64_t rate_sec;
    unsigned rate_used;

    int closing;
    struct http_server_counters c;
};

static int64_t now_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

/* ---- SSE clients --------------------------------------------------------- */

static void client_unlink(struct sse_client *cl)
{
    struct http_server *srv = cl->srv;
    if (cl->prev)
        cl->prev->next = cl->next;
    else
        srv->clients = cl->next;
    if (cl->next)
        cl->next->prev = cl->prev;
    srv->c.sse_clients--;
}

/* evhttp's close callback: the one exit of a client. If libevent already
 * detached the request (the peer went away), the request is ours to free,
 * which evhttp_send_reply_end() does for a request without a connection;
 * otherwise freeing the connection frees the request too. */
static void on_client_close(struct evhttp_connection *evcon, void *arg)
{
    struct sse_client *cl = arg;
    client_unlink(cl);
    if (evhttp_request_get_connection(cl->req) == NULL)
        evhttp_send_reply_end(cl->req);
    evhttp_connection_set_closecb(evcon, NULL, NULL);
    free(cl);
}

static void client_drop(struct sse_client *cl)
{
    struct evhttp_connection *evcon = evhttp_request_get_connection(cl->req);
    if (evcon) {
        evhttp_connection_free(evcon);   /* calls on_client_close() */
        return;
    }
    client_unlink(cl);                   /* not expected: closecb runs first */
    evhttp_send_reply_end(cl->req);
    free(cl);
}

static size_t client_queued(const struct sse_client *cl)
{
    struct evhttp_connection *evcon = evhttp_request_get_connection(cl->req);
    if (!evcon)
        return 0;
    return evbuffer_get_length(bufferevent_get_output(evhttp_connection_get_bufferevent(evcon)));
}

/* Queues msg to one client, or drops the client when its backlog would
 * pass the limit. Returns 0 when sent, -1 when the client was dropped. */
static int client_send(struct sse_client *cl, const char *msg, size_t len)
{
    struct http_server *srv = cl->srv;
    if (client_queued(cl) + len > srv->client_buffer) {
        srv->c.sse_dropped++;
        log_info(MOD, "dashboard client dropped: %zu bytes not read (limit %zu)",
                 client_queued(cl), srv->client_buffer);
        client_drop(cl);
        return -1;
    }
    evbuffer_add(srv->scratch, msg, len);
    evhttp_send_reply_chunk(cl->req, srv->scratch);
    evbuffer_drain(srv->scratch, evbuffer_get_length(srv->scratch));
    return 0;
}

static void broadcast(struct http_server *srv, const char *msg, size_t len)
{
    struct sse_client *cl = srv->clients, *next;
    for (; cl; cl = next) {
        next = cl->next;          /* cl may be freed by client_send() */
        client_send(cl, msg, len);
    }
}

/* "event: NAME\ndata: JSON\n\n" with an id; malloc'd, NULL on failure. */
static char *sse_message(struct http_server *srv, const char *event, json_t *data,
                         size_t *len)
{
    char *js = json_dumps(data, JSON_COMPACT);
    if (!js)
        return NULL;
    /* json_dumps escapes CR and LF inside strings: one data line. */
    size_t cap = strlen(js) + strlen(event) + 64;
    char *msg = malloc(cap);
    if (msg) {
        int n = snprintf(msg, cap, "id: %" PRIu64 "\nevent: %s\ndata: %s\n\n", ++srv->event_id,
                         event, js);
        *len = (size_t)n;
    }
    free(js);
    return msg;
}

/* ---- building a story event ------------------------------------------------ */

/* A JSON string of s (at most max bytes, cut on a UTF-8 boundary); bytes
 * that are not valid UTF-8 become '?', so a bad article never breaks the
 * stream. */
static json_t *jstr(const char *s, size_t max)
{
    if (!s)
        return json_null();
    size_t len = strlen(s);
    if (len > max) {
        len = max;
        while (len > 0 && ((unsigned char)s[len] & 0xC0) == 0x80)
            len--;
    }
    json_t *j = json_stringn(s, len);
    if (j)
        return j;
    char *copy = ws_strndup(s, len);
    if (!copy)
        return json_null();
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)copy[i] >= 0x80)
            copy[i] = '?';
    j = json_stringn(copy, len);
    free(copy);
    return j ? j : json_null();
}

static int topic_cmp(const void *a, const void *b)
{
    const struct topic_hit *x = *(const struct topic_hit *const *)a;
    const struct topic_hit *y = *(const struct topic_hit *const *)b;
    return (x->score < y->score) - (x->score > y->score);
}

static int entity_cmp(const void *a, const void *b)
{
    const struct entity *x = *(const struct entity *const *)a;
    const struct entity *y = *(const struct entity *const *)b;
    if (x->salience != y->salience)
        return (x->salience < y->salience) - (x->salience > y->salience);
    return (x->mentions < y->mentions) - (x->mentions > y->mentions);
}

static json_t *story_json(const struct record *rec)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    json_object_set_new(o, "id", jstr(rec->id, 256));
    json_object_set_new(o, "headline", jstr(rec->headline, HTTP_HEADLINE_MAX));
    json_object_set_new(o, "source", jstr(rec->source ? rec->source : rec->agency, 128));
    json_object_set_new(o, "date", jstr(rec->date, 64));
    json_object_set_new(o, "dateline", jstr(rec->dateline, 128));

    json_t *topics = json_array();
    if (rec->ntopics) {
        const struct topic_hit **t = malloc(rec->ntopics * sizeof(*t));
        if (t) {
            for (size_t i = 0; i < rec->ntopics; i++)
                t[i] = &rec->topics[i];
            qsort(t, rec->ntopics, sizeof(*t), topic_cmp);
            for (size_t i = 0; i < rec->ntopics && i < HTTP_EVENT_TOPICS; i++)
                json_array_append_new(topics, json_pack("{s:o, s:f}", "name",
                                                        jstr(t[i]->name, 128), "score",
                                                        t[i]->score));
            free(t);
        }
    }
    json_object_set_new(o, "topics", topics);

    json_t *ents = json_array();
    if (rec->nentities) {
        const struct entity **e = malloc(rec->nentities * sizeof(*e));
        if (e) {
            for (size_t i = 0; i < rec->nentities; i++)
                e[i] = &rec->entities[i];
            qsort(e, rec->nentities, sizeof(*e), entity_cmp);
            for (size_t i = 0; i < rec->nentities && i < HTTP_EVENT_ENTITIES; i++)
                json_array_append_new(
                    ents, json_pack("{s:o, s:s, s:o, s:i}", "name", jstr(e[i]->name, 128),
                                    "type", record_entity_type_name(e[i]->type), "qid",
                                    jstr(e[i]->id, 32), "mentions", (int)e[i]->mentions));
            free(e);
        }
    }
    json_object_set_new(o, "entities", ents);

    const struct dedupe_info *d = &rec->dedupe;
    json_object_set_new(o, "dedupe",
                        json_pack("{s:s, s:o, s:o, s:I, s:f}", "status",
                                  record_dedupe_status_name(d->status), "cluster",
                                  jstr(d->cluster, 256), "duplicate_of",
                                  jstr(d->duplicate_of, 256), "cluster_size",
                                  (json_int_t)d->cluster_size, "similarity", d->similarity));
    json_object_set_new(o, "ts", json_integer(now_ms()));
    return o;
}

static void replay_push(struct http_server *srv, char *msg, size_t len)
{
    free(srv->replay[srv->replay_next]);
    srv->replay[srv->replay_next] = msg;
    srv->replay_len[srv->replay_next] = len;
    srv->replay_id[srv->replay_next] = srv->event_id;
    srv->replay_next = (srv->replay_next + 1) % HTTP_REPLAY_EVENTS;
}

void http_server_publish(struct http_server *srv, const struct record *rec)
{
    if (!srv || !rec)
        return;
    if (srv->rate) {
        int64_t sec = now_ms() / 1000;
        if (sec != srv->rate_sec) {
            srv->rate_sec = sec;
            srv->rate_used = 0;
        }
        if (srv->rate_used >= srv->rate) {
            srv->c.events_skipped++;
            return;
        }
        srv->rate_used++;
    }
    json_t *ev = story_json(rec);
    size_t len = 0;
    char *msg = ev ? sse_message(srv, "story", ev, &len) : NULL;
    json_decref(ev);
    if (!msg)
        return;
    srv->c.events_published++;
    broadcast(srv, msg, len);
    replay_push(srv, msg, len);
}

void http_server_set_event_rate(struct http_server *srv, unsigned per_second)
{
    srv->rate = per_second;
}

/* ---- the stats event --------------------------------------------------------- */

static int provider_ready(struct http_server *srv, char *reason, size_t len)
{
    reason[0] = '\0';
    if (!srv->prov.ready)
        return 1;
    int r = srv->prov.ready(srv->prov.opaque, reason, len);
    if (!r && !reason[0])
        snprintf(reason, len, "not ready");
    return r;
}

static json_t *server_json(const struct http_server *srv)
{
    return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:i}", "requests",
                     (json_int_t)srv->c.requests, "sse_clients", (json_int_t)srv->c.sse_clients,
                     "sse_rejected", (json_int_t)srv->c.sse_rejected, "sse_dropped",
                     (json_int_t)srv->c.sse_dropped, "events_published",
                     (json_int_t)srv->c.events_published, "events_skipped",
                     (json_int_t)srv->c.events_skipped, "port", srv->port);
}

static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
    struct http_server *srv = arg;
    if (!srv->clients)
        return;
    struct metrics *m = srv->prov.metrics ? srv->prov.metrics(srv->prov.opaque) : NULL;
    json_t *o = m ? metrics_to_json(m, now_ms(), HTTP_TOP_ENTITIES) : json_object();
    if (!o)
        return;
    char reason[256];
    int ready = provider_ready(srv, reason, sizeof(reason));
    json_object_set_new(o, "ready", json_boolean(ready));
    json_object_set_new(o, "reason", json_string(reason));
    json_object_set_new(o, "server", server_json(srv));
    json_object_set_new(o, "t", json_integer(now_ms()));
    size_t len;
    char *msg = sse_message(srv, "stats", o, &len);
    json_decref(o);
    if (msg)
        broadcast(srv, msg, len);   /* also finds peers that went away */
    free(msg);
}

/* ---- responses ------------------------------------------------------------- */

static void common_headers(struct evhttp_request *req, const char *ctype)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "Content-Type", ctype);
    evhttp_add_header(h, "Content-Security-Policy", csp);
    evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
    evhttp_add_header(h, "Referrer-Policy", "no-referrer");
    evhttp_add_header(h, "X-Frame-Options", "DENY");
    evhttp_add_header(h, "Cache-Control", "no-store");
}

static void reply_text(struct evhttp_request *req, int code, const char *reason,
                       const char *text)
{
    struct evbuffer *b = evbuffer_new();
    if (!b) {
        evhttp_send_error(req, HTTP_INTERNAL, NULL);
        return;
    }
    common_headers(req, "text/plain; charset=utf-8");
    evbuffer_add_printf(b, "%s\n", text);
    evhttp_send_reply(req, code, reason, b);
    evbuffer_free(b);
}

static void reply_json(struct evhttp_request *req, json_t *o)
{
    char *js = o ? json_dumps(o, JSON_INDENT(1)) : NULL;
    json_decref(o);
    if (!js) {
        reply_text(req, HTTP_INTERNAL, "Internal Server Error", "out of memory");
        return;
    }
    struct evbuffer *b = evbuffer_new();
    if (b) {
        common_headers(req, "application/json");
        evbuffer_add(b, js, strlen(js));
        evbuffer_add(b, "\n", 1);
        evhttp_send_reply(req, HTTP_OK, "OK", b);
        evbuffer_free(b);
    } else {
        evhttp_send_error(req, HTTP_INTERNAL, NULL);
    }
    free(js);
}

static void serve_readyz(struct http_server *srv, struct evhttp_request *req)
{
    char reason[256], text[300];
    if (provider_ready(srv, reason, sizeof(reason))) {
        reply_text(req, HTTP_OK, "OK", "ready");
    } else {
        snprintf(text, sizeof(text), "not ready: %s", reason);
        reply_text(req, 503, "Service Unavailable", text);
    }
}

static void serve_metrics(struct http_server *srv, struct evhttp_request *req)
{
    struct metrics *m = srv->prov.metrics ? srv->prov.metrics(srv->prov.opaque) : NULL;
    struct evbuffer *b = evbuffer_new();
    if (!b) {
        evhttp_send_error(req, HTTP_INTERNAL, NULL);
        return;
    }
    if (m) {
        size_t len;
        char *text = metrics_render_prometheus(m, now_ms(), &len);
        if (!text) {
            evbuffer_free(b);
            reply_text(req, HTTP_INTERNAL, "Internal Server Error", "out of memory");
            return;
        }
        evbuffer_add(b, text, len);
        free(text);
    }
    char reason[256];
    int ready = provider_ready(srv, reason, sizeof(reason));
    evbuffer_add_printf(b,
                        "# HELP wirestream_ready 1 when /readyz answers 200.\n"
                        "# TYPE wirestream_ready gauge\nwirestream_ready %d\n"
                        "# HELP wirestream_http_requests_total HTTP requests served.\n"
                        "# TYPE wirestream_http_requests_total counter\n"
                        "wirestream_http_requests_total %" PRIu64 "\n"
                        "# HELP wirestream_sse_clients Dashboard clients connected.\n"
                        "# TYPE wirestream_sse_clients gauge\nwirestream_sse_clients %" PRIu64 "\n"
                        "# HELP wirestream_sse_dropped_total Dashboard clients dropped for "
                        "reading too slowly.\n"
                        "# TYPE wirestream_sse_dropped_total counter\n"
                        "wirestream_sse_dropped_total %" PRIu64 "\n"
                        "# HELP wirestream_sse_rejected_total Dashboard clients refused "
                        "(max_sse_clients).\n"
                        "# TYPE wirestream_sse_rejected_total counter\n"
                        "wirestream_sse_rejected_total %" PRIu64 "\n",
                        ready, srv->c.requests, srv->c.sse_clients, srv->c.sse_dropped,
                        srv->c.sse_rejected);
    common_headers(req, "text/plain; version=0.0.4; charset=utf-8");
    evhttp_send_reply(req, HTTP_OK, "OK", b);
    evbuffer_free(b);
}

static void serve_stats(struct http_server *srv, struct evhttp_request *req)
{
    json_t *o = json_object();
    if (!o) {
        reply_json(req, NULL);
        return;
    }
    char reason[256];
    int ready = provider_ready(srv, reason, sizeof(reason));
    json_object_set_new(o, "ready", json_boolean(ready));
    json_object_set_new(o, "reason", json_string(reason));
    struct metrics *m = srv->prov.metrics ? srv->prov.metrics(srv->prov.opaque) : NULL;
    if (m)
        json_object_set_new(o, "metrics", metrics_to_json(m, now_ms(), HTTP_TOP_ENTITIES));
    if (srv->prov.stats_json) {
        json_t *ps = srv->prov.stats_json(srv->prov.opaque);
        if (ps)
            json_object_set_new(o, "pipeline", ps);
    }
    json_object_set_new(o, "server", server_json(srv));
    reply_json(req, o);
}

static void serve_events(struct http_server *srv, struct evhttp_request *req)
{
    if (evhttp_request_get_command(req) == EVHTTP_REQ_HEAD) {
        common_headers(req, "text/event-stream");
        evhttp_send_reply(req, HTTP_OK, "OK", NULL);
        return;
    }
    if (srv->c.sse_clients >= srv->max_clients) {
        srv->c.sse_rejected++;
        evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After", "10");
        reply_text(req, 503, "Service Unavailable", "too many dashboard clients");
        return;
    }
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    struct sse_client *cl = calloc(1, sizeof(*cl));
    if (!cl || !evcon) {
        free(cl);
        reply_text(req, HTTP_INTERNAL, "Internal Server Error", "out of memory");
        return;
    }
    cl->srv = srv;
    cl->req = req;
    cl->next = srv->clients;
    if (srv->clients)
        srv->clients->prev = cl;
    srv->clients = cl;
    srv->c.sse_clients++;
    evhttp_connection_set_closecb(evcon, on_client_close, cl);

    common_headers(req, "text/event-stream; charset=utf-8");
    evhttp_add_header(evhttp_request_get_output_headers(req), "X-Accel-Buffering", "no");
    evhttp_send_reply_start(req, HTTP_OK, "OK");

    /* retry hint, hello, then the newest stories that fit in half the
     * client's budget, oldest first, so a page opened late is not empty.
     * Queued without the budget check: dropping a connection inside its
     * own request callback is not safe in evhttp. */
    evbuffer_add_printf(srv->scratch, "retry: 3000\n\n");
    json_t *hello = json_pack("{s:I, s:i}", "t", (json_int_t)now_ms(), "replay_max",
                              HTTP_REPLAY_EVENTS);
    size_t len = 0;
    char *msg = hello ? sse_message(srv, "hello", hello, &len) : NULL;
    json_decref(hello);
    if (msg)
        evbuffer_add(srv->scratch, msg, len);
    free(msg);
    /* A reconnecting EventSource sends the last id it saw: replay only
     * what it missed (everything when the id is from an earlier run). */
    const char *last = evhttp_find_header(evhttp_request_get_input_headers(req), "Last-Event-ID");
    uint64_t seen = last ? strtoull(last, NULL, 10) : 0;
    if (seen > srv->event_id)
        seen = 0;
    size_t budget = srv->client_buffer / 2, used = 0, count = 0;
    for (size_t k = 1; k <= HTTP_REPLAY_EVENTS; k++) {
        size_t i = (srv->replay_next + HTTP_REPLAY_EVENTS - k) % HTTP_REPLAY_EVENTS;
        if (!srv->replay[i] || srv->replay_id[i] <= seen ||
            used + srv->replay_len[i] > budget)
            break;
        used += srv->replay_len[i];
        count = k;
    }
    for (size_t k = count; k >= 1; k--) {
        size_t i = (srv->replay_next + HTTP_REPLAY_EVENTS - k) % HTTP_REPLAY_EVENTS;
        evbuffer_add(srv->scratch, srv->replay[i], srv->replay_len[i]);
    }
    evhttp_send_reply_chunk(req, srv->scratch);
    evbuffer_drain(srv->scratch, evbuffer_get_length(srv->scratch));
}

/* ---- static files ------------------------------------------------------------ */

struct static_file {
    const char *path;
    const char *file;
    const char *ctype;
};

/* The only files served: no path from the request ever reaches the file
 * system. */
static const struct static_file static_files[] = {
    {"/", "index.html", "text/html; charset=utf-8"},
    {"/index.html", "index.html", "text/html; charset=utf-8"},
    {"/app.js", "app.js", "text/javascript; charset=utf-8"},
    {"/style.css", "style.css", "text/css; charset=utf-8"},
};

static void serve_file(struct http_server *srv, struct evhttp_request *req,
                       const struct static_file *sf)
{
    char path[PATH_MAX];
    if (!srv->web_root) {
        reply_text(req, HTTP_NOTFOUND, "Not Found",
                   "dashboard files not found (set [http] web_root)");
        return;
    }
    snprintf(path, sizeof(path), "%s/%s", srv->web_root, sf->file);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > HTTP_MAX_FILE) {
        if (fd >= 0)
            close(fd);
        reply_text(req, HTTP_NOTFOUND, "Not Found", "not found");
        return;
    }
    struct evbuffer *b = evbuffer_new();
    if (!b || evbuffer_add_file(b, fd, 0, st.st_size) < 0) {   /* takes fd */
        if (!b)
            close(fd);
        evbuffer_free(b);
        reply_text(req, HTTP_INTERNAL, "Internal Server Error", "cannot read file");
        return;
    }
    common_headers(req, sf->ctype);
    evhttp_send_reply(req, HTTP_OK, "OK", b);
    evbuffer_free(b);
}

/* ---- routing ------------------------------------------------------------------- */

static void on_request(struct evhttp_request *req, void *arg)
{
    struct http_server *srv = arg;
    srv->c.requests++;
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
    if (!path || !*path)
        path = "/";
    if (srv->closing) {
        reply_text(req, 503, "Service Unavailable", "shutting down");
        return;
    }
    if (strcmp(path, "/healthz") == 0) {
        reply_text(req, HTTP_OK, "OK", "ok");
    } else if (strcmp(path, "/readyz") == 0) {
        serve_readyz(srv, req);
    } else if (strcmp(path, "/metrics") == 0) {
        serve_metrics(srv, req);
    } else if (strcmp(path, "/stats") == 0) {
        serve_stats(srv, req);
    } else if (strcmp(path, "/events") == 0) {
        serve_events(srv, req);
    } else {
        for (size_t i = 0; i < sizeof(static_files) / sizeof(static_files[0]); i++) {
            if (strcmp(path, static_files[i].path) == 0) {
                serve_file(srv, req, &static_files[i]);
                return;
            }
        }
        reply_text(req, HTTP_NOTFOUND, "Not Found", "not found");
    }
}

/* ---- lifecycle ------------------------------------------------------------------- */

static int has_index(const char *dir)
{
    char p[PATH_MAX + 32];
    if ((size_t)snprintf(p, sizeof(p), "%s/index.html", dir) >= sizeof(p))
        return 0;
    return access(p, R_OK) == 0;
}

/* web/ beside the binary, one folder up (build/wirestream), or in the
 * working directory: the same places cli.c looks for config/. */
static char *find_web_root(const char *configured)
{
    char exe[PATH_MAX], cand[PATH_MAX + 16];
    if (configured)
        return has_index(configured) ? realpath(configured, NULL) : NULL;
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n > 0) {
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = '\0';
            snprintf(cand, sizeof(cand), "%s/web", exe);
            if (has_index(cand))
                return realpath(cand, NULL);
            snprintf(cand, sizeof(cand), "%s/../web", exe);
            if (has_index(cand))
                return realpath(cand, NULL);
        }
    }
    return has_index("web") ? realpath("web", NULL) : NULL;
}

static int bound_port(struct evhttp_bound_socket *bs)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    if (getsockname(evhttp_bound_socket_get_fd(bs), (struct sockaddr *)&ss, &sl) < 0)
        return -1;
    if (ss.ss_family == AF_INET)
        return ntohs(((struct sockaddr_in *)&ss)->sin_port);
    if (ss.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return -1;
}

struct http_server *http_server_new(struct event_base *base, const struct http_settings *hs,
                                    const struct http_provider *prov, char *err,
                                    size_t errlen)
{
    struct http_server *srv = calloc(1, sizeof(*srv));
    if (!srv) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    srv->base = base;
    /* A dashboard that closes its tab mid-write must not kill the process:
     * libevent writes with plain writev(), which raises SIGPIPE. */
    struct sigaction sa;
    if (sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL)
        signal(SIGPIPE, SIG_IGN);
    if (prov)
        srv->prov = *prov;
    srv->max_clients = hs->max_sse_clients > 0 ? (size_t)hs->max_sse_clients : 0;
    srv->client_buffer = hs->sse_client_buffer > 0 ? (size_t)hs->sse_client_buffer : 1;
    srv->rate = HTTP_DEFAULT_EVENT_RATE;
    srv->web_root = find_web_root(hs->web_root);
    if (hs->web_root && !srv->web_root)
        log_warn(MOD, "[http] web_root %s has no index.html: no dashboard", hs->web_root);

    if (!(srv->http = evhttp_new(base)) || !(srv->scratch = evbuffer_new()) ||
        !(srv->tick = event_new(base, -1, EV_PERSIST, tick_cb, srv))) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    evhttp_set_timeout(srv->http, HTTP_TIMEOUT_S);
    evhttp_set_max_headers_size(srv->http, HTTP_MAX_HEADERS);
    evhttp_set_max_body_size(srv->http, HTTP_MAX_BODY);
    evhttp_set_allowed_methods(srv->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD);
    evhttp_set_gencb(srv->http, on_request, srv);

    if (hs->port < 0 || hs->port > 65535) {
        snprintf(err, errlen, "[http] port %" PRId64 " out of range", hs->port);
        goto fail;
    }
    const char *addr = hs->listen && *hs->listen ? hs->listen : "127.0.0.1";
    errno = 0;
    struct evhttp_bound_socket *bs =
        evhttp_bind_socket_with_handle(srv->http, addr, (uint16_t)hs->port);
    if (!bs) {
        snprintf(err, errlen, "cannot listen on %s:%" PRId64 ": %s", addr, hs->port,
                 errno ? strerror(errno) : "bad address");
        goto fail;
    }
    if ((srv->port = bound_port(bs)) < 0) {
        snprintf(err, errlen, "getsockname: %s", strerror(errno));
        goto fail;
    }
    struct timeval one = {1, 0};
    event_add(srv->tick, &one);
    return srv;

fail:
    http_server_free(srv);
    return NULL;
}

void http_server_free(struct http_server *srv)
{
    if (!srv)
        return;
    srv->closing = 1;
    while (srv->clients)
        client_drop(srv->clients);  /* unlinks through on_client_close() */ // NOLINT(clang-analyzer-unix.Malloc): the analyzer does not see the unlink
    if (srv->tick)
        event_free(srv->tick);
    if (srv->http)
        evhttp_free(srv->http);
    if (srv->scratch)
        evbuffer_free(srv->scratch);
    for (size_t i = 0; i < HTTP_REPLAY_EVENTS; i++)
        free(srv->replay[i]);
    free(srv->web_root);
    free(srv);
}

int http_server_port(const struct http_server *srv)
{
    return srv->port;
}

const char *http_server_web_root(const struct http_server *srv)
{
    return srv->web_root;
}

void http_server_counters(const struct http_server *srv, struct http_server_counters *out)
{
    *out = srv->c;
}

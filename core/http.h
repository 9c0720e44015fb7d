/*
 * http.h - the observability endpoint: health, readiness, metrics, stats
 * and the live dashboard, on libevent's evhttp.
 *
 *   GET /healthz   200 "ok" while the loop runs (liveness)
 *   GET /readyz    200 "ready", or 503 "not ready: <reason>"
 *   GET /metrics   Prometheus text exposition format
 *   GET /stats     JSON: metrics, pipeline statistics, HTTP server counters
 *   GET /events    Server-Sent Events: "story" per enriched record,
 *                  "stats" every second, "hello" on connect
 *   GET /          the dashboard (web/index.html, app.js, style.css)
 *
 * The server knows nothing of Kafka: the pipeline hands it a provider (a
 * table of callbacks) and publishes records. Every response carries a strict
 * Content-Security-Policy; the dashboard builds its DOM with textContent, so
 * article text (untrusted) is never parsed as HTML.
 *
 * Slow dashboard clients never slow the pipeline: an SSE client whose
 * unsent bytes would exceed [http] sse_client_buffer is disconnected, and
 * at most [http] max_sse_clients are served at once (503 beyond).
 *
 * Threading: everything runs on the event_base given to http_server_new(),
 * which must be the pipeline's loop (publish is called from it).
 */
#ifndef WS_HTTP_H
#define WS_HTTP_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "metrics.h"
#include "record.h"
#include "settings.h"

struct event_base;
struct http_server;

/* What the server asks the pipeline. Every callback may be NULL. */
struct http_provider {
    void *opaque;
    /* 1 when ready; 0 with a short reason ("broker unreachable", "state
     * restore running", ...) written to reason (NUL-terminated). */
    int (*ready)(void *opaque, char *reason, size_t len);
    /* A new JSON object (the caller takes the reference), or NULL. */
    json_t *(*stats_json)(void *opaque);
    /* The pipeline's metrics (borrowed), refreshed as the callee sees fit
     * (queue depth...). */
    struct metrics *(*metrics)(void *opaque);
};

/*
 * Binds hs->listen:hs->port (port 0: any free port, see
 * http_server_port()) and serves on base. web_root is the folder holding
 * the dashboard files (NULL: hs->web_root if set, else web/ beside the
 * binary, one folder up, or in the working directory; without any, "/"
 * answers 404 and the rest still works). prov is copied.
 * Returns NULL with err filled (address in use, bad address...).
 */
struct http_server *http_server_new(struct event_base *base, const struct http_settings *hs,
                                    const struct http_provider *prov, char *err,
                                    size_t errlen);

/* Closes every connection and the listener. Accepts NULL. */
void http_server_free(struct http_server *srv);

/* The bound port (useful with port 0). */
int http_server_port(const struct http_server *srv);
/* The dashboard folder in use, or NULL. */
const char *http_server_web_root(const struct http_server *srv);

/*
 * Called by the pipeline for each enriched record that leaves the chain:
 * builds a compact JSON event (id, headline, source, topics, top entities,
 * dedupe status/cluster/cluster_size) and queues it to every SSE client,
 * dropping clients whose queue would exceed sse_client_buffer. The last
 * HTTP_REPLAY_EVENTS events are replayed to a client that connects later.
 * Above the event rate (HTTP_DEFAULT_EVENT_RATE per second) stories are
 * counted as skipped instead of sent: the dashboard is a sample, never a
 * brake. Does not keep rec.
 */
void http_server_publish(struct http_server *srv, const struct record *rec);

#define HTTP_REPLAY_EVENTS 50
#define HTTP_DEFAULT_EVENT_RATE 200

/* Stories per second sent to dashboards at most (0: no limit). */
void http_server_set_event_rate(struct http_server *srv, unsigned per_second);

struct http_server_counters {
    uint64_t requests;
    uint64_t sse_clients;        /* connected now */
    uint64_t sse_rejected;       /* 503: max_sse_clients reached */
    uint64_t sse_dropped;        /* disconnected for being too slow */
    uint64_t events_published;   /* stories queued to clients */
    uint64_t events_skipped;     /* stories over the event rate */
};
void http_server_counters(const struct http_server *srv, struct http_server_counters *out);

#endif

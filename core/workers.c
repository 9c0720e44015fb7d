/*
 * workers.c - threads that decode input and run the front of the chain
 * (see workers.h).
 *
 * One mutex guards the two lists: `queue` (waiting for a thread) and
 * `order` (every item not taken back, in submission order). Items are
 * small and the work per item is tens of microseconds, so a single lock
 * is not what limits the pool. Each thread also holds its own lock while
 * it runs its chain, which lets the main thread read statistics or reload
 * data files without racing it.
 */
#define _GNU_SOURCE                   /* pipe2 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "workers.h"

struct worker {
    struct workers *pool;
    struct chain *chain;          /* this thread's copy of the front */
    pthread_mutex_t lock;         /* held while the chain runs */
    pthread_t tid;
};

struct workers {
    pthread_mutex_t lock;
    pthread_cond_t queue_cond;    /* queue became non-empty, or stop */
    pthread_cond_t idle_cond;     /* nothing queued, nothing running */
    struct work *queue, *queue_tail;
    struct work *order, *order_tail;
    size_t pending;               /* submitted, not taken */
    size_t busy;                  /* being run */
    int stop;
    int joined;
    int wake[2];                  /* a byte: the oldest item may be done */
    int wake_pending;
    const struct decode_opts *dopts;
    struct worker *threads;
    size_t nthreads;              /* started */
    size_t nchains;               /* built */
};

static void run_front(struct worker *wk, struct work *it)
{
    it->verdict = VERDICT_KEEP;
    it->rec = decode_article(it->payload, it->payload ? it->len : 0, wk->pool->dopts,
                             &it->derr);
    if (!it->rec)
        return;
    if (it->topic)                  /* read from Kafka; `process` passes none */
        record_set_provenance(it->rec, it->topic, it->partition, it->offset, it->timestamp_ms);
    pthread_mutex_lock(&wk->lock);
    it->verdict = chain_process(wk->chain, it->rec);
    pthread_mutex_unlock(&wk->lock);
}

static void *worker_main(void *arg)
{
    struct worker *wk = arg;
    struct workers *w = wk->pool;

    pthread_mutex_lock(&w->lock);
    for (;;) {
        while (!w->queue && !w->stop)
            pthread_cond_wait(&w->queue_cond, &w->lock);
        if (w->stop)
            break;
        struct work *it = w->queue;
        w->queue = it->next_queued;
        if (!w->queue)
            w->queue_tail = NULL;
        w->busy++;
        pthread_mutex_unlock(&w->lock);

        run_front(wk, it);

        pthread_mutex_lock(&w->lock);
        it->done = 1;
        w->busy--;
        /* Only the oldest item can be taken: wake the main thread for
         * that one (once; it empties the pipe before taking). */
        if (it == w->order && !w->wake_pending) {
            w->wake_pending = 1;
            ssize_t rc;
            do
                rc = write(w->wake[1], "", 1);
            while (rc < 0 && errno == EINTR);
        }
        if (!w->queue && !w->busy)
            pthread_cond_broadcast(&w->idle_cond);
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

static void stop_threads(struct workers *w)
{
    if (w->joined)
        return;
    pthread_mutex_lock(&w->lock);
    w->stop = 1;
    pthread_cond_broadcast(&w->queue_cond);
    pthread_mutex_unlock(&w->lock);
    for (size_t i = 0; i < w->nthreads; i++)
        pthread_join(w->threads[i].tid, NULL);
    w->joined = 1;
}

struct workers *workers_new(size_t n, const struct settings *s, const struct decode_opts *dopts,
                            char *err, size_t errlen)
{
    struct workers *w = calloc(1, sizeof(*w));
    if (!w || !(w->threads = calloc(n ? n : 1, sizeof(*w->threads)))) {
        snprintf(err, errlen, "out of memory");
        free(w);
        return NULL;
    }
    w->dopts = dopts;
    w->wake[0] = w->wake[1] = -1;
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->queue_cond, NULL);
    pthread_cond_init(&w->idle_cond, NULL);
    if (pipe2(w->wake, O_NONBLOCK | O_CLOEXEC) < 0) {
        snprintf(err, errlen, "pipe: %s", strerror(errno));
        goto fail;
    }
    for (; w->nchains < n; w->nchains++) {
        struct worker *wk = &w->threads[w->nchains];
        wk->pool = w;
        if (!(wk->chain = chain_new_front(s, err, errlen)))
            goto fail;
        pthread_mutex_init(&wk->lock, NULL);
    }
    /* Signals are the main thread's business (libevent's handlers in `run`). */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    for (; w->nthreads < n; w->nthreads++) {
        int rc = pthread_create(&w->threads[w->nthreads].tid, NULL, worker_main,
                                &w->threads[w->nthreads]);
        if (rc != 0) {
            snprintf(err, errlen, "starting worker thread %zu: %s", w->nthreads + 1,
                     strerror(rc));
            pthread_sigmask(SIG_SETMASK, &old, NULL);
            goto fail;
        }
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return w;
fail:
    workers_free(w);
    return NULL;
}

void workers_free(struct workers *w)
{
    if (!w)
        return;
    stop_threads(w);
    for (size_t i = 0; i < w->nchains; i++) {
        chain_free(w->threads[i].chain);
        pthread_mutex_destroy(&w->threads[i].lock);
    }
    for (int i = 0; i < 2; i++)
        if (w->wake[i] >= 0)
            close(w->wake[i]);
    pthread_cond_destroy(&w->idle_cond);
    pthread_cond_destroy(&w->queue_cond);
    pthread_mutex_destroy(&w->lock);
    free(w->threads);
    free(w);
}

void workers_submit(struct workers *w, struct work *it)
{
    it->rec = NULL;
    it->verdict = VERDICT_KEEP;
    it->done = 0;
    it->next_queued = it->next_order = NULL;
    pthread_mutex_lock(&w->lock);
    if (w->queue_tail)
        w->queue_tail->next_queued = it;
    else
        w->queue = it;
    w->queue_tail = it;
    if (w->order_tail)
        w->order_tail->next_order = it;
    else
        w->order = it;
    w->order_tail = it;
    w->pending++;
    pthread_cond_signal(&w->queue_cond);
    pthread_mutex_unlock(&w->lock);
}

struct work *workers_take(struct workers *w)
{
    pthread_mutex_lock(&w->lock);
    struct work *it = w->order;
    if (it && it->done) {
        w->order = it->next_order;
        if (!w->order)
            w->order_tail = NULL;
        w->pending--;
        it->next_order = NULL;
    } else {
        it = NULL;
    }
    pthread_mutex_unlock(&w->lock);
    return it;
}

size_t workers_pending(struct workers *w)
{
    pthread_mutex_lock(&w->lock);
    size_t n = w->pending;
    pthread_mutex_unlock(&w->lock);
    return n;
}

int workers_fd(const struct workers *w)
{
    return w->wake[0];
}

void workers_ack(struct workers *w)
{
    char buf[64];
    while (read(w->wake[0], buf, sizeof(buf)) > 0)
        ;
    pthread_mutex_lock(&w->lock);
    w->wake_pending = 0;
    pthread_mutex_unlock(&w->lock);
}

void workers_wait_idle(struct workers *w)
{
    pthread_mutex_lock(&w->lock);
    while (w->queue || w->busy)
        pthread_cond_wait(&w->idle_cond, &w->lock);
    pthread_mutex_unlock(&w->lock);
}

struct work *workers_abandon(struct workers *w)
{
    stop_threads(w);
    struct work *all = w->order;
    w->order = w->order_tail = NULL;
    w->queue = w->queue_tail = NULL;
    w->pending = 0;
    return all;
}

void workers_each_chain(struct workers *w, void (*fn)(struct chain *ch, void *arg), void *arg)
{
    for (size_t i = 0; i < w->nchains; i++) {
        pthread_mutex_lock(&w->threads[i].lock);
        fn(w->threads[i].chain, arg);
        pthread_mutex_unlock(&w->threads[i].lock);
    }
}

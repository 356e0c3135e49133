/*
 * The request deadline: libmicrohttpd's connection timeout only counts idle
 * time, so a client that sends one byte of its headers every few seconds
 * (slowloris) would hold a connection for ever. Here every open connection
 * has an entry with its socket and, while a request is arriving (headers and
 * body), a deadline; a watchdog thread shuts down the socket of a connection
 * whose request has not fully arrived by then, and MHD closes it as a client
 * that went away. A connection being answered has no deadline (a streamed
 * listing may take long; MHD's idle timeout still covers a client that stops
 * reading). Entries are added and removed from MHD's worker threads; one
 * mutex guards the list, and since an entry is removed before MHD closes its
 * socket, the watchdog never shuts down a descriptor that was reused.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#include "base/base.h"
#include "http/http_internal.h"

struct chime__conn_watch_entry {
    struct chime__conn_watch_entry *prev, *next;
    int fd;
    int64_t deadline_ns; /* 0 = none (being answered, or already cut) */
};

struct chime__conn_watch {
    pthread_mutex_t lock;
    pthread_cond_t wake;
    pthread_t thread;
    struct chime__conn_watch_entry *head;
    int64_t timeout_ns;
    int64_t tick_ns;
    size_t n_cut;
    bool stopping;
};

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Cuts the connections whose request is overdue (lock held). */
static void watch_scan(struct chime__conn_watch *w, int64_t now)
{
    for (struct chime__conn_watch_entry *e = w->head; e; e = e->next) {
        if (e->deadline_ns == 0 || e->deadline_ns > now)
            continue;
        e->deadline_ns = 0;
        w->n_cut++;
        shutdown(e->fd, SHUT_RDWR);
        chime__log(CHIME_LOG_DEBUG, "http: request not received within %lld ms, connection cut",
                   (long long)(w->timeout_ns / 1000000));
    }
}

static void *watch_main(void *arg)
{
    struct chime__conn_watch *w = arg;
    pthread_mutex_lock(&w->lock);
    while (!w->stopping) {
        int64_t until = now_ns() + w->tick_ns;
        struct timespec ts = { (time_t)(until / 1000000000), (long)(until % 1000000000) };
        int rc = pthread_cond_timedwait(&w->wake, &w->lock, &ts);
        if (rc != 0 && rc != ETIMEDOUT && rc != EINTR)
            break;
        watch_scan(w, now_ns());
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

static int watch_sync_init(struct chime__conn_watch *w)
{
    pthread_condattr_t attr;
    if (pthread_condattr_init(&attr) != 0)
        return CHIME_ENOMEM;
    int rc = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    if (rc == 0)
        rc = pthread_cond_init(&w->wake, &attr);
    pthread_condattr_destroy(&attr);
    if (rc != 0)
        return CHIME_ENOMEM;
    if (pthread_mutex_init(&w->lock, NULL) != 0) {
        pthread_cond_destroy(&w->wake);
        return CHIME_ENOMEM;
    }
    return 0;
}

int chime__conn_watch_start(unsigned timeout_ms, struct chime__conn_watch **out)
{
    struct chime__conn_watch *w = chime__calloc(1, sizeof(*w));
    if (!w)
        return CHIME_ENOMEM;
    w->timeout_ns = (int64_t)(timeout_ms ? timeout_ms : 1) * 1000000;
    /* A quarter of the timeout, between 10 ms and 250 ms: a cut comes at most
     * that late, and an idle server wakes at most four times a second. */
    w->tick_ns = w->timeout_ns / 4;
    if (w->tick_ns > 250000000)
        w->tick_ns = 250000000;
    if (w->tick_ns < 10000000)
        w->tick_ns = 10000000;
    int rc = watch_sync_init(w);
    if (rc < 0)
        goto out_free;
    if (pthread_create(&w->thread, NULL, watch_main, w) != 0) {
        rc = CHIME_ENOMEM;
        goto out_sync;
    }
    *out = w;
    return 0;
out_sync:
    pthread_cond_destroy(&w->wake);
    pthread_mutex_destroy(&w->lock);
out_free:
    chime__free(w);
    return rc;
}

void chime__conn_watch_stop(struct chime__conn_watch *w)
{
    if (!w)
        return;
    pthread_mutex_lock(&w->lock);
    w->stopping = true;
    pthread_cond_signal(&w->wake);
    pthread_mutex_unlock(&w->lock);
    pthread_join(w->thread, NULL);
    while (w->head) {
        struct chime__conn_watch_entry *e = w->head;
        w->head = e->next;
        chime__free(e);
    }
    pthread_cond_destroy(&w->wake);
    pthread_mutex_destroy(&w->lock);
    chime__free(w);
}

struct chime__conn_watch_entry *chime__conn_watch_add(struct chime__conn_watch *w, int fd)
{
    struct chime__conn_watch_entry *e = w && fd >= 0 ? chime__calloc(1, sizeof(*e)) : NULL;
    if (!e)
        return NULL;
    e->fd = fd;
    pthread_mutex_lock(&w->lock);
    e->deadline_ns = now_ns() + w->timeout_ns;
    e->next = w->head;
    if (w->head)
        w->head->prev = e;
    w->head = e;
    pthread_mutex_unlock(&w->lock);
    return e;
}

void chime__conn_watch_remove(struct chime__conn_watch *w, struct chime__conn_watch_entry *e)
{
    if (!w || !e)
        return;
    pthread_mutex_lock(&w->lock);
    if (e->prev)
        e->prev->next = e->next;
    else
        w->head = e->next;
    if (e->next)
        e->next->prev = e->prev;
    pthread_mutex_unlock(&w->lock);
    chime__free(e);
}

void chime__conn_watch_reading(struct chime__conn_watch *w, struct chime__conn_watch_entry *e)
{
    if (!w || !e)
        return;
    pthread_mutex_lock(&w->lock);
    e->deadline_ns = now_ns() + w->timeout_ns;
    pthread_mutex_unlock(&w->lock);
}

void chime__conn_watch_answering(struct chime__conn_watch *w, struct chime__conn_watch_entry *e)
{
    if (!w || !e)
        return;
    pthread_mutex_lock(&w->lock);
    e->deadline_ns = 0;
    pthread_mutex_unlock(&w->lock);
}

size_t chime__conn_watch_n_cut(struct chime__conn_watch *w)
{
    pthread_mutex_lock(&w->lock);
    size_t n = w->n_cut;
    pthread_mutex_unlock(&w->lock);
    return n;
}

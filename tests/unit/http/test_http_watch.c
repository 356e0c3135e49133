/*
 * Unit tests of src/http/conn_watch.c, the request deadline, on socket pairs:
 * a connection whose request is still arriving past the timeout is shut down
 * (its peer reads end of stream), one being answered never is, reading again
 * restarts the clock, a removed entry is forgotten, and out of memory at
 * start or add is reported (start) or leaves the connection unwatched (add).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "base/base.h"
#include "http/http_internal.h"

#define TIMEOUT_MS 150

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };
    nanosleep(&ts, NULL);
}

/* True when the peer sees the end of the stream within wait_ms. */
static bool peer_sees_eof(int fd, int wait_ms)
{
    struct pollfd p = { .fd = fd, .events = POLLIN };
    if (poll(&p, 1, wait_ms) != 1)
        return false;
    char c;
    return recv(fd, &c, 1, MSG_DONTWAIT) == 0;
}

static void test_watch_cuts_request_past_deadline(void **state)
{
    (void)state;
    int sv[2];
    struct chime__conn_watch *w;
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    assert_int_equal(chime__conn_watch_start(TIMEOUT_MS, &w), 0);
    int64_t t0 = now_ms();
    struct chime__conn_watch_entry *e = chime__conn_watch_add(w, sv[0]);
    assert_non_null(e);
    assert_false(peer_sees_eof(sv[1], TIMEOUT_MS / 2));
    assert_true(peer_sees_eof(sv[1], 3000));
    int64_t took = now_ms() - t0;
    assert_true(took >= TIMEOUT_MS - 5);
    assert_true(took < TIMEOUT_MS + 1000);
    assert_int_equal(chime__conn_watch_n_cut(w), 1);
    sleep_ms(TIMEOUT_MS); /* cut once, not again on every tick */
    assert_int_equal(chime__conn_watch_n_cut(w), 1);
    chime__conn_watch_remove(w, e);
    chime__conn_watch_stop(w);
    close(sv[0]);
    close(sv[1]);
}

static void test_watch_spares_answering_and_restarts_on_reading(void **state)
{
    (void)state;
    int sv[2];
    struct chime__conn_watch *w;
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    assert_int_equal(chime__conn_watch_start(TIMEOUT_MS, &w), 0);
    struct chime__conn_watch_entry *e = chime__conn_watch_add(w, sv[0]);
    chime__conn_watch_answering(w, e);
    assert_false(peer_sees_eof(sv[1], 3 * TIMEOUT_MS)); /* a long response is never cut */
    assert_int_equal(chime__conn_watch_n_cut(w), 0);
    chime__conn_watch_reading(w, e); /* the next request: the clock starts again */
    int64_t t0 = now_ms();
    assert_true(peer_sees_eof(sv[1], 3000));
    assert_true(now_ms() - t0 >= TIMEOUT_MS - 5);
    assert_int_equal(chime__conn_watch_n_cut(w), 1);
    chime__conn_watch_remove(w, e);
    chime__conn_watch_stop(w);
    close(sv[0]);
    close(sv[1]);
}

static void test_watch_forgets_removed_connections(void **state)
{
    (void)state;
    int a[2], b[2];
    struct chime__conn_watch *w;
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, a), 0);
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, b), 0);
    assert_int_equal(chime__conn_watch_start(TIMEOUT_MS, &w), 0);
    struct chime__conn_watch_entry *ea = chime__conn_watch_add(w, a[0]);
    struct chime__conn_watch_entry *eb = chime__conn_watch_add(w, b[0]);
    chime__conn_watch_remove(w, ea); /* the other stays watched */
    assert_true(peer_sees_eof(b[1], 3000));
    assert_false(peer_sees_eof(a[1], 0));
    assert_int_equal(chime__conn_watch_n_cut(w), 1);
    chime__conn_watch_stop(w); /* frees eb, still listed */
    (void)eb;
    for (int i = 0; i < 2; i++) {
        close(a[i]);
        close(b[i]);
    }
}

static void test_watch_null_and_out_of_memory(void **state)
{
    (void)state;
    struct chime__conn_watch *w = NULL;
    chime_alloc_fail_after(1);
    assert_int_equal(chime__conn_watch_start(TIMEOUT_MS, &w), CHIME_ENOMEM);
    assert_null(w);
    assert_int_equal(chime__conn_watch_start(TIMEOUT_MS, &w), 0);
    chime_alloc_fail_after(1);
    assert_null(chime__conn_watch_add(w, 0)); /* unwatched, not an error */
    assert_null(chime__conn_watch_add(NULL, 0));
    assert_null(chime__conn_watch_add(w, -1));
    chime__conn_watch_reading(w, NULL);
    chime__conn_watch_answering(w, NULL);
    chime__conn_watch_remove(w, NULL);
    chime__conn_watch_stop(w);
    chime__conn_watch_stop(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_watch_cuts_request_past_deadline),
        cmocka_unit_test(test_watch_spares_answering_and_restarts_on_reading),
        cmocka_unit_test(test_watch_forgets_removed_connections),
        cmocka_unit_test(test_watch_null_and_out_of_memory),
    };
    chime__log_set_level(CHIME_LOG_WARN);
    return cmocka_run_group_tests(tests, NULL, NULL);
}

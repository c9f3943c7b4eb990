"""granian serving Depot: ``python -m app.served`` is its master (what `make run`'s web
server is), :func:`served_app` what each of its workers serves.

Kept apart from app/webserver.py, which ``serve`` imports to know the command line:
building the app needs every part of Depot, starting a server none.
"""

from __future__ import annotations

import gc
import importlib
import logging
import os
import shutil
import sys
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from app.config import Settings
from app.webserver import granian_server

WSGIApp = Callable[[dict, Callable], Iterable[bytes]]

# What building the app imports (app/factory.py, its lazy imports included): imported
# once in granian's master, they are shared by the workers it forks.
PARTS = (
    "app.factory", "app.logs", "app.secret_key", "htmx_flask", "app.goproxy.published",
    "app.goproxy.downloads", "app.goproxy.ziplog", "app.goproxy.reindex",
    "app.goproxy.early", "app.goproxy.ahead", "app.search", "app.api", "app.cli",
    "app.drift.cli", "app.goproxy", "app.notify.cli", "app.ops", "app.portal",
    "app.portal.errors", "app.goproxy.fastpath", "app.hits", "app.ops.observe", "app.headers",
    "app.ranges", "app.pipeline.warm", "app.auth.gate", "app.auth.cli",
)


def preload(settings: Settings) -> None:
    """Import in granian's master what each worker's app is built from, then freeze
    those objects out of the garbage collector's reach: the forked workers then share
    the pages instead of each holding a copy (the collector's bookkeeping would
    otherwise write to, and so copy, every page it visits). Nothing is built here: no
    connection or thread is made before the fork.

    In fetch mode the license classifier's tables (12 MB, read by every capture and
    every zip judged ahead) are loaded here too, once for all the workers."""
    for name in PARTS:
        importlib.import_module(name)
    if settings.on_miss == "fetch":
        from app.licenses.detect import warm_up

        warm_up()
    gc.freeze()


class WithoutEnvironHeaders:
    """granian starts each request's WSGI environ from a copy of ``os.environ``; a
    variable of the process named like a request header (``HTTP_PROXY``, say) would
    read as a header the client sent. Those are taken out again (httpoxy)."""

    def __init__(self, app: WSGIApp, process_env: dict[str, str]) -> None:
        self.app = app
        self.leaked = {k: v for k, v in process_env.items() if k.startswith("HTTP_")}

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        for name, value in self.leaked.items():
            if environ.get(name) == value:
                del environ[name]
        return self.app(environ, start_response)


def served_app() -> WSGIApp:
    """Depot's WSGI app as one granian worker serves it: access lines and web metrics
    written in batches (app/periodic.py, why); in fetch mode a capture's first-use costs paid beside
    serving (as gunicorn.conf.py's post_worker_init)."""
    from app import create_app
    from app.logs import batch_direct_lines
    from app.metrics import batch_web_metrics

    app = create_app()
    batch_direct_lines()
    batch_web_metrics()
    settings: Settings = app.config["DEPOT_SETTINGS"]
    if settings.on_miss == "fetch":
        from app.pipeline.warm import warm_up

        threading.Thread(target=warm_up, args=(app.extensions["depot"],),
                         name="capture-warm-up", daemon=True).start()
    return WithoutEnvironHeaders(app, dict(os.environ))


@contextmanager
def metrics_folder(settings: Settings) -> Iterator[Path]:
    """The folder the web workers write their metrics to (PROMETHEUS_MULTIPROC_DIR, set
    here for the processes forked from now on), emptied first: counts of an earlier run
    in it would be added to this one's. A folder made here goes at the end.

    Entered before prometheus_client is imported, which reads the setting at import:
    here (``python -m app.served``) or in ``serve``, which imports the app before it
    forks this master (app/supervise.py)."""
    own = not settings.metrics_dir
    metrics = Path(settings.metrics_dir or tempfile.mkdtemp(prefix="depot-metrics-"))
    shutil.rmtree(metrics, ignore_errors=True)
    metrics.mkdir(parents=True, exist_ok=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(metrics)
    try:
        yield metrics
    finally:
        if own:
            shutil.rmtree(metrics, ignore_errors=True)


def main() -> int:
    """Serve with granian (configured by app/webserver.py) until SIGTERM/SIGINT; the
    workers share one metrics folder and the modules imported here."""
    try:
        settings = Settings.from_env()
        server = granian_server(settings)
    except ValueError as exc:  # a bad setting (ConfigError is one): say which, exit 2
        print(f"depot web server: {exc}", file=sys.stderr)
        return 2
    with metrics_folder(settings):
        preload(settings)  # after the metrics folder: prometheus_client reads it at import
        try:
            server.serve()
        finally:
            logging.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())

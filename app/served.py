"""The WSGI app one granian worker serves (app/webserver.py starts granian).

Kept apart from app/webserver.py, which the ``serve`` command imports to start the
server: building the app needs every part of Depot, starting a server none.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable

from app.config import Settings

WSGIApp = Callable[[dict, Callable], Iterable[bytes]]


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
    """Depot's WSGI app as one granian worker serves it: access lines written in
    batches (app/logs.py, why); in fetch mode a capture's first-use costs paid beside
    serving (as gunicorn.conf.py's post_worker_init)."""
    from app import create_app
    from app.logs import batch_direct_lines

    app = create_app()
    batch_direct_lines()
    settings: Settings = app.config["DEPOT_SETTINGS"]
    if settings.on_miss == "fetch":
        from app.pipeline.warm import warm_up

        threading.Thread(target=warm_up, args=(app.extensions["depot"],),
                         name="capture-warm-up", daemon=True).start()
    return WithoutEnvironHeaders(app, dict(os.environ))

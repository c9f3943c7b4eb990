"""gunicorn settings, from the environment (the production entry point).

Threads, not processes alone: a GOPROXY miss in ``fetch`` mode waits on the
toolchain, and other requests must keep flowing meanwhile.

Every worker writes its web metrics into one folder (PROMETHEUS_MULTIPROC_DIR),
so /metrics answered by any worker counts the requests of all of them. Logs,
gunicorn's own included, follow DEPOT_LOG_FORMAT; Depot writes the access log
itself, with the request id, so gunicorn's is off unless DEPOT_ACCESS_LOG asks.
"""

import os
import shutil
import tempfile

from app.config import Settings
from app.logs import server_logconfig

# Read and checked once, as the app reads them (app/config.py): a bad value stops here.
_settings = Settings.from_env()
# DEPOT_BIND (e.g. unix:/run/depot/depot.sock for a sidecar on the same pod) wins over
# DEPOT_HOST:DEPOT_PORT.
bind = _settings.bind_address
workers = _settings.workers
worker_class = "gthread"
threads = _settings.threads
# A synchronous fetch may take minutes; gthread workers stay alive meanwhile.
timeout = _settings.worker_timeout
graceful_timeout = _settings.graceful_timeout
keepalive = _settings.keepalive
accesslog = _settings.access_log or None
errorlog = "-"
logconfig_dict = server_logconfig(_settings.log_format, "gunicorn", access=bool(accesslog))
# gunicorn's control socket lives in $HOME by default, shared by every instance of a user:
# two Depots side by side would fight over it. Depot does not use it.
control_socket_disable = True

# Set before any worker imports prometheus_client, which reads it once (the workers'
# settings then carry it too).
_own_dir = not _settings.metrics_dir
_metrics_dir = _settings.metrics_dir or tempfile.mkdtemp(prefix="depot-metrics-")
os.environ["PROMETHEUS_MULTIPROC_DIR"] = _metrics_dir


def on_starting(server) -> None:  # type: ignore[no-untyped-def]
    """Counts of an earlier run in the same folder would be added to this one's."""
    shutil.rmtree(_metrics_dir, ignore_errors=True)
    os.makedirs(_metrics_dir, exist_ok=True)


def post_worker_init(worker) -> None:  # type: ignore[no-untyped-def]
    """In fetch mode a miss captures: pay a capture's first-use costs (the license
    tables, SQLAlchemy's statements) beside serving, not in a client's first miss."""
    if _settings.on_miss == "fetch":
        import threading

        from app.pipeline.warm import warm_up

        services = worker.wsgi.extensions["depot"]
        threading.Thread(target=warm_up, args=(services,), name="capture-warm-up",
                         daemon=True).start()


def child_exit(server, worker) -> None:  # type: ignore[no-untyped-def]
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid, _metrics_dir)


def on_exit(server) -> None:  # type: ignore[no-untyped-def]
    if _own_dir:
        shutil.rmtree(_metrics_dir, ignore_errors=True)

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

from app.logs import gunicorn_logconfig, log_format

# DEPOT_BIND (e.g. unix:/run/depot/depot.sock for a sidecar on the same pod) wins over
# DEPOT_HOST:DEPOT_PORT.
bind = os.environ.get("DEPOT_BIND") or (
    f"{os.environ.get('DEPOT_HOST', '127.0.0.1')}:{os.environ.get('DEPOT_PORT', '8080')}"
)
workers = int(os.environ.get("DEPOT_WORKERS", "2"))
worker_class = "gthread"
threads = int(os.environ.get("DEPOT_THREADS", "8"))
# A synchronous fetch may take minutes; gthread workers stay alive meanwhile.
timeout = int(os.environ.get("DEPOT_WORKER_TIMEOUT", "900"))
graceful_timeout = int(os.environ.get("DEPOT_GRACEFUL_TIMEOUT", "30"))
keepalive = int(os.environ.get("DEPOT_KEEPALIVE", "5"))
accesslog = os.environ.get("DEPOT_ACCESS_LOG") or None
errorlog = "-"
logconfig_dict = gunicorn_logconfig(log_format(os.environ.get("DEPOT_LOG_FORMAT")),
                                    access=bool(accesslog))
# gunicorn's control socket lives in $HOME by default, shared by every instance of a user:
# two Depots side by side would fight over it. Depot does not use it.
control_socket_disable = True

# Set before any worker imports prometheus_client, which reads it once.
_own_dir = not os.environ.get("PROMETHEUS_MULTIPROC_DIR")
_metrics_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or tempfile.mkdtemp(
    prefix="depot-metrics-"
)
os.environ["PROMETHEUS_MULTIPROC_DIR"] = _metrics_dir


def on_starting(server) -> None:  # type: ignore[no-untyped-def]
    """Counts of an earlier run in the same folder would be added to this one's."""
    shutil.rmtree(_metrics_dir, ignore_errors=True)
    os.makedirs(_metrics_dir, exist_ok=True)


def post_worker_init(worker) -> None:  # type: ignore[no-untyped-def]
    """In fetch mode a miss captures: pay a capture's first-use costs (the license
    tables, SQLAlchemy's statements) beside serving, not in a client's first miss."""
    if os.environ.get("DEPOT_ON_MISS", "fetch").strip() == "fetch":
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

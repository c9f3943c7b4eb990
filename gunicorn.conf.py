"""gunicorn settings, from the environment (the production entry point).

Threads, not processes alone: a GOPROXY miss in ``fetch`` mode waits on the
toolchain, and other requests must keep flowing meanwhile.
"""

import os

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
keepalive = 5
accesslog = os.environ.get("DEPOT_ACCESS_LOG", "-")
errorlog = "-"
# gunicorn's control socket lives in $HOME by default, shared by every instance of a user:
# two Depots side by side would fight over it. Depot does not use it.
control_socket_disable = True

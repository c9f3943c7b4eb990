"""How the processes `make run` starts end with it (``flask --app app serve``)."""

from __future__ import annotations

import ctypes
import os
import signal
from collections.abc import Callable

PR_SET_PDEATHSIG = 1  # prctl(2)


def dies_with(parent: int, own_session: bool = False) -> Callable[[], None]:
    """A ``preexec_fn`` for a child of ``serve``: it gets SIGTERM when ``parent`` dies
    (PR_SET_PDEATHSIG), so a killed ``serve`` leaves no web server, worker or Redis
    running without it.

    ``own_session`` takes the child out of the terminal's process group, which Ctrl-C
    signals as a whole: the embedded Redis, which quit at once and left the workers
    finishing their jobs against a closed socket (about 220 lines of ConnectionError
    tracebacks); ``serve`` stops it last instead.
    """
    def prepare() -> None:
        if own_session:
            os.setsid()
        try:
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        except (OSError, AttributeError):  # not Linux: ended by Ctrl-C only
            return
        if os.getppid() != parent:  # the parent died before the line above
            os._exit(1)

    return prepare

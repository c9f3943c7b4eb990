"""Log lines that a person and a log pipeline can both read.

``DEPOT_LOG_FORMAT=json`` (the chart's default) writes one JSON object a line;
``text`` (the default on a laptop) writes the same fields as readable text.
Every line carries the request id of the HTTP request it serves, also inside the
jobs that request queued, so one id follows a module from click to publication.
"""

from __future__ import annotations

import json
import logging
import os
import random
import re
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from app.periodic import Periodic
from app.redact import redact

FORMATS = ("text", "json")
REQUEST_ID_HEADER = "X-Request-ID"
# A caller's id is kept when it is a plain token: anything else could forge log lines.
_VALID_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
_request_id: ContextVar[str] = ContextVar("depot_request_id", default="")
# Attributes every LogRecord has; anything else on a record is an extra field to show.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message", "asctime", "request_id", "taskName",
}


def current_request_id() -> str:
    return _request_id.get()


# Request ids need to be unique, not secret: 128 bits of a generator seeded from the
# system's randomness (again in each forked worker) cost a fraction of a microsecond,
# where uuid4's read of os.urandom took 6 us of every GOPROXY hit (docs/bench.md).
_ids = random.Random()
os.register_at_fork(after_in_child=_ids.seed)


def new_request_id(offered: str | None = None) -> str:
    """The caller's id when it is a sane token, else a fresh one (32 hex digits)."""
    if offered and _VALID_ID.match(offered):
        return offered
    return f"{_ids.getrandbits(128):032x}"


@contextmanager
def request_id_scope(value: str) -> Iterator[str]:
    """Every log line written inside carries ``value`` as its request id."""
    token = _request_id.set(value)
    try:
        yield value
    finally:
        _request_id.reset(token)


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", ""):
            record.request_id = _request_id.get()
        return True


class DropThreadAdvice(logging.Filter):
    """granian advises fewer threads when a worker may run more than 2 per core; Depot
    runs more on purpose (a miss in fetch mode waits on the network with its thread)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "Python threads" not in record.getMessage()


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")}


def _redacted(entry: dict[str, Any]) -> dict[str, Any]:
    """The entry's text fields without secrets (before JSON escapes could split one)."""
    return {k: redact(v) if isinstance(v, str) else v for k, v in entry.items()}


class JSONFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request_id, extras."""

    def format(self, record: logging.LogRecord) -> str:
        entry = _entry(record.created, record.levelname, record.name, record.getMessage(),
                       record.process, getattr(record, "request_id", ""), _extras(record))
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        elif record.stack_info:
            entry["stack"] = record.stack_info
        return _json_line(entry)

    def line(self, created: float, level: str, name: str, rid: str, message: str,
             fields: dict[str, Any]) -> str:
        """What format() makes of a record of these values (no exception)."""
        return _json_line(_entry(created, level, name, message, os.getpid(), rid, fields))


def _entry(created: float, level: str, name: str, message: str, pid: int | None, rid: str,
           fields: dict[str, Any]) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "time": datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds"),
        "level": level, "logger": name, "message": message, "pid": pid,
    }
    if rid:
        entry["request_id"] = rid
    entry.update(fields)
    return entry


def _json_line(entry: dict[str, Any]) -> str:
    # Redacted after encoding too: a secret may sit in any field or traceback.
    return redact(json.dumps(_redacted(entry), default=str, ensure_ascii=False))


class TextFormatter(logging.Formatter):
    """``time level logger [request id]: message key=value…`` for a terminal."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s%(rid)s: %(message)s%(fields)s")
        self._second: tuple[int, str] = (-1, "")

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return self._time(record.created) if datefmt is None else super().formatTime(
            record, datefmt)

    def _time(self, created: float) -> str:
        """logging's default time text ("2026-12-06 05:25:35,406"), its date and clock
        worked out once a second."""
        whole = int(created)
        second, text = self._second
        if second != whole:
            text = time.strftime(self.default_time_format, self.converter(created))
            self._second = (whole, text)
        return f"{text},{int((created - whole) * 1000):03d}"

    def format(self, record: logging.LogRecord) -> str:
        rid = getattr(record, "request_id", "")
        record.rid = f" [{rid}]" if rid else ""
        extras = {} if getattr(record, "_terse", False) else {
            k: v for k, v in _extras(record).items() if k not in ("rid", "fields")}
        record.fields = "".join(f" {k}={v}" for k, v in extras.items())
        return redact(super().format(record))

    def line(self, created: float, level: str, name: str, rid: str, message: str,
             fields: dict[str, Any]) -> str:
        """What format() makes of a terse record of these values (no exception)."""
        rid_part = f" [{rid}]" if rid else ""
        return redact(f"{self._time(created)} {level} {name}{rid_part}: {message}")


# Filters that let any line through unchanged but for its request id.
_PASSING_FILTERS: tuple[type, ...] = (RequestIdFilter, DropThreadAdvice)


def write_direct(logger: logging.Logger, rid: str, message: str,
                 fields: Callable[[], dict[str, Any]]) -> bool:
    """Write an INFO line of ``logger`` (terse in text, ``fields()`` in JSON, asked for
    only then) straight to
    Depot's one handler, exactly as logging would have, without a LogRecord, handler
    filters and locks: that machinery was 30 us of every GOPROXY hit's 90 us in Python.

    False when anything else could see or change the line (another handler, a
    logger's filter or level, a foreign formatter): the caller then logs it the usual way.
    """
    if logger.filters or logger.disabled or not logger.isEnabledFor(logging.INFO):
        return False
    handlers: list[logging.Handler] = []
    current: logging.Logger | None = logger
    while current is not None:
        handlers += current.handlers
        if not current.propagate:
            break
        current = current.parent
    if len(handlers) != 1:
        return False
    handler = handlers[0]
    formatter = handler.formatter
    if (not isinstance(handler, logging.StreamHandler)
            or type(handler) not in (logging.StreamHandler, DepotHandler)  # not a subclass
            or handler.level > logging.INFO
            or type(formatter) not in (TextFormatter, JSONFormatter)
            or not all(isinstance(f, _PASSING_FILTERS) for f in handler.filters)):
        return False
    extra = fields() if type(formatter) is JSONFormatter else {}
    line = formatter.line(time.time(), "INFO", logger.name, rid,  # type: ignore[union-attr]
                          message, extra) + handler.terminator
    if _batches.on:
        _batches.add(handler, line)
    else:
        _write(handler, line)
    return True


def _write(handler: logging.StreamHandler, text: str) -> None:
    with handler.lock:  # type: ignore[union-attr]
        try:
            handler.stream.write(text)
            handler.flush()
        except (OSError, ValueError):  # a closed or broken stream: as logging, go on
            pass


class _Batches:
    """Direct lines written a few times a second, many at once, by a thread of their own.

    Why: a write per line held the handler's lock across a system call, and the web
    server's threads queued on it and on the GIL: one granian worker with 8 threads
    answered 6,200 hits/s with a write per access line, 16,400 without (docs/bench.md).
    A line waits at most ``interval`` seconds; what is left at exit is written then.
    """

    def __init__(self, interval: float = 0.1) -> None:
        self._handler: logging.StreamHandler | None = None
        self._lines: list[str] = []
        self._guard = threading.Lock()
        self.every = Periodic(self.flush, "log-batches", interval)

    @property
    def on(self) -> bool:
        return self.every.on

    def start(self) -> None:
        """Batch from now on, in this process (a child of a fork starts anew)."""
        self.every.start()

    def add(self, handler: logging.StreamHandler, line: str) -> None:
        if handler is not self._handler:
            self.flush()  # lines for the handler before it go out first, to it
            self._handler = handler
        self._lines.append(line)

    def flush(self) -> None:
        with self._guard:
            handler, count = self._handler, len(self._lines)
            if handler is None or not count:
                return
            text = "".join(self._lines[:count])
            del self._lines[:count]  # what was added meanwhile stays for the next batch
            _write(handler, text)

    def forked(self) -> None:
        """In a forked child: the parent's lines are the parent's to write."""
        self.every.forked()
        self._lines = []
        self._guard = threading.Lock()


_batches = _Batches()
os.register_at_fork(after_in_child=_batches.forked)


def batch_direct_lines() -> None:
    """Have :func:`write_direct` write its lines in batches in this process."""
    _batches.start()


# Exceptions a log line's write lets through to the code that logged, not printed as a
# logging error (jobs/worker.py registers RQ's StopRequested).
_THROUGH: list[type[BaseException]] = []


def let_through(kind: type[BaseException]) -> None:
    """Have Depot's handler pass ``kind`` on when it is raised during a write.

    Why: RQ's worker stops by raising StopRequested from its SIGTERM handler, and a
    signal that came while a line was being written raised it inside the handler, which
    printed it as a "--- Logging error ---" traceback (text in a JSON log, a test saw
    it) and swallowed it."""
    if kind not in _THROUGH:
        _THROUGH.append(kind)


class DepotHandler(logging.StreamHandler):
    """Depot's one handler: a stream handler that passes on what :func:`let_through`
    names instead of reporting it as its own error."""

    def handleError(self, record: logging.LogRecord) -> None:
        error = sys.exc_info()[1]
        if error is not None and isinstance(error, tuple(_THROUGH)):
            raise error
        super().handleError(record)


def make_handler(fmt: str) -> logging.Handler:
    handler = DepotHandler()
    handler.setFormatter(JSONFormatter() if fmt == "json" else TextFormatter())
    handler.addFilter(RequestIdFilter())
    handler.set_name("depot")
    return handler


def _unraisable_as_json(unraisable: Any) -> None:
    """Python's report of an exception it could not raise ("Exception ignored in: …",
    from a ``__del__`` or an at-fork hook), as one JSON line on stderr, where its own
    report would be plain text in a JSON log. Written straight to the stream, as
    Python's own is: it may come in a forked child before logging's locks are reset."""
    message = f"{unraisable.err_msg or 'Exception ignored in'}: {unraisable.object!r}"
    error = "".join(traceback.format_exception(
        unraisable.exc_type, unraisable.exc_value, unraisable.exc_traceback))
    entry = _entry(time.time(), "WARNING", "depot.python", message, os.getpid(),
                   current_request_id(), {"error": error})
    try:
        sys.stderr.write(_json_line(entry) + "\n")
        sys.stderr.flush()
    except (OSError, ValueError, AttributeError):  # no stderr left to tell
        pass


def configure_logging(fmt: str) -> None:
    """Install Depot's handler on the root logger once (again only if the format changed);
    in JSON, Python's own reports of ignored exceptions are JSON lines too."""
    sys.unraisablehook = _unraisable_as_json if fmt == "json" else sys.__unraisablehook__
    root = logging.getLogger()
    ours = [h for h in root.handlers if h.get_name() == "depot"]
    wanted = JSONFormatter if fmt == "json" else TextFormatter
    if ours and isinstance(ours[0].formatter, wanted):
        return
    for handler in ours:
        root.removeHandler(handler)
    if not root.handlers or ours:  # a foreign handler (pytest's capture) is left alone
        root.addHandler(make_handler(fmt))
        root.setLevel(logging.INFO)
    # Alembic narrates every plugin it loads; its result is reported by our commands.
    logging.getLogger("alembic").setLevel(logging.WARNING)
    # The search client logs every request, and every failure with a traceback; Depot logs
    # what a failure means itself (the database search answering instead).
    logging.getLogger("elasticsearch").setLevel(logging.ERROR)


# Each web server's loggers: (its own lines, its access lines).
SERVER_LOGGERS = {"gunicorn": ("gunicorn.error", "gunicorn.access"),
                  "granian": ("_granian", "granian.access")}


def server_logconfig(fmt: str, server: str = "gunicorn", access: bool = False
                     ) -> dict[str, Any]:
    """The web server's own lines (boot, worker exits) in the same format as Depot's; its
    access log only when asked (Depot writes its own, with the request id)."""
    formatter = "app.logs.JSONFormatter" if fmt == "json" else "app.logs.TextFormatter"
    own, access_logger = SERVER_LOGGERS[server]
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"depot": {"()": formatter}},
        "filters": {"request_id": {"()": "app.logs.RequestIdFilter"},
                    "thread_advice": {"()": "app.logs.DropThreadAdvice"}},
        "handlers": {
            "depot": {"class": "logging.StreamHandler", "formatter": "depot",
                      "filters": ["request_id", "thread_advice"],
                      "stream": "ext://sys.stderr"},
        },
        "root": {"level": "INFO", "handlers": ["depot"]},
        "loggers": {
            own: {"level": "INFO", "handlers": [], "propagate": True},
            access_logger: {"level": "INFO" if access else "CRITICAL", "handlers": [],
                            "propagate": True},
            "alembic": {"level": "WARNING"},
            "elasticsearch": {"level": "ERROR"},
        },
    }

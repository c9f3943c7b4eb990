"""Log lines that a person and a log pipeline can both read.

``DEPOT_LOG_FORMAT=json`` (the chart's default) writes one JSON object a line;
``text`` (the default on a laptop) writes the same fields as readable text.
Every line carries the request id of the HTTP request it serves, also inside the
jobs that request queued, so one id follows a module from click to publication.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

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


def new_request_id(offered: str | None = None) -> str:
    """The caller's id when it is a sane token, else a fresh one."""
    if offered and _VALID_ID.match(offered):
        return offered
    return uuid.uuid4().hex


@contextmanager
def request_id_scope(value: str) -> Iterator[str]:
    """Every log line written inside carries ``value`` as its request id."""
    token = _request_id.set(value)
    try:
        yield value
    finally:
        _request_id.reset(token)


def set_request_id(value: str) -> None:
    """For a process that serves one piece of work only (a forked job)."""
    _request_id.set(value)


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", ""):
            record.request_id = _request_id.get()
        return True


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")}


def _redacted(entry: dict[str, Any]) -> dict[str, Any]:
    """The entry's text fields without secrets (before JSON escapes could split one)."""
    return {k: redact(v) if isinstance(v, str) else v for k, v in entry.items()}


class JSONFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request_id, extras."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "pid": record.process,
        }
        rid = getattr(record, "request_id", "")
        if rid:
            entry["request_id"] = rid
        entry.update(_extras(record))
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        elif record.stack_info:
            entry["stack"] = record.stack_info
        # Redacted after encoding too: a secret may sit in any field or traceback.
        return redact(json.dumps(_redacted(entry), default=str, ensure_ascii=False))


class TextFormatter(logging.Formatter):
    """``time level logger [request id]: message key=value…`` for a terminal."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s%(rid)s: %(message)s%(fields)s")

    def format(self, record: logging.LogRecord) -> str:
        rid = getattr(record, "request_id", "")
        record.rid = f" [{rid}]" if rid else ""
        extras = {} if getattr(record, "_terse", False) else {
            k: v for k, v in _extras(record).items() if k not in ("rid", "fields")}
        record.fields = "".join(f" {k}={v}" for k, v in extras.items())
        return redact(super().format(record))


def make_handler(fmt: str) -> logging.Handler:
    handler = logging.StreamHandler()
    handler.setFormatter(JSONFormatter() if fmt == "json" else TextFormatter())
    handler.addFilter(RequestIdFilter())
    handler.set_name("depot")
    return handler


def configure_logging(fmt: str) -> None:
    """Install Depot's handler on the root logger once (again only if the format changed)."""
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


def gunicorn_logconfig(fmt: str, access: bool = False) -> dict[str, Any]:
    """gunicorn's own lines (boot, worker exits) in the same format as Depot's; its access
    log only when asked (Depot writes its own, with the request id)."""
    formatter = "app.logs.JSONFormatter" if fmt == "json" else "app.logs.TextFormatter"
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"depot": {"()": formatter}},
        "filters": {"request_id": {"()": "app.logs.RequestIdFilter"}},
        "handlers": {
            "depot": {"class": "logging.StreamHandler", "formatter": "depot",
                      "filters": ["request_id"], "stream": "ext://sys.stderr"},
        },
        "root": {"level": "INFO", "handlers": ["depot"]},
        "loggers": {
            "gunicorn.error": {"level": "INFO", "handlers": [], "propagate": True},
            "gunicorn.access": {"level": "INFO" if access else "CRITICAL", "handlers": [],
                                "propagate": True},
            "alembic": {"level": "WARNING"},
            "elasticsearch": {"level": "ERROR"},
        },
    }

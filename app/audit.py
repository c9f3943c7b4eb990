"""The audit trail: who did what, to which module or token, when, from where, under
which request id, kept in the database for DEPOT_AUDIT_RETENTION_DAYS.

Why a table of its own and not the log: an operator asked "who requested this module",
"who revoked that token" or "what did this address try" months later needs an answer
that survives log rotation and can be filtered by a person with the admin role
(``/admin/audit``, ``GET /api/v1/audit``), without reading the server's files.

Who acts is kept in a context variable: the web gate sets the caller of each request
(app/auth/gate.py), an operator's command sets ``cli:<user>`` (app/cli.py); anything else
is the pipeline itself (``depot``). The request id comes from the log context, which a
job inherits from the request that queued it, so a publication links back to the
request that asked for it.

Recording never fails the work it describes: a database that cannot take the row is
logged, and the work goes on.
"""

from __future__ import annotations

import functools
import getpass
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta

import click
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from app.db import Database
from app.logs import current_request_id
from app.models import AuditEvent, utcnow
from app.redact import redact
from app.shorten import cut

log = logging.getLogger("depot.audit")

# What happened (stable strings: filters and receivers of the API rely on them).
REQUESTED = "module.requested"
REQUEST_REJECTED = "request.rejected"
REQUEST_FAILED = "request.failed"
CAPTURED = "module.captured"
PUBLISHED = "version.published"
REJECTED = "version.rejected"
FAILED = "version.failed"
ACCESS_REFUSED = "access.refused"
DRIFT_CHECK = "drift.check"
DRIFT_FOUND = "drift.found"
TOKEN_CREATED = "token.created"
TOKEN_REVOKED = "token.revoked"
COMMAND = "admin.command"
SIGNED_IN = "session.signed_in"
SIGNED_OUT = "session.signed_out"
ACTIONS = (REQUESTED, REQUEST_REJECTED, REQUEST_FAILED, CAPTURED, PUBLISHED, REJECTED,
           FAILED, ACCESS_REFUSED, DRIFT_CHECK, DRIFT_FOUND, TOKEN_CREATED, TOKEN_REVOKED,
           COMMAND, SIGNED_IN, SIGNED_OUT)

DETAIL_LIMIT = 2000
# Rows deleted per statement when old ones go: a long transaction would hold the table.
PRUNE_BATCH = 5000


@dataclass(frozen=True)
class Actor:
    """Who does something: a token's name, "anonymous", "depot" or "cli:<user>"; the
    role it acted with; and where from (a client's address, "cli" or "worker")."""

    name: str
    role: str
    source: str


PIPELINE = Actor("depot", "system", "worker")
_actor: ContextVar[Actor] = ContextVar("depot_audit_actor", default=PIPELINE)


def current_actor() -> Actor:
    return _actor.get()


def set_actor(actor: Actor) -> None:
    """Who acts from now on in this context (the web gate, once per request)."""
    _actor.set(actor)


def operator() -> Actor:
    """The person running one of Depot's commands."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a container's)
        user = "unknown"
    return Actor(_fit(f"cli:{user}", 120), "admin", "cli")


@contextmanager
def acting_as(actor: Actor) -> Iterator[Actor]:
    token = _actor.set(actor)
    try:
        yield actor
    finally:
        _actor.reset(token)


def event(action: str, target: str = "", detail: str = "",
          actor: Actor | None = None, at: datetime | None = None) -> AuditEvent:
    """A row for ``action``, with secrets taken out of what it says."""
    who = actor or current_actor()
    return AuditEvent(
        at=at or utcnow(), actor=_fit(who.name, 120), role=_fit(who.role, 20),
        action=action, target=_fit(redact(target), 600),
        detail=_fit(redact(detail), DETAIL_LIMIT), source=_fit(who.source, 100),
        request_id=_fit(current_request_id(), 64))


def _fit(text: str, width: int) -> str:
    """``text`` cut to fit a column of ``width`` characters (the ellipsis included)."""
    return cut(text, width - 1)


def add(session: Session, action: str, target: str = "", detail: str = "",
        actor: Actor | None = None) -> None:
    """Record in the caller's transaction: the event is kept if and only if the change
    it describes is (a token made, a token revoked)."""
    session.add(event(action, target, detail, actor))


def record(db: Database, action: str, target: str = "", detail: str = "",
           actor: Actor | None = None) -> None:
    """Record in a transaction of its own; never raises."""
    try:
        with db.session() as session:
            add(session, action, target, detail, actor)
    except Exception as exc:  # the audited work goes on; the log says what was lost
        log.warning("could not record %s %s in the audit trail: %s", action, target,
                    redact(str(exc)).splitlines()[0] if str(exc) else type(exc).__name__)


@dataclass(frozen=True)
class Filters:
    """What an admin narrows the trail to; empty fields do not filter."""

    action: str = ""
    actor: str = ""
    target: str = ""  # a module path (or prefix), module@version, a token's name
    since: datetime | None = None
    until: datetime | None = None
    before: int | None = None  # the page's cursor: events older than this id

    def matching(self, session: Session, limit: int) -> list[AuditEvent]:
        """The newest ``limit`` events that match, newest first."""
        query = select(AuditEvent)
        if self.action:
            query = query.where(AuditEvent.action == self.action)
        if self.actor:
            query = query.where(AuditEvent.actor == self.actor)
        if self.target:
            query = query.where(AuditEvent.target.startswith(self.target, autoescape=True))
        if self.since is not None:
            query = query.where(AuditEvent.at >= self.since)
        if self.until is not None:
            query = query.where(AuditEvent.at < self.until)
        if self.before is not None:
            query = query.where(AuditEvent.id < self.before)
        return list(session.scalars(query.order_by(AuditEvent.id.desc()).limit(limit)))


def prune(db: Database, retention_days: int, now: datetime | None = None) -> int:
    """Delete events older than ``retention_days`` (0: none); how many went."""
    if retention_days <= 0:
        return 0
    cutoff = (now or utcnow()) - timedelta(days=retention_days)
    gone = 0
    while True:
        with db.session() as session:
            ids = session.scalars(select(AuditEvent.id).where(AuditEvent.at < cutoff)
                                  .order_by(AuditEvent.id).limit(PRUNE_BATCH)).all()
            if ids:
                session.execute(delete(AuditEvent).where(AuditEvent.id.in_(ids)))
        gone += len(ids)
        if len(ids) < PRUNE_BATCH:
            return gone


# Commands that change nothing (or, for downgrade, may take the table away): not recorded.
UNRECORDED = frozenset({"tokens list", "deploy status", "jobs failed", "serve", "downgrade"})


def audit_commands(group: click.Group, db_of: Callable[[], Database], prefix: str = ""
                   ) -> None:
    """Run every command under ``group`` as the operator (``cli:<user>``) and record it
    (admin.command: its words, its options, how it ended), but the UNRECORDED ones."""
    for name, command in group.commands.items():
        path = f"{prefix}{name}"
        if isinstance(command, click.Group):
            audit_commands(command, db_of, f"{path} ")
        elif command.callback is not None and not getattr(command.callback,
                                                           "depot_audited", False):
            command.callback = _audited(command.callback, path, db_of,
                                        record_it=path not in UNRECORDED)


def _audited(callback: Callable[..., object], path: str, db_of: Callable[[], Database],
             record_it: bool) -> Callable[..., object]:
    @functools.wraps(callback)
    def run(*args: object, **kwargs: object) -> object:
        with acting_as(operator()):
            ended = "failed"
            try:
                result = callback(*args, **kwargs)
                ended = "done"
                return result
            except SystemExit as exc:
                ended = "done" if exc.code in (0, None) else f"exit status {exc.code}"
                raise
            except click.ClickException as exc:
                ended = f"refused: {exc.format_message()}"
                raise
            finally:
                if record_it:
                    words = " ".join(f"{k}={v}" for k, v in sorted(kwargs.items())
                                     if v not in (None, False, (), ""))
                    record(db_of(), COMMAND, path, f"{words + '; ' if words else ''}{ended}")

    run.depot_audited = True  # type: ignore[attr-defined]
    return run

"""Check my go.mod: what the page ``/check`` and ``POST /api/v1/check`` do, and the page's
one button that requests every missing version.

The logic is app/catalog/check.py; here it meets the settings (the go binary, the miss
mode), the drift alarm's words and the request pipeline. The button's requests go
through the same submit and the same per-client budget as the request form and
``POST /api/v1/requests``: one hit of the limiter per version asked for, so a pasted
go.mod is no way around the budget; what the budget leaves out is said, to be sent again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from redis.exceptions import RedisError
from sqlalchemy.orm import Session

from app.catalog.check import CheckResult, Key, read_pasted
from app.catalog.check import check as check_pasted
from app.drift.status import version_upstream
from app.errors import Unavailable
from app.gomod.errors import GoModError
from app.gomod.modfile import MAX_GOMOD_SIZE, GoModFacts, parse_gomod
from app.models import RequestSource
from app.pipeline.requests import InvalidRequest
from app.pipeline.stages import Dispatcher
from app.ratelimit import FixedWindowLimiter
from app.resources import Services
from app.services.requests import request_wish
from app.store import ArtifactMissing


def drift_note(session: Session, path: str, version: str, version_id: int) -> str:
    """The module page's drift notice, short: "" when no drift stands."""
    upstream = version_upstream(session, path, version, version_id)
    if not upstream.drifted:
        return ""
    what = "no longer has it" if upstream.gone else "now serves different bytes"
    return f"the upstream {what}; Depot keeps serving what it captured"


def stored_mod_facts(svc: Services) -> Callable[[str, str], GoModFacts | None]:
    """The check's reader of go.mod files the store holds without recorded requirements
    (app/catalog/check.ModFacts): None for one it lacks or the go command refuses."""
    def read(path: str, version: str) -> GoModFacts | None:
        try:
            with svc.store.open(path, version, "mod") as stream:
                data = stream.read(MAX_GOMOD_SIZE + 1)
            return parse_gomod(data, svc.settings.go_bin)
        except (ArtifactMissing, GoModError):
            return None
    return read


def check_gomod(svc: Services, go_mod: str, go_sum: str = "") -> CheckResult:
    """The pasted texts judged against Depot (CheckInputError for bad input; Unavailable
    when the go binary cannot run)."""
    try:
        pasted = read_pasted(go_mod, go_sum, svc.settings.go_bin)
    except OSError as exc:
        raise Unavailable(f"the go command cannot run: {type(exc).__name__}") from exc
    with svc.db.session() as session:
        return check_pasted(session, pasted, on_miss=svc.settings.on_miss,
                            drift_note=drift_note, mod_facts=stored_mod_facts(svc))


@dataclass
class Asked:
    """What pressing the button came to."""

    submitted: list[tuple[str, str, int]] = field(default_factory=list)  # path, version, id
    refused: list[tuple[str, str, str]] = field(default_factory=list)  # path, version, why
    left: list[Key] = field(default_factory=list)  # not sent: over the client's budget
    retry_after: int | None = None  # seconds until the budget allows more


def request_missing(svc: Services, dispatcher: Dispatcher, limiter: FixedWindowLimiter,
                    client: str, result: CheckResult) -> Asked:
    """Request every version the check found missing (and not already on its way), one
    limiter hit each, stopping at the client's budget."""
    asked = Asked()
    wanted = result.to_request
    for n, (path, version) in enumerate(wanted):
        try:
            retry_after = limiter.hit(client)
        except RedisError as exc:
            raise Unavailable(f"the job queue is unreachable: {type(exc).__name__}") from exc
        if retry_after is not None:
            asked.retry_after, asked.left = retry_after, wanted[n:]
            break
        try:
            done = request_wish(svc, dispatcher, path, version, RequestSource.api)
        except InvalidRequest as exc:
            asked.refused.append((path, version, str(exc)))
            continue
        asked.submitted.append((path, version, done.request_id))
    return asked

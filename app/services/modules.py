"""Looking up the module a caller names, with the errors every view maps alike."""

from __future__ import annotations

from sqlalchemy.orm import Session

from app.catalog.modules import ModuleSummary, module_summary
from app.errors import BadRequest, NotFound
from app.gomod import paths
from app.gomod.errors import GoModError


def check_path(path: str) -> None:
    """A module path as the go command accepts it, else BadRequest saying why."""
    try:
        paths.check_module_path(path)
    except GoModError as exc:
        raise BadRequest(str(exc)) from exc


def known_module(session: Session, path: str) -> ModuleSummary:
    """The module's summary; NotFound when Depot holds none of its versions."""
    found = module_summary(session, path)
    if found is None:
        raise NotFound(f"{path} is not in Depot; request it with POST /api/v1/requests")
    return found

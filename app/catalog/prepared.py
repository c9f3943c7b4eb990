"""A version's README rendered once and kept, with its synopsis (``rendered_contents``).

Why: a README is anyone's text. Rendering it is bounded (app/content/bounded.py) but
can still cost seconds, and a page, a search answer and an index job each rendered it
again. Now a ``render`` job makes both at publication, off every request's path; a
page or search answer that comes first renders in its own bounded child and keeps
the result, so each README of each version is rendered once.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable
from dataclasses import dataclass

from markupsafe import Markup
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.content.files import README_MAX, read_zip_text, zip_listing
from app.content.readme import IMAGE_TYPES, render_readme
from app.content.repo import source_repo
from app.content.synopsis import synopsis
from app.db import Database
from app.models import Module, ModuleVersion, RenderedContent, VersionState
from app.store import ArtifactStore

# The rendering code's revision: raise it when render_readme or synopsis change what
# they make, and rows of the older revision are made again on their next use.
RENDERER = 2  # 2: README images the zip holds are shown from Depot
README = "readme"
SYNOPSIS = "synopsis"
KINDS = (README, SYNOPSIS)
NO_README = "This module version has no README."


@dataclass(frozen=True)
class Rendered:
    """A README's sanitized HTML, or a synopsis's text; ``note`` says why it is empty."""

    body: str
    note: str = ""

    def html(self) -> Markup:
        return Markup(self.body)  # sanitized by render_readme before it was kept


def stored(session: Session, version_id: int, kinds: Iterable[str] = KINDS
           ) -> dict[str, Rendered]:
    """What is kept for the version, of the current renderer only."""
    return {
        kind: Rendered(body, note)
        for kind, body, note in session.execute(
            select(RenderedContent.kind, RenderedContent.body, RenderedContent.note).where(
                RenderedContent.version_id == version_id,
                RenderedContent.kind.in_(list(kinds)),
                RenderedContent.renderer == RENDERER,
            )
        )
    }


def render(store: ArtifactStore, module: str, version: str, readme_name: str | None,
           kinds: Iterable[str] = KINDS) -> tuple[dict[str, Rendered], bool]:
    """(the renderings, whether they may be kept). The README is read once for both.

    Not kept: a README that could not be read from the store now (its zip may yet
    arrive); a README too slow to render is kept as such (the bound is its answer).
    """
    wanted = list(kinds)
    if not readme_name:
        return {k: Rendered("", NO_README) for k in wanted}, True
    found = read_zip_text(store, module, version, readme_name, README_MAX)
    if found.text is None:
        return {k: Rendered("", found.note) for k in wanted}, False
    out = {}
    if README in wanted:
        listing, _note = zip_listing(store, module, version)
        images = frozenset(name for name, _size in listing
                           if posixpath.splitext(name)[1].lower() in IMAGE_TYPES)
        out[README] = Rendered(str(render_readme(readme_name, found.text,
                                                 source_repo(module, version), images)))
    if SYNOPSIS in wanted:
        out[SYNOPSIS] = Rendered(synopsis(readme_name, found.text))
    return out, True


def keep(db: Database, version_id: int, made: dict[str, Rendered]) -> None:
    """Store ``made``, replacing rows of an older renderer; a concurrent keeper's rows win."""
    try:
        with db.session() as session:
            session.execute(delete(RenderedContent).where(
                RenderedContent.version_id == version_id,
                RenderedContent.kind.in_(list(made)),
                RenderedContent.renderer != RENDERER,
            ))
            present = set(stored(session, version_id, made))
            for kind, r in made.items():
                if kind not in present:
                    session.add(RenderedContent(version_id=version_id, kind=kind,
                                                renderer=RENDERER, body=r.body, note=r.note))
    except IntegrityError:
        pass  # another process kept the same rendering meanwhile


def prepared(db: Database, store: ArtifactStore, module: str, version: str, version_id: int,
             readme_name: str | None, kinds: Iterable[str] = KINDS) -> dict[str, Rendered]:
    """The kept renderings of ``kinds``; the missing ones rendered now and kept."""
    wanted = list(kinds)
    with db.session() as session:
        have = stored(session, version_id, wanted)
    missing = [k for k in wanted if k not in have]
    if missing:
        made, keepable = render(store, module, version, readme_name, missing)
        if keepable:
            keep(db, version_id, made)
        have.update(made)
    return have


def prepare_version(db: Database, store: ArtifactStore, module: str, version: str) -> bool:
    """The ``render`` job: both renderings of ``module@version``, made unless kept.

    False when Depot has no such version (withdrawn meanwhile: nothing to do)."""
    with db.session() as session:
        row = session.execute(
            select(ModuleVersion.id, ModuleVersion.readme_name)
            .join(Module, Module.id == ModuleVersion.module_id)
            .where(Module.path == module, ModuleVersion.version == version)
        ).first()
    if row is None:
        return False
    prepared(db, store, module, version, row.id, row.readme_name)
    return True


def unrendered(db: Database) -> list[tuple[str, str]]:
    """Published versions with no README rendering of the current renderer (made before
    rendering was kept, or by an older renderer): what `flask --app app render` does."""
    done = select(RenderedContent.version_id).where(RenderedContent.kind == README,
                                                    RenderedContent.renderer == RENDERER)
    with db.session() as session:
        return [(path, version) for path, version in session.execute(
            select(Module.path, ModuleVersion.version)
            .join(Module, Module.id == ModuleVersion.module_id)
            .where(ModuleVersion.state == VersionState.published,
                   ModuleVersion.id.not_in(done))
            .order_by(Module.path, ModuleVersion.version)
        )]

"""The module page's Files tab: the version's zip listed, and one file shown highlighted
with its lines anchored (``?tab=files&file=PATH#L-12``), which documentation links to."""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from typing import Any

from flask import request, url_for
from sqlalchemy.orm import Session

from app.catalog.modules import VersionDetail
from app.content.files import read_zip_text, zip_listing
from app.content.readme import IMAGE_TYPES
from app.content.source import highlight_source
from app.portal.contents import hidden_reason
from app.wiring import depot

SOURCE_MAX = 1 << 20  # a file shown is read whole; larger ones are offered as the zip


@dataclass(frozen=True)
class Folder:
    """A folder of the zip and its files (name, size), for the listing."""

    path: str
    files: list[tuple[str, int]]


def folders(listing: list[tuple[str, int]]) -> list[Folder]:
    """The files grouped by folder, the module root first, folders in path order."""
    grouped: dict[str, list[tuple[str, int]]] = {}
    for name, size in listing:
        folder, _, base = name.rpartition("/")
        grouped.setdefault(folder, []).append((base, size))
    return [Folder(path, grouped[path]) for path in sorted(grouped)]


def files_tab(_session: Session, detail: VersionDetail) -> dict[str, Any]:
    if not detail.shows_contents:
        return {"files_note": hidden_reason(detail)}
    name = request.args.get("file", "")[:1024]
    svc = depot()
    if not name:
        listing, note = zip_listing(svc.store, detail.path, detail.version)
        return {"folders": folders(listing), "file_count": len(listing), "files_note": note}

    if posixpath.splitext(name)[1].lower() in IMAGE_TYPES:  # shown as what it is
        return {"file": name, "source": None, "files_note": "",
                "image_url": url_for("portal.zip_image", module=detail.path,
                                     version=detail.version, file=name)}

    def make() -> tuple[Any, str]:
        found = read_zip_text(svc.store, detail.path, detail.version, name, SOURCE_MAX)
        if found.text is None:
            return None, found.note
        if "\x00" in found.text[:8192]:  # what git and editors take for binary
            return None, f"{name} is a binary file: download the zip to see it."
        return highlight_source(name, found.text), ""

    shown, note = svc.rendered.get_or_make(("source", detail.path, detail.version, name),
                                          make, lambda made: made[0] is not None)
    return {"file": name, "source": shown, "files_note": note}

"""A version's README, go.mod and license texts, rendered once per process.

Only redistributable versions show their contents (the license gate's
verdict): for the others the tabs say why instead.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from markupsafe import Markup

from app.catalog.modules import VersionDetail
from app.content.cache import LRU
from app.content.files import LICENSE_MAX, README_MAX, read_gomod, read_zip_text
from app.content.gomod_highlight import highlight_gomod
from app.content.readme import render_readme
from app.content.repo import source_repo
from app.portal.context import services


@dataclass(frozen=True)
class Shown:
    """Rendered HTML, or a note saying why there is none."""

    html: Markup | None
    note: str = ""


@dataclass(frozen=True)
class LicenseText:
    file_name: str
    spdx_ids: tuple[str, ...]
    text: str | None
    note: str = ""


def _cache() -> LRU:
    found = current_app.extensions.get("depot.rendered")
    if found is None:
        found = LRU(256)
        current_app.extensions["depot.rendered"] = found
    return found


def _found(shown: Shown) -> bool:
    return shown.html is not None  # a missing file may yet arrive: do not remember its absence


def hidden_reason(detail: VersionDetail) -> str:
    """Why a version's contents are not shown ("" when they are)."""
    if detail.redistributable is True:
        return ""
    if detail.redistributable is False:
        return ("Depot does not show this version's files: its license is not one Depot may "
                "redistribute.")
    if detail.summary.state in ("rejected", "failed"):
        return f"This version was {detail.summary.label} before its files were checked, so " \
               "Depot does not show them."
    return "This version's license has not been checked yet, so its files are not shown."


def readme(detail: VersionDetail) -> Shown:
    if not detail.shows_contents:
        return Shown(None, hidden_reason(detail))
    name = detail.readme_name
    if not name:
        return Shown(None, "This module version has no README.")

    def make() -> Shown:
        found = read_zip_text(services().store, detail.path, detail.version, name, README_MAX)
        if found.text is None:
            return Shown(None, found.note)
        return Shown(render_readme(name, found.text, source_repo(detail.path, detail.version)))

    return _cache().get_or_make(("readme", detail.path, detail.version), make, _found)


def gomod(detail: VersionDetail) -> Shown:
    if not detail.shows_contents:
        return Shown(None, hidden_reason(detail))

    def make() -> Shown:
        found = read_gomod(services().store, detail.path, detail.version)
        if found.text is None:
            return Shown(None, found.note)
        return Shown(highlight_gomod(found.text))

    return _cache().get_or_make(("gomod", detail.path, detail.version), make, _found)


def licenses(detail: VersionDetail) -> list[LicenseText]:
    """Every license file with its SPDX ids; texts only for redistributable versions."""
    if not detail.shows_contents:
        return [LicenseText(lic.file_name, lic.spdx_ids, None) for lic in detail.licenses]

    def make() -> list[LicenseText]:
        out = []
        for lic in detail.licenses:
            found = read_zip_text(services().store, detail.path, detail.version, lic.file_name,
                                  LICENSE_MAX)
            out.append(LicenseText(lic.file_name, lic.spdx_ids, found.text, found.note))
        return out

    return _cache().get_or_make(("licenses", detail.path, detail.version), make,
                                lambda texts: all(t.text is not None for t in texts))

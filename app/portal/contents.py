"""A version's README, go.mod and license texts, rendered once per process.

Only redistributable versions show their contents (the license gate's
verdict): for the others the tabs say why instead.
"""

from __future__ import annotations

from dataclasses import dataclass

from markupsafe import Markup

from app.catalog.modules import VersionDetail
from app.catalog.prepared import README, prepared
from app.content.cache import LRU
from app.content.files import LICENSE_MAX, read_gomod, read_zip_text
from app.content.gomod_highlight import highlight_gomod
from app.gomod.paths import escape_path, escape_version
from app.portal.zip_images import point_images
from app.wiring import depot


@dataclass(frozen=True)
class Shown:
    """Rendered HTML, or a note saying why there is none (or what of it is shown)."""

    html: Markup | None
    note: str = ""
    raw_url: str = ""  # the whole file, when the page shows part of it or none


@dataclass(frozen=True)
class LicenseText:
    file_name: str
    spdx_ids: tuple[str, ...]
    text: str | None
    note: str = ""


def _cache() -> LRU:
    return depot().rendered


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
        svc = depot()
        kept = prepared(svc.db, svc.store, detail.path, detail.version, detail.version_id,
                        name, [README])[README]
        return Shown(None, kept.note) if kept.note else Shown(kept.html())

    shown = _cache().get_or_make(("readme", detail.path, detail.version), make, _found)
    if shown.html is None:
        return shown
    return Shown(point_images(shown.html, detail.path, detail.version), shown.note,
                 shown.raw_url)


# What the Mod File tab shows of a go.mod: real ones have a few hundred lines, and a
# probe's 1 MiB go.mod of 15,024 `retract` lines made 3.6 MB of HTML per view. The rest
# is one link away, as the GOPROXY serves it.
GOMOD_SHOWN_LINES = 2000
GOMOD_SHOWN_BYTES = 128 * 1024


def shown_part(text: str, lines: int = GOMOD_SHOWN_LINES,
               size: int = GOMOD_SHOWN_BYTES) -> tuple[str, int]:
    """The first whole lines of ``text`` within both caps, and how many lines it has."""
    total = text.count("\n") + (0 if text.endswith("\n") or not text else 1)
    if total <= lines and len(text) <= size:
        return text, total
    part = text[:size]
    if len(text) > size:  # a line cut in the middle is left out
        part = part[:part.rfind("\n") + 1]
    end = -1
    for _ in range(lines):
        end = part.find("\n", end + 1)
        if end < 0:
            return part, total
    return part[:end + 1], total


def gomod(detail: VersionDetail) -> Shown:
    if not detail.shows_contents:
        return Shown(None, hidden_reason(detail))
    raw_url = f"/{escape_path(detail.path)}/@v/{escape_version(detail.version)}.mod"

    def make() -> Shown:
        found = read_gomod(depot().store, detail.path, detail.version)
        if found.text is None:
            return Shown(None, found.note, raw_url if found.too_large else "")
        part, total = shown_part(found.text)
        shown = part.count("\n")
        note = "" if part == found.text else (
            f"This go.mod has {total:,} lines; the first {shown:,} are shown.")
        return Shown(highlight_gomod(part), note, raw_url)

    return _cache().get_or_make(("gomod", detail.path, detail.version), make, _found)


def licenses(detail: VersionDetail) -> list[LicenseText]:
    """Every license file with its SPDX ids; texts only for redistributable versions."""
    if not detail.shows_contents:
        return [LicenseText(lic.file_name, lic.spdx_ids, None) for lic in detail.licenses]

    def make() -> list[LicenseText]:
        out = []
        for lic in detail.licenses:
            found = read_zip_text(depot().store, detail.path, detail.version, lic.file_name,
                                  LICENSE_MAX)
            out.append(LicenseText(lic.file_name, lic.spdx_ids, found.text, found.note))
        return out

    return _cache().get_or_make(("licenses", detail.path, detail.version), make,
                                lambda texts: all(t.text is not None for t in texts))

"""The facts a developer checks first on a module page's header, as pkg.go.dev shows
them: where the source lives (the upstream's ``.info`` Origin, else the module path on a
host whose layout is known) and badges (valid go.mod, redistributable license, tagged,
stable), beside Depot's own (validated, drift-free).

Read from the stored ``.info`` and ``.mod`` once per process and version: they never
change once stored.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from urllib.parse import urlsplit

from app.catalog.modules import VersionDetail
from app.content.repo import source_repo
from app.drift.status import PageUpstream
from app.gomod import versions
from app.gomod.modfile import synthesize_gomod
from app.store import ArtifactStore, StoreError
from app.wiring import depot


@dataclass(frozen=True)
class Repository:
    """Where the version's source is: a URL, and the ref and commit when the upstream
    said (``origin`` True: from its ``.info`` Origin, as the go command recorded it)."""

    url: str
    ref: str = ""
    commit: str = ""
    origin: bool = False


@dataclass(frozen=True)
class Badge:
    label: str
    ok: bool | None  # None: not known yet (not checked, not decided): neither ✓ nor ✗
    title: str

    @property
    def mark(self) -> str:
        return "✓" if self.ok else "✗" if self.ok is False else "?"

    @property
    def said(self) -> str:
        """The mark in words, for screen readers."""
        return "yes" if self.ok else "no" if self.ok is False else "not known yet"


@dataclass(frozen=True)
class Stored:
    """What the header needs from the stored .info and .mod."""

    repository: Repository | None
    own_go_mod: bool | None  # None: the .mod could not be read


def _web_url(raw: object) -> str:
    """An http(s) URL a page may link to, else ""; ``git@`` and other schemes are not."""
    if not isinstance(raw, str) or len(raw) > 2000:
        return ""
    parts = urlsplit(raw.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return ""
    return raw.strip().removesuffix(".git")


def _origin(info: bytes) -> Repository | None:
    try:
        origin = json.loads(info).get("Origin")
    except (ValueError, AttributeError):
        return None
    if not isinstance(origin, dict):
        return None
    url = _web_url(origin.get("URL"))
    if not url:
        return None
    ref, commit = origin.get("Ref"), origin.get("Hash")
    return Repository(url, ref if isinstance(ref, str) else "",
                      commit if isinstance(commit, str) else "", origin=True)


def read_stored(store: ArtifactStore, module: str, version: str) -> Stored:
    repository = None
    try:
        repository = _origin(store.read_bytes(module, version, "info"))
    except StoreError:
        pass
    if repository is None:
        guessed = source_repo(module, version)
        if guessed is not None:
            repository = Repository(guessed.url, guessed.ref)
    try:
        mod = store.read_bytes(module, version, "mod")
        own: bool | None = mod.strip() != synthesize_gomod(module).strip()
    except StoreError:
        own = None
    return Stored(repository, own)


def stored_facts(detail: VersionDetail) -> Stored:
    svc = depot()
    return svc.rendered.get_or_make(("facts", detail.path, detail.version),
                                    lambda: read_stored(svc.store, detail.path, detail.version))


def license_badge(detail: VersionDetail, exempt: bool = False) -> Badge:
    """What the license gate decided; a private module the operator exempted
    (``exempt``) says so rather than claiming a license it may not have."""
    if exempt:
        return Badge("License gate: exempt", True, "One of this company's own modules: "
                     "DEPOT_PRIVATE_LICENSE=exempt serves it whatever its license says")
    return Badge("Redistributable license", detail.redistributable,
                 "Depot's license gate found a license it may redistribute"
                 if detail.redistributable else "No license Depot may redistribute was found"
                 if detail.redistributable is False else "The license gate has not decided yet")


def badges(detail: VersionDetail, stored: Stored, upstream: PageUpstream | None,
           license_exempt: bool = False) -> list[Badge]:
    """pkg.go.dev's four, then Depot's drift check (its other, validated, has its own
    badge beside the license); each says what it checked."""
    version = detail.version
    tagged = not detail.summary.is_pseudo
    stable = tagged and versions.major(version) not in ("v0", "") \
        and not versions.is_prerelease(version)
    checked = upstream is not None and upstream.version.last_check is not None
    drifted = upstream is not None and upstream.version.drifted
    return [
        Badge("Valid go.mod", stored.own_go_mod is True,
              "The module has a go.mod file of its own" if stored.own_go_mod else
              "No go.mod file: the go command made one up (module path only)"),
        license_badge(detail, license_exempt),
        Badge("Tagged version", tagged, "A semantic version tag" if tagged
              else "A pseudo-version: a commit, not a release"),
        Badge("Stable version", stable, "v1 or later, not a pre-release: the API is "
              "covered by the Go compatibility promise" if stable else
              "v0, a pre-release or an untagged commit: the API may change"),
        # Not checked again yet is not a drift: the trial read "✗ Drift-free" as one.
        Badge("Drift-free", True if checked and not drifted else False if drifted else None,
              "The upstream still serves the bytes Depot captured (last check)"
              if checked and not drifted else "The upstream changed what it serves for this "
              "version" if drifted else "The upstream has not been checked again yet"),
    ]

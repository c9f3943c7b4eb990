"""The redistributable policy: may Depot serve a module version, given its license files?

Depot redistributes module zips unchanged, so a version is published only when
every license file at its module root is recognised and every license found is
on the allow-list. Anything else (no license file, a text the detector cannot
classify, a license off the list) keeps the version in staging with a reason
that names what blocks it. Every reason starts with ``REASON_PREFIX``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache

from app.licenses.detect import canonical_id, classify, family

__all__ = [
    "ENV_VAR",
    "REASON_PREFIX",
    "REDISTRIBUTABLE",
    "FileLicense",
    "Verdict",
    "allow_list_from_env",
    "evaluate",
    "is_allowed",
]

ENV_VAR = "DEPOT_LICENSE_ALLOW"
REASON_PREFIX = "license not redistributable: "

# Licenses that let anyone redistribute the unmodified source, which is all a
# module proxy does: the OSI-approved and FSF-free licenses common in Go
# modules, close to the list pkg.go.dev treats as redistributable. Copyleft
# licenses are on it (serving GPL source with its license is what the GPL
# allows); source-available licenses (BUSL-1.1, SSPL-1.0, Elastic-2.0),
# non-commercial ones (CC-BY-NC-*) and unknown texts are not. A company that
# wants a narrower list sets DEPOT_LICENSE_ALLOW.
#
# It also holds the short permissive notices that license files of big projects
# carry for bundled third-party files (FSF all-permissive and unlimited notices,
# HPND, SSLeay's half of the OpenSSL license): the detector names them exactly,
# and a file is judged by all the licenses in it, so without them
# github.com/apache/thrift@v0.12.0 (Apache-2.0 plus an FSFAP notice for one m4
# file) would be held.
REDISTRIBUTABLE: frozenset[str] = frozenset(
    {
        "0BSD",
        "AFL-3.0",
        "AGPL-3.0-only",
        "AGPL-3.0-or-later",
        "Apache-2.0",
        "Artistic-2.0",
        "BlueOak-1.0.0",
        "BSD-1-Clause",
        "BSD-2-Clause",
        "BSD-2-Clause-Patent",
        "BSD-2-Clause-Views",
        "BSD-3-Clause",
        "BSD-3-Clause-Clear",
        "BSL-1.0",
        "CC-BY-3.0",
        "CC-BY-4.0",
        "CC-BY-SA-4.0",
        "CC0-1.0",
        "CDDL-1.0",
        "EPL-1.0",
        "EPL-2.0",
        "EUPL-1.2",
        "FSFAP",
        "FSFAP-no-warranty-disclaimer",
        "FSFUL",
        "FSFULLR",
        "FSFULLRWD",
        "GPL-2.0-only",
        "GPL-2.0-or-later",
        "GPL-3.0-only",
        "GPL-3.0-or-later",
        "HPND",
        "ISC",
        "LGPL-2.1-only",
        "LGPL-2.1-or-later",
        "LGPL-3.0-only",
        "LGPL-3.0-or-later",
        "MIT",
        "MIT-0",
        "MPL-2.0",
        "NCSA",
        "OFL-1.1",
        "OpenSSL",
        "PostgreSQL",
        "Python-2.0",
        "SSLeay-standalone",
        "Unicode-3.0",
        "Unicode-DFS-2016",
        "Unlicense",
        "UPL-1.0",
        "WTFPL",
        "Zlib",
    }
)


@dataclass(frozen=True)
class FileLicense:
    """A license file at the module root and the SPDX ids found in it ([] = unknown)."""

    name: str
    spdx_ids: list[str]


@dataclass(frozen=True)
class Verdict:
    """What the gate decided; ``reason`` is empty exactly when redistributable."""

    licenses: list[FileLicense] = field(default_factory=list)
    redistributable: bool = False
    reason: str = ""


@lru_cache(maxsize=16)  # parsed once per value, not on every use
def allow_list_from_env(value: str | None) -> frozenset[str]:
    """Parse ``DEPOT_LICENSE_ALLOW`` (comma-separated SPDX ids); empty or unset = default.

    Ids are taken in their current SPDX spelling (``GPL-3.0`` is read as
    ``GPL-3.0-only``); the value replaces the default list, it does not extend it.
    """
    if value is None:
        return REDISTRIBUTABLE
    ids = frozenset(canonical_id(part) for part in value.split(",") if part.strip())
    return ids or REDISTRIBUTABLE


def is_allowed(spdx_id: str, allow: frozenset[str]) -> bool:
    """Whether ``spdx_id`` is on ``allow``, comparing GNU "-only"/"-or-later" as one family.

    A license text cannot say which of the two a project chose, so allowing
    either allows both; every other id must be listed as such.
    """
    spdx_id = canonical_id(spdx_id)
    if spdx_id in allow:
        return True
    key = family(spdx_id)
    return key != spdx_id and any(family(a) == key for a in allow)


def _names(items: list[str]) -> str:
    return ", ".join(items)


def evaluate(files: Mapping[str, bytes], allow: frozenset[str]) -> Verdict:
    """Decide for the module-root license files ``files`` (name -> content).

    Redistributable only when there is at least one file, every file is
    recognised, and every license found in any file is allowed. Several licenses
    in one file, or one per file (LICENSE-MIT + LICENSE-APACHE), must all be
    allowed: the text does not say reliably whether they are alternatives, so
    the gate assumes they all apply.
    """
    if not files:
        return Verdict([], False, REASON_PREFIX + "no license file")
    licenses = [
        FileLicense(name, [m.spdx_id for m in classify(files[name])]) for name in sorted(files)
    ]
    unknown = [f.name for f in licenses if not f.spdx_ids]
    blocked: list[str] = []
    for f in licenses:
        for spdx_id in f.spdx_ids:
            if not is_allowed(spdx_id, allow) and spdx_id not in blocked:
                blocked.append(spdx_id)
    problems: list[str] = []
    if unknown:
        problems.append(f"unknown license in {_names(unknown)}")
    if blocked:
        verb = "is" if len(blocked) == 1 else "are"
        problems.append(f"{_names(blocked)} {verb} not on the allow-list")
    if problems:
        return Verdict(licenses, False, REASON_PREFIX + "; ".join(problems))
    return Verdict(licenses, True, "")

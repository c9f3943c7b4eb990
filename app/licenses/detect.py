"""License text -> SPDX ids, failing closed.

The engine is the ``licenseclassifier`` package: a pure-Python port of
google/licensecheck, the scanner pkg.go.dev itself uses. It finds every region
of the text that is a known license (so a file holding MIT and Apache-2.0
yields both) and says how much of the text those regions cover. docs/licenses.md
records why it won against askalono and ScanCode on the labeled set in
tests/data/licenses.

Failing closed means: when the recognised license text covers less than
``MIN_COVERAGE`` percent of the file, the file is "unknown" (an empty list),
never "the best guess". A README-like notice that merely names a license, a
license with a long added clause and a custom EULA all end up unknown, and the
policy then keeps the version in staging.

A license file often carries more than its own license: Apache projects append
the notices of bundled third-party files (github.com/apache/thrift's LICENSE
ends with an FSF all-permissive notice for an autoconf macro). Every license
recognised there is reported and the policy judges them all (each must be on
the allow-list); text that is not recognised still counts against coverage.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from licenseclassifier._engine import Coverage
from licenseclassifier._engine import scan as _scan

__all__ = [
    "GRANTS",
    "MAX_TEXT_CHARS",
    "MIN_COVERAGE",
    "Match",
    "canonical_id",
    "classify",
    "family",
]

# Share (percent of words) of a file that recognised license text must cover.
# google/licensecheck and pkg.go.dev use 75; 80 keeps a margin above the weakest
# real file that still deserves a verdict (gopkg.in/yaml.v3 and juju/errors at
# ~85) and below notices that only name licenses (libp2p's dual-license note:
# 17, a GPL notice with extra permissions and attributions: 43).
MIN_COVERAGE = 80.0

# Real license files are far smaller (the GPL-3.0 text is 35 KB); anything
# bigger is not classified at all, so a hostile module cannot make the scanner
# (pure Python, linear but not free) work on megabytes. Bigger means unknown.
MAX_TEXT_CHARS = 512 * 1024

# licensecheck still reports the deprecated bare GNU ids for the full texts;
# SPDX says the bare id means "-only".
_DEPRECATED = {
    "AGPL-1.0": "AGPL-1.0-only",
    "AGPL-3.0": "AGPL-3.0-only",
    "GPL-1.0": "GPL-1.0-only",
    "GPL-2.0": "GPL-2.0-only",
    "GPL-3.0": "GPL-3.0-only",
    "LGPL-2.0": "LGPL-2.0-only",
    "LGPL-2.1": "LGPL-2.1-only",
    "LGPL-3.0": "LGPL-3.0-only",
    "GFDL-1.1": "GFDL-1.1-only",
    "GFDL-1.2": "GFDL-1.2-only",
    "GFDL-1.3": "GFDL-1.3-only",
}
# What the scanner recognises that is not a license: Google's additional patent
# grant (appended to BSD texts, or Go's PATENTS file). It only adds rights, so it
# is not reported and never blocks; as pkg.go.dev does, it is ignored. A file that
# holds nothing else names no license and stays unknown.
GRANTS = frozenset({"GooglePatentClause", "GooglePatentsFile"})

_FAMILY_SUFFIX = re.compile(r"(-only|-or-later|\+)$")


@dataclass(frozen=True)
class Match:
    """One license recognised in a file.

    ``coverage`` is the percent of the whole file's words covered by all the
    recognised licenses together (the figure the threshold is applied to), so
    every match of one file carries the same value. ``start``/``end`` are the
    character offsets of the longest region where this license was found.
    """

    spdx_id: str
    coverage: float
    start: int
    end: int


def canonical_id(spdx_id: str) -> str:
    """The current SPDX spelling of an id (``GPL-3.0`` and ``GPL-3.0+`` are deprecated)."""
    spdx_id = spdx_id.strip()
    if spdx_id.endswith("+") and spdx_id[:-1] in _DEPRECATED:
        return spdx_id[:-1] + "-or-later"
    return _DEPRECATED.get(spdx_id, spdx_id)


def family(spdx_id: str) -> str:
    """The id without ``-only``/``-or-later``: what a license *text* can tell apart.

    The GPL's text is the same whether a project chose "version 3 only" or "3
    or later" (that choice lives in source headers), so comparisons that start
    from the text compare families.
    """
    return _FAMILY_SUFFIX.sub("", canonical_id(spdx_id))


def _decode(text: bytes | str) -> str:
    if isinstance(text, str):
        return text
    if text.startswith((b"\xff\xfe", b"\xfe\xff")):
        return text.decode("utf-16", "replace")
    return text.decode("utf-8", "replace")


@lru_cache(maxsize=256)
def _scan_once(body: str) -> Coverage:
    """The scan of a text, kept per process: many modules carry the very same license
    file (Apache-2.0's text has no copyright line; golang.org/x shares one BSD file),
    and a scan takes 25-135 ms of CPU under the GIL, in the threads that answer
    GOPROXY misses too (cobra v1.8.1 and mousetrap: the same Apache-2.0 text)."""
    return _scan(body)


def warm_up() -> None:
    """Load the classifier's prebuilt license database now (~0.3 s), not in the first
    GOPROXY miss a client waits for."""
    _scan("Permission is hereby granted, free of charge, to any person")


def classify(text: bytes | str) -> list[Match]:
    """The SPDX ids of the licenses in ``text``; [] when unknown or not a license.

    One Match per distinct license, in order of first appearance (normally the
    file's own license, then those of bundled files). When the same
    GNU license is matched both as full text and as an "or later" notice (the
    GPL's own "How to Apply" appendix holds such a notice), one id is kept: the
    one whose region is longest, normally the full text.
    """
    body = _decode(text)
    if not body.strip() or len(body) > MAX_TEXT_CHARS:
        return []
    coverage = _scan_once(body)
    if coverage.percent < MIN_COVERAGE:
        return []
    best: dict[str, Match] = {}
    order: list[str] = []
    for m in coverage.match:
        if m.id in GRANTS:
            continue
        spdx_id = canonical_id(m.id)
        key = family(spdx_id)
        found = Match(spdx_id, round(coverage.percent, 1), m.start, m.end)
        if key not in best:
            order.append(key)
            best[key] = found
        elif (m.end - m.start) > (best[key].end - best[key].start):
            best[key] = found
    return [best[key] for key in order]

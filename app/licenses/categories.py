"""What kind of obligation each SPDX license puts on a program that links the module.

The dependency-license report needs one question answered per license: if a
permissively licensed module pulls this one into its build, does the result
carry copyleft terms, and how far do they reach? The table names the licenses
Depot's detector knows (the default allow-list and the source-available ones
it recognises); an id not listed is ``other`` so a person looks at it, rather
than a guess. Kinds, from least to most demanding:

- ``public-domain``: no conditions at all (CC0-1.0, Unlicense).
- ``permissive``: keep the notice (MIT, BSD, Apache-2.0, ISC, …, and the FSF,
  HPND and SSLeay notices that come with bundled files).
- ``weak-copyleft``: changes to *these files or this library* stay open; code
  that only links to it does not (LGPL, MPL, EPL, CDDL, OFL, Artistic-2.0).
- ``strong-copyleft``: a program that includes it is distributed under the same
  license as a whole (GPL, EUPL, CC-BY-SA).
- ``network-copyleft``: strong copyleft that also applies when users only reach
  the program over a network (AGPL, OSL-3.0).
- ``other``: source-available or non-commercial terms (BUSL-1.1, SSPL-1.0,
  Elastic-2.0, CC-BY-NC-*, JSON) and anything not in the table.

GNU ``-only`` and ``-or-later`` share a row: the table is keyed by family.
"""

from __future__ import annotations

from app.licenses.detect import family

__all__ = [
    "CATEGORIES",
    "COPYLEFT_KIND",
    "LABELS",
    "PERMISSIVE_KINDS",
    "category",
    "strictest",
]

PUBLIC_DOMAIN = "public-domain"
PERMISSIVE = "permissive"
WEAK = "weak-copyleft"
STRONG = "strong-copyleft"
NETWORK = "network-copyleft"
OTHER = "other"

# Least to most demanding; ``other`` last because it needs a person in any case.
ORDER = (PUBLIC_DOMAIN, PERMISSIVE, WEAK, STRONG, NETWORK, OTHER)
LABELS = {
    PUBLIC_DOMAIN: "public domain",
    PERMISSIVE: "permissive",
    WEAK: "weak copyleft",
    STRONG: "strong copyleft",
    NETWORK: "network copyleft",
    OTHER: "other / source-available",
}
# A root module whose licenses are all of these kinds is "permissive" for the report.
PERMISSIVE_KINDS = frozenset({PUBLIC_DOMAIN, PERMISSIVE})
# The copyleft kinds, as the report's ``copyleft_in_permissive`` flag names them.
COPYLEFT_KIND = {WEAK: "weak", STRONG: "strong", NETWORK: "network"}

_TABLE: dict[str, tuple[str, ...]] = {
    PUBLIC_DOMAIN: ("CC0-1.0", "Unlicense"),
    PERMISSIVE: (
        "0BSD", "AFL-3.0", "Apache-2.0", "BlueOak-1.0.0", "BSD-1-Clause", "BSD-2-Clause",
        "BSD-2-Clause-Patent", "BSD-2-Clause-Views", "BSD-3-Clause", "BSD-3-Clause-Clear",
        "BSL-1.0", "CC-BY-3.0", "CC-BY-4.0", "FSFAP", "FSFAP-no-warranty-disclaimer", "FSFUL",
        "FSFULLR", "FSFULLRWD", "HPND", "ISC", "MIT", "MIT-0", "NCSA", "OpenSSL", "PostgreSQL",
        "Python-2.0", "SSLeay-standalone", "Unicode-3.0", "Unicode-DFS-2016", "UPL-1.0",
        "WTFPL", "X11", "Zlib",
    ),
    WEAK: (
        "Artistic-2.0", "CDDL-1.0", "CDDL-1.1", "EPL-1.0", "EPL-2.0", "LGPL-2.0", "LGPL-2.1",
        "LGPL-3.0", "MPL-1.1", "MPL-2.0", "OFL-1.1",
    ),
    STRONG: ("CC-BY-SA-4.0", "EUPL-1.1", "EUPL-1.2", "GPL-1.0", "GPL-2.0", "GPL-3.0"),
    NETWORK: ("AGPL-1.0", "AGPL-3.0", "OSL-3.0"),
    OTHER: (
        "BUSL-1.1", "CC-BY-NC-4.0", "CC-BY-NC-SA-4.0", "CC-BY-NC-ND-4.0", "Elastic-2.0",
        "JSON", "SSPL-1.0",
    ),
}
# SPDX family -> kind, built once from the table above.
CATEGORIES: dict[str, str] = {
    family(spdx_id): kind for kind, ids in _TABLE.items() for spdx_id in ids
}


def category(spdx_id: str) -> str:
    """The kind of ``spdx_id`` (``other`` when the table does not name it)."""
    return CATEGORIES.get(family(spdx_id), OTHER)


def strictest(kinds: list[str] | tuple[str, ...]) -> str | None:
    """The most demanding of ``kinds`` (None for none): what applies when all apply."""
    return max(kinds, key=ORDER.index) if kinds else None

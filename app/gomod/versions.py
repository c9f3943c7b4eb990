"""Semantic versions as the go command sees them.

Implements golang.org/x/mod/semver (which accepts the shorthands ``v1`` and
``v1.2`` and requires the leading ``v``), module.CanonicalVersion (which keeps
``+incompatible``), the pseudo-version forms of golang.org/x/mod/module, the
path/major-version consistency check and the ``@latest`` choice. Getting any
of these subtly wrong makes a proxy serve lists or @latest answers that differ
from what ``go get`` would compute itself.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from app.gomod._util import quote
from app.gomod.errors import InvalidVersion
from app.gomod.paths import split_path_version

__all__ = [
    "build",
    "canonical",
    "check_path_version",
    "compare",
    "is_canonical",
    "is_incompatible",
    "is_prerelease",
    "is_pseudo",
    "is_tagged",
    "is_valid",
    "latest",
    "major",
    "major_minor",
    "prerelease",
    "pseudo_base",
    "pseudo_rev",
    "pseudo_time",
    "sort_key",
    "sort_versions",
]

_DIGITS = frozenset("0123456789")
_IDENT = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-")


@dataclass(frozen=True, slots=True)
class _Parsed:
    major: str
    minor: str
    patch: str
    short: str  # ".0.0" / ".0" appended by canonical() for v1 / v1.2 shorthands
    prerelease: str  # includes the leading "-", or ""
    build: str  # includes the leading "+", or ""


def _num(s: str) -> tuple[str, str] | None:
    """Split a leading decimal number (no leading zeros) off ``s``."""
    i = 0
    while i < len(s) and s[i] in _DIGITS:
        i += 1
    if i == 0 or (s[0] == "0" and i != 1):
        return None
    return s[:i], s[i:]


def _bad_num(ident: str) -> bool:
    """A numeric prerelease identifier must not have leading zeros."""
    return len(ident) > 1 and ident[0] == "0" and all(c in _DIGITS for c in ident)


def _dotted(s: str, check_num: bool) -> bool:
    """Validate dot-separated identifiers (prerelease or build, sans sign)."""
    if s == "":
        return False
    for ident in s.split("."):
        if ident == "" or any(c not in _IDENT for c in ident):
            return False
        if check_num and _bad_num(ident):
            return False
    return True


def _parse(v: object) -> _Parsed | None:
    """Parse per x/mod/semver; None when ``v`` is not a valid version."""
    if not isinstance(v, str) or v == "" or v[0] != "v":
        return None
    r = _num(v[1:])
    if r is None:
        return None
    maj, rest = r
    if rest == "":
        return _Parsed(maj, "0", "0", ".0.0", "", "")
    if rest[0] != ".":
        return None
    r = _num(rest[1:])
    if r is None:
        return None
    minor, rest = r
    if rest == "":
        return _Parsed(maj, minor, "0", ".0", "", "")
    if rest[0] != ".":
        return None
    r = _num(rest[1:])
    if r is None:
        return None
    patch, rest = r
    pre = ""
    if rest.startswith("-"):
        end = rest.find("+")
        pre = rest if end < 0 else rest[:end]
        if not _dotted(pre[1:], check_num=True):
            return None
        rest = rest[len(pre) :]
    bld = ""
    if rest.startswith("+"):
        bld = rest
        if not _dotted(bld[1:], check_num=False):
            return None
        rest = ""
    if rest != "":
        return None
    return _Parsed(maj, minor, patch, "", pre, bld)


def is_valid(v: str) -> bool:
    """Report whether ``v`` is a semantic version the go command accepts."""
    return _parse(v) is not None


def prerelease(v: str) -> str:
    """The ``-pre`` part of ``v`` (with the dash), or ""."""
    p = _parse(v)
    return p.prerelease if p else ""


def build(v: str) -> str:
    """The ``+build`` part of ``v`` (with the plus), or ""."""
    p = _parse(v)
    return p.build if p else ""


def canonical(v: str) -> str:
    """Canonical form of ``v`` ("" if invalid), keeping ``+incompatible``.

    ``v1.2`` becomes ``v1.2.0``; build metadata is dropped because the go
    command ignores it, except ``+incompatible`` which is part of the
    module version's identity (module.CanonicalVersion).
    """
    p = _parse(v)
    if p is None:
        return ""
    if p.build:
        base = v[: len(v) - len(p.build)]
        return base + "+incompatible" if p.build == "+incompatible" else base
    return v + p.short


def is_canonical(v: str) -> bool:
    """Report whether ``v`` is valid and already in canonical form."""
    return is_valid(v) and canonical(v) == v


def _cmp_int(x: str, y: str) -> int:
    if x == y:
        return 0
    if len(x) != len(y):
        return -1 if len(x) < len(y) else 1
    return -1 if x < y else 1


def _cmp_pre(x: str, y: str) -> int:
    """Semver precedence of two prerelease strings ("" = release, highest)."""
    if x == y:
        return 0
    if x == "":
        return 1
    if y == "":
        return -1
    xs, ys = x[1:].split("."), y[1:].split(".")
    for dx, dy in zip(xs, ys, strict=False):
        if dx == dy:
            continue
        nx = all(c in _DIGITS for c in dx)
        ny = all(c in _DIGITS for c in dy)
        if nx != ny:
            return -1 if nx else 1
        if nx:
            return _cmp_int(dx, dy)
        return -1 if dx < dy else 1
    return -1 if len(xs) < len(ys) else 1


def compare(a: str, b: str) -> int:
    """semver.Compare: -1, 0 or +1; invalid versions sort below all valid ones.

    Build metadata is ignored, so ``v1.0.0+a`` and ``v1.0.0+b`` compare equal.
    """
    pa, pb = _parse(a), _parse(b)
    if pa is None or pb is None:
        return (pa is not None) - (pb is not None)
    for x, y in ((pa.major, pb.major), (pa.minor, pb.minor), (pa.patch, pb.patch)):
        c = _cmp_int(x, y)
        if c:
            return c
    return _cmp_pre(pa.prerelease, pb.prerelease)


def _num_key(n: str) -> tuple[int, str]:
    """Order decimal strings without leading zeros numerically, without int().

    int() refuses strings over 4300 digits, and versions are untrusted input.
    """
    return (len(n), n)


def sort_key(v: str) -> tuple:
    """Key for sorted()/max() that orders exactly like compare()."""
    p = _parse(v)
    if p is None:
        return (0,)
    if p.prerelease:
        idents = tuple(
            (0, *_num_key(d)) if all(c in _DIGITS for c in d) else (1, 0, d)
            for d in p.prerelease[1:].split(".")
        )
        pre: tuple = (0, idents)
    else:
        pre = (1, ())
    return (1, _num_key(p.major), _num_key(p.minor), _num_key(p.patch), pre)


def sort_versions(versions: Iterable[str]) -> list[str]:
    """Sort ascending like semver.Sort (ties broken by plain string order)."""
    return sorted(versions, key=lambda v: (sort_key(v), v))


def major(v: str) -> str:
    """Major version prefix, e.g. ``"v2"`` for ``v2.1.0``; "" if invalid."""
    p = _parse(v)
    return "v" + p.major if p else ""


def major_minor(v: str) -> str:
    """``"vX.Y"`` for a valid version, else ""."""
    p = _parse(v)
    return f"v{p.major}.{p.minor}" if p else ""


def is_prerelease(v: str) -> bool:
    """Report whether ``v`` is a valid version with a prerelease part."""
    return prerelease(v) != ""


def is_incompatible(v: str) -> bool:
    """Report whether ``v`` carries ``+incompatible`` build metadata."""
    return build(v) == "+incompatible"


# The three pseudo-version shapes (plus optional build metadata):
#   vX.0.0-yyyymmddhhmmss-rev            (no earlier tag)
#   vX.Y.Z-pre.0.yyyymmddhhmmss-rev      (after prerelease vX.Y.Z-pre)
#   vX.Y.(Z+1)-0.yyyymmddhhmmss-rev      (after release vX.Y.Z)
_PSEUDO_RE = re.compile(
    r"v[0-9]+\.(?:0\.0-|[0-9]+\.[0-9]+-(?:[^+]*\.)?0\.)[0-9]{14}-[A-Za-z0-9]+"
    r"(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?"
)


def is_pseudo(v: str) -> bool:
    """Report whether ``v`` is a pseudo-version (module.IsPseudoVersion)."""
    return (
        isinstance(v, str)
        and v.count("-") >= 2
        and is_valid(v)
        and _PSEUDO_RE.fullmatch(v) is not None
    )


def _pseudo_parts(v: str) -> tuple[str, str, str, str] | None:
    """(base, timestamp, rev, build) of a pseudo-version, or None."""
    if not is_pseudo(v):
        return None
    bld = build(v)
    core = v[: len(v) - len(bld)]
    j = core.rfind("-")
    core, rev = core[:j], core[j + 1 :]
    i = core.rfind("-")
    k = core.rfind(".")
    if k > i:
        return core[:k], core[k + 1 :], rev, bld
    return core[:i], core[i + 1 :], rev, bld


def pseudo_time(v: str) -> datetime | None:
    """Commit time (UTC) encoded in a pseudo-version; None if not one or malformed."""
    parts = _pseudo_parts(v)
    if parts is None:
        return None
    ts = parts[1]  # exactly 14 ASCII digits: yyyymmddhhmmss
    try:
        # Fixed-width slicing: strptime would accept variable-width fields.
        return datetime(int(ts[0:4]), int(ts[4:6]), int(ts[6:8]), int(ts[8:10]),
                        int(ts[10:12]), int(ts[12:14]), tzinfo=UTC)
    except ValueError:  # month 13, Feb 30, second 60, year 0, ...
        return None


def pseudo_rev(v: str) -> str:
    """Revision identifier (commit hash prefix) of a pseudo-version; "" if not one."""
    parts = _pseudo_parts(v)
    return parts[2] if parts else ""


def _dec(decimal: str) -> str:
    """Decrement a decimal string; "" if it would go negative."""
    n = int(decimal)
    return "" if n == 0 else str(n - 1)


def pseudo_base(v: str) -> str:
    """The tagged version a pseudo-version was derived from ("" if none).

    Raises InvalidVersion if ``v`` is not a well-formed pseudo-version.
    """
    parts = _pseudo_parts(v)
    if parts is None:
        raise InvalidVersion(f"pseudo-version {quote(str(v))} invalid: syntax error")
    base, _, _, bld = parts
    pre = prerelease(base)
    if pre == "":
        if bld:
            raise InvalidVersion(
                f"pseudo-version {quote(v)} invalid: lacks base version, "
                f"but has build metadata {quote(bld)}"
            )
        return ""
    if pre == "-0":
        base = base[: -len(pre)]
        i = base.rfind(".")
        patch = _dec(base[i + 1 :])
        if patch == "":
            raise InvalidVersion(
                f"pseudo-version {quote(v)} invalid: version before {base} "
                "would have negative patch number"
            )
        return base[: i + 1] + patch + bld
    return base[: -len(".0")] + bld


def check_path_version(path: str, version: str) -> None:
    """Raise InvalidVersion unless ``version`` may be a version of ``path``.

    Mirrors module.Check/CheckPathMajor: ``example.com/m`` takes v0/v1 (or
    vN+incompatible for N >= 2), ``example.com/m/v3`` takes only v3.x.y,
    ``gopkg.in/x.v2`` takes v2.x.y (``.v1`` also v0.0.0- pseudo-versions).
    A malformed major suffix in ``path`` raises InvalidPath.
    """
    if not is_valid(version):
        shown = quote(version) if isinstance(version, str) else repr(version)
        raise InvalidVersion(f"version {shown} invalid: not a semantic version")
    _, path_major = split_path_version(path)
    reason = _path_major_reason(version, path_major)
    if reason is not None:
        raise InvalidVersion(f"{path}@{version}: invalid version: {reason}")


def _major_matches(v: str, path_major: str) -> bool:
    """module.CheckPathMajor for a version without build metadata."""
    pm = path_major
    if pm.startswith(".v") and pm.endswith("-unstable"):
        pm = pm[: -len("-unstable")]
    if v.startswith("v0.0.0-") and pm == ".v1":
        # gopkg.in/x.v1 historically resolved to untagged commits too.
        return True
    if pm == "":
        return major(v) in ("v0", "v1")
    return major(v) == pm[1:]


def _path_major_reason(v: str, path_major: str) -> str | None:
    """Why ``v`` cannot be a version of a path with suffix ``path_major``."""
    incompatible = build(v) == "+incompatible"
    base = v[: -len("+incompatible")] if incompatible else v
    if _major_matches(base, path_major):
        if incompatible:
            return f"+incompatible suffix not allowed: major version {major(v)} is compatible"
        return None
    if path_major == "":
        if incompatible:
            return None
        return f"should be v0 or v1, not {major(v)}"
    pm = path_major[1:]
    pm = pm.removesuffix("-unstable")
    return f"should be {pm}, not {major(v)}"


def is_tagged(v: str) -> bool:
    """Report whether ``v`` is a canonical version that is not a pseudo-version."""
    return is_canonical(v) and not is_pseudo(v)


def latest(
    versions: Iterable[str],
    retracted: Collection[str] | None = None,
    *,
    has_gomod: Callable[[str], bool] | None = None,
) -> str | None:
    """Pick what ``go get m@latest`` would resolve to among ``versions``.

    The highest release wins; failing that the highest prerelease; pseudo-
    versions only when there is no tagged version at all. Versions in
    ``retracted`` (and invalid strings) are never chosen. When ``has_gomod``
    is given, go's +incompatible rule applies: if the highest compatible
    candidate has a go.mod file, higher +incompatible versions are ignored.
    """
    excluded = frozenset(retracted or ())
    candidates = [v for v in versions if is_valid(v) and v not in excluded]
    tagged = sort_versions(v for v in candidates if not is_pseudo(v))
    pseudos = [v for v in candidates if is_pseudo(v)]
    releases: list[str] = []
    pres: list[str] = []
    last_compatible = ""
    need_incompatible = has_gomod is None
    for v in tagged:
        if not need_incompatible and has_gomod is not None:
            if not is_incompatible(v):
                last_compatible = v
            elif last_compatible:
                if has_gomod(last_compatible):
                    break
                need_incompatible = True
        (pres if is_prerelease(v) else releases).append(v)
    if releases:
        return releases[-1]
    if pres:
        return pres[-1]
    if pseudos:
        return sort_versions(pseudos)[-1]
    return None

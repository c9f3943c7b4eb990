"""Hypothesis properties for paths and versions."""

from __future__ import annotations

import string

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from app.gomod.errors import InvalidPath, InvalidVersion
from app.gomod.paths import (
    check_module_path,
    escape_path,
    escape_version,
    unescape_path,
    unescape_version,
)
from app.gomod.versions import canonical, compare, is_canonical, is_valid, sort_key, sort_versions

FAST = settings(max_examples=300, deadline=None, database=None)

_first = st.text(string.ascii_lowercase + string.digits, min_size=1, max_size=8)
_elem_chars = string.ascii_letters + string.digits + "-_~"
_elem = st.builds(
    lambda a, dot, b: a + ("." + b if dot else ""),
    st.text(_elem_chars, min_size=1, max_size=8),
    st.booleans(),
    st.text(_elem_chars, min_size=1, max_size=4),
)
module_paths = st.builds(
    lambda host, tld, rest: "/".join([f"{host}.{tld}", *rest]),
    _first,
    _first,
    st.lists(_elem, max_size=5),
)


@FAST
@given(module_paths)
def test_escape_round_trip(path: str) -> None:
    try:
        check_module_path(path)
    except InvalidPath:
        assume(False)
    esc = escape_path(path)
    assert not any(c.isupper() for c in esc)
    assert unescape_path(esc) == path
    assert escape_path(unescape_path(esc)) == esc


def _unescape_only_raises_invalid_path(s: str) -> None:
    try:
        p = unescape_path(s)
    except InvalidPath as e:
        assert "\n" not in str(e)
        return
    # Anything accepted is a valid module path whose encoding is exactly s.
    check_module_path(p)
    assert escape_path(p) == s


@FAST
@given(st.text(max_size=40))
def test_unescape_path_only_raises_invalid_path(s: str) -> None:
    _unescape_only_raises_invalid_path(s)


@FAST
@given(st.text(alphabet=string.ascii_letters + "!./-_+~:" + string.digits, max_size=30))
def test_unescape_path_alphabet(s: str) -> None:
    _unescape_only_raises_invalid_path(s)


@FAST
@given(st.text(max_size=30))
def test_version_escaping(s: str) -> None:
    try:
        esc = escape_version(s)
    except InvalidVersion:
        pass
    else:
        assert unescape_version(esc) == s
    try:
        v = unescape_version(s)
    except InvalidVersion:
        return
    assert escape_version(v) == s


_ident = st.one_of(
    st.integers(0, 30).map(str),
    st.text("abcxyzABC-", min_size=1, max_size=4),
    st.sampled_from(["0", "00", "01", "rc", "beta", "alpha", "incompatible"]),
)
semvers = st.builds(
    lambda maj, rest, pre, bld: (
        "v"
        + str(maj)
        + rest
        + ("-" + ".".join(pre) if pre else "")
        + ("+" + ".".join(bld) if bld else "")
    ),
    st.integers(0, 12),
    st.sampled_from(["", ".0", ".1", ".0.0", ".1.2", ".10.0", ".2.9", ".0.10"]),
    st.lists(_ident, max_size=3),
    st.lists(_ident, max_size=2),
)
versions = st.one_of(semvers, st.text(max_size=12), st.sampled_from(["", "v1", "bad"]))


@settings(max_examples=400, deadline=None, database=None)
@given(versions, versions)
def test_compare_antisymmetric(a: str, b: str) -> None:
    assert compare(a, b) == -compare(b, a)
    assert compare(a, a) == 0
    ka, kb = sort_key(a), sort_key(b)
    assert compare(a, b) == (ka > kb) - (ka < kb)


@settings(max_examples=300, deadline=None, database=None)
@given(versions, versions, versions)
def test_compare_transitive(a: str, b: str, c: str) -> None:
    if compare(a, b) <= 0 and compare(b, c) <= 0:
        assert compare(a, c) <= 0
    if compare(a, b) == 0 and compare(b, c) == 0:
        assert compare(a, c) == 0


@FAST
@given(st.lists(versions, max_size=12))
def test_sort_consistent_with_compare(vs: list[str]) -> None:
    out = sort_versions(vs)
    assert sorted(out) == sorted(vs)
    for x, y in zip(out, out[1:], strict=False):
        assert compare(x, y) <= 0
    assert sort_versions(out) == out


@settings(max_examples=400, deadline=None, database=None)
@given(versions)
def test_canonical_idempotent(v: str) -> None:
    c = canonical(v)
    assert canonical(c) == c
    if is_valid(v):
        assert is_canonical(c)
        assert compare(c, v) == 0
    else:
        assert c == ""

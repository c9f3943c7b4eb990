"""Table tests for semver, pseudo-versions, path/major checks and @latest."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from app.gomod.errors import InvalidPath, InvalidVersion
from app.gomod.versions import (
    build,
    canonical,
    check_path_version,
    compare,
    is_canonical,
    is_incompatible,
    is_prerelease,
    is_pseudo,
    is_tagged,
    is_valid,
    latest,
    major,
    major_minor,
    prerelease,
    pseudo_base,
    pseudo_rev,
    pseudo_time,
    sort_key,
    sort_versions,
)

VALID = [
    "v0",
    "v1",
    "v1.2",
    "v1.2.3",
    "v0.0.0",
    "v10.20.30",
    "v1.2.3-pre",
    "v1.2.3-0",
    "v1.2.3-0a",
    "v1.2.3-a.b.c.1.2",
    "v1.2.3-pre+build",
    "v1.2.3+build.01",
    "v1.2.3+incompatible",
    "v1.2.3--",
    "v1.2.3-x-y-z.--",
    "v99999999999999999999.0.0",
]

INVALID = [
    "",
    "v",
    "1.2.3",
    "V1.2.3",
    "v01.2.3",
    "v1.02.3",
    "v1.2.03",
    "v1.2-pre",
    "v1.2+build",
    "v1-pre",
    "v1.2.3.4",
    "v1.2.3-",
    "v1.2.3-01",
    "v1.2.3-00",
    "v1.2.3-pre..1",
    "v1.2.3-pre.",
    "v1.2.3+",
    "v1.2.3+a..b",
    "v1.2.3+a.",
    "v1.2.3-\u03b1",
    "v1.2.3 ",
    " v1.2.3",
    "v1.2.3\n",
    "v1.2.3-pre_1",
    "v-1.2.3",
    "v1..3",
]


@pytest.mark.parametrize("v", VALID)
def test_valid(v: str) -> None:
    assert is_valid(v)


@pytest.mark.parametrize("v", INVALID)
def test_invalid(v: str) -> None:
    assert not is_valid(v)
    assert canonical(v) == ""
    assert major(v) == "" and prerelease(v) == "" and build(v) == ""
    assert not is_canonical(v) and not is_tagged(v) and not is_pseudo(v)


def test_not_a_string() -> None:
    assert not is_valid(None)  # type: ignore[arg-type]
    assert compare(None, "v1.0.0") == -1  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("v", "want"),
    [
        ("v1", "v1.0.0"),
        ("v1.2", "v1.2.0"),
        ("v1.2.3", "v1.2.3"),
        ("v1.2.3+meta", "v1.2.3"),
        ("v1.2.3-pre+meta", "v1.2.3-pre"),
        ("v2.0.0+incompatible", "v2.0.0+incompatible"),
        ("v2.0.0+incompatible.1", "v2.0.0"),
        ("v2.0.0+Incompatible", "v2.0.0"),
        ("v0.0.0-20191109021931-daa7c04131f5", "v0.0.0-20191109021931-daa7c04131f5"),
        ("bad", ""),
    ],
)
def test_canonical(v: str, want: str) -> None:
    assert canonical(v) == want
    assert is_canonical(v) == (v == want and want != "")


def test_parts() -> None:
    assert major("v2.3.4") == "v2" and major("v1") == "v1" and major("v0.1") == "v0"
    assert major_minor("v2.3.4") == "v2.3" and major_minor("v2") == "v2.0"
    assert major_minor("x") == ""
    assert prerelease("v1.2.3-rc.1+b") == "-rc.1" and build("v1.2.3-rc.1+b") == "+b"
    assert is_prerelease("v1.0.0-rc.1") and not is_prerelease("v1.0.0")
    assert not is_prerelease("v1.0.0+build-x")
    assert is_incompatible("v2.0.0+incompatible") and not is_incompatible("v2.0.0")
    assert not is_incompatible("v2.0+incompatible")


# Ascending; each group compares equal internally.
ORDERED = [
    ["bad", "", "v1.2.3.4"],
    ["v0.0.0-0"],
    ["v0.0.0"],
    ["v0.1.0-20191109021931-daa7c04131f5"],
    ["v0.1.0"],
    ["v1.0.0-0.3.7"],
    ["v1.0.0-alpha"],
    ["v1.0.0-alpha.1"],
    ["v1.0.0-alpha.beta"],
    ["v1.0.0-beta"],
    ["v1.0.0-beta.2"],
    ["v1.0.0-beta.11"],
    ["v1.0.0-rc.1"],
    ["v1.0.0-x.7.z.92"],
    ["v1", "v1.0", "v1.0.0", "v1.0.0+a", "v1.0.0+b"],
    ["v1.0.1"],
    ["v1.9.0"],
    ["v1.10.0"],
    ["v2.0.0+incompatible", "v2"],
    ["v10.0.0"],
    ["v99999999999999999999.0.0"],
]


def test_compare_table() -> None:
    flat = [(i, v) for i, group in enumerate(ORDERED) for v in group]
    for i, a in flat:
        for j, b in flat:
            want = (i > j) - (i < j)
            assert compare(a, b) == want, (a, b)
            ka, kb = sort_key(a), sort_key(b)
            assert ((ka > kb) - (ka < kb)) == want, (a, b)


def test_huge_numbers() -> None:
    big = "9" * 5000
    vs = [f"v{big}.0.0", f"v1{big}.0.0", f"v1.0.0-{big}", "v1.0.0-1", f"v{big}"]
    assert all(is_valid(v) for v in vs)
    assert sort_versions(vs) == [
        "v1.0.0-1",
        f"v1.0.0-{big}",
        f"v{big}",
        f"v{big}.0.0",
        f"v1{big}.0.0",
    ]
    assert compare(f"v{big}.0.0", f"v1{big}.0.0") == -1


def test_prerelease_numeric_vs_alpha() -> None:
    assert compare("v1.0.0-2", "v1.0.0-10") == -1
    assert compare("v1.0.0-10", "v1.0.0-a") == -1
    assert compare("v1.0.0-a", "v1.0.0-B") == 1  # ASCII order: upper before lower
    assert compare("v1.0.0-a.1", "v1.0.0-a") == 1


def test_sort_versions() -> None:
    vs = ["v1.10.0", "v1.2.0", "v1.0.0+b", "v1.0.0-rc.1", "junk", "v1.0.0", "v1.0.0+a"]
    assert sort_versions(vs) == [
        "junk",
        "v1.0.0-rc.1",
        "v1.0.0",
        "v1.0.0+a",
        "v1.0.0+b",
        "v1.2.0",
        "v1.10.0",
    ]
    assert sorted(vs, key=sort_key)[-1] == "v1.10.0"


PSEUDOS = [
    ("v0.0.0-20191109021931-daa7c04131f5", "", "daa7c04131f5"),
    ("v1.2.4-0.20191109021931-daa7c04131f5", "v1.2.3", "daa7c04131f5"),
    ("v1.2.10-0.20191109021931-daa7c04131f5", "v1.2.9", "daa7c04131f5"),
    ("v1.2.3-pre.0.20191109021931-daa7c04131f5", "v1.2.3-pre", "daa7c04131f5"),
    ("v1.2.3-rc.1.0.20191109021931-abcdef", "v1.2.3-rc.1", "abcdef"),
    ("v2.0.1-0.20191109021931-daa7c04131f5+incompatible", "v2.0.0+incompatible", "daa7c04131f5"),
    ("v3.0.0-20191109021931-ABCDEF123456", "", "ABCDEF123456"),
]


@pytest.mark.parametrize(("v", "base", "rev"), PSEUDOS)
def test_pseudo(v: str, base: str, rev: str) -> None:
    assert is_pseudo(v)
    assert is_valid(v) and not is_tagged(v)
    assert pseudo_rev(v) == rev
    assert pseudo_time(v) == datetime(2019, 11, 9, 2, 19, 31, tzinfo=UTC)
    assert pseudo_base(v) == base


@pytest.mark.parametrize(
    "v",
    [
        "v1.2.3",
        "v1.2.3-pre",
        "v1.2.3-20191109021931-daa7c04131f5",  # needs the "0." marker after a base
        "v0.0.0-2019110902193-daa7c04131f5",  # 13 digit timestamp
        "v0.0.0-201911090219311-daa7c04131f5",  # 15 digits
        "v0.0.0-20191109021931-",
        "v0.0.0-20191109021931-daa7_04131f5",
        "v1.2.3-pre.20191109021931-daa7c04131f5",
        "v1.2.3-0.20191109021931",
        "v0.0.0-20191109021931-daa7c04131f5\n",
        "",
    ],
)
def test_not_pseudo(v: str) -> None:
    assert not is_pseudo(v)
    assert pseudo_time(v) is None and pseudo_rev(v) == ""
    with pytest.raises(InvalidVersion):
        pseudo_base(v)


def test_pseudo_bad_time_and_base() -> None:
    v = "v0.0.0-20191309021931-daa7c04131f5"  # month 13: still pseudo syntax
    assert is_pseudo(v) and pseudo_time(v) is None
    with pytest.raises(InvalidVersion, match="negative patch"):
        pseudo_base("v1.0.0-0.20191109021931-daa7c04131f5")
    with pytest.raises(InvalidVersion, match="build metadata"):
        pseudo_base("v0.0.0-20191109021931-daa7c04131f5+incompatible")


@pytest.mark.parametrize(
    ("v", "want"),
    [
        ("v1.2.3", True),
        ("v2.0.0+incompatible", True),
        ("v1.2.3-rc.1", True),
        ("v1.2", False),
        ("v1.2.3+meta", False),
        ("v0.0.0-20191109021931-daa7c04131f5", False),
    ],
)
def test_is_tagged(v: str, want: bool) -> None:
    assert is_tagged(v) is want


OK_PAIRS = [
    ("example.com/m", "v0.1.0"),
    ("example.com/m", "v1.2.3"),
    ("example.com/m", "v1.2"),
    ("example.com/m", "v2.0.0+incompatible"),
    ("example.com/m", "v3.1.0-rc.1+incompatible"),
    ("example.com/m", "v0.0.0-20191109021931-daa7c04131f5"),
    ("example.com/m/v2", "v2.0.0"),
    ("example.com/m/v2", "v2.1.0-0.20191109021931-daa7c04131f5"),
    ("example.com/m/v10", "v10.0.0"),
    ("gopkg.in/yaml.v2", "v2.4.0"),
    ("gopkg.in/yaml.v1", "v1.0.0"),
    ("gopkg.in/yaml.v1", "v0.0.0-20140310205744-9f9df34309c0"),
    ("gopkg.in/yaml.v0", "v0.3.0"),
    ("gopkg.in/yaml.v3-unstable", "v3.0.0-20200601-abc"),
]

BAD_PAIRS = [
    ("example.com/m", "v2.0.0", "should be v0 or v1, not v2"),
    ("example.com/m", "v1.0.0+incompatible", "+incompatible suffix not allowed"),
    ("example.com/m", "v0.1.0+incompatible", "+incompatible suffix not allowed"),
    ("example.com/m/v2", "v1.0.0", "should be v2, not v1"),
    ("example.com/m/v2", "v3.0.0", "should be v2, not v3"),
    ("example.com/m/v2", "v2.0.0+incompatible", "+incompatible suffix not allowed"),
    ("example.com/m/v2", "v0.0.0-20191109021931-daa7c04131f5", "should be v2, not v0"),
    ("gopkg.in/yaml.v2", "v3.0.0", "should be v2, not v3"),
    ("gopkg.in/yaml.v2", "v0.0.0-20140310205744-9f9df34309c0", "should be v2, not v0"),
    ("gopkg.in/yaml.v3-unstable", "v2.0.0", "should be v3, not v2"),
    ("gopkg.in/yaml.v2", "v2.0.0+incompatible", "+incompatible suffix not allowed"),
    ("example.com/m", "latest", "not a semantic version"),
    ("example.com/m", "1.0.0", "not a semantic version"),
]


@pytest.mark.parametrize(("path", "v"), OK_PAIRS)
def test_check_path_version_ok(path: str, v: str) -> None:
    check_path_version(path, v)


@pytest.mark.parametrize(("path", "v", "reason"), BAD_PAIRS)
def test_check_path_version_bad(path: str, v: str, reason: str) -> None:
    with pytest.raises(InvalidVersion) as ei:
        check_path_version(path, v)
    assert reason in str(ei.value)


def test_check_path_version_bad_path() -> None:
    with pytest.raises(InvalidPath):
        check_path_version("example.com/m/v1", "v1.0.0")


P1 = "v0.0.0-20190101000000-aaaaaaaaaaaa"
P2 = "v0.0.0-20200101000000-bbbbbbbbbbbb"


@pytest.mark.parametrize(
    ("versions", "retracted", "want"),
    [
        ([], None, None),
        (["junk"], None, None),
        (["v1.0.0", "v0.9.0", "v1.1.0-rc.1"], None, "v1.0.0"),
        (["v1.1.0-rc.1", "v1.1.0-beta", "v1.0.0-alpha"], None, "v1.1.0-rc.1"),
        ([P2, P1], None, P2),
        ([P1, "v0.1.0-pre"], None, "v0.1.0-pre"),
        (["v0.1.0", "v1.2.4-0.20191109021931-daa7c04131f5"], None, "v0.1.0"),
        (["v1.0.0", "v0.9.0"], {"v1.0.0"}, "v0.9.0"),
        (["v1.0.0", "v1.1.0-rc.1"], {"v1.0.0"}, "v1.1.0-rc.1"),
        (["v1.0.0", P1], {"v1.0.0"}, P1),
        (["v1.0.0"], {"v1.0.0"}, None),
        (["v1.0.0", "v2.0.0+incompatible"], None, "v2.0.0+incompatible"),
        (["v1.2", "v1.10.0", "v1.9.0"], None, "v1.10.0"),
    ],
)
def test_latest(versions: list[str], retracted: set[str] | None, want: str | None) -> None:
    assert latest(versions, retracted) == want
    assert latest(list(reversed(versions)), retracted=retracted) == want


def test_latest_incompatible_rule() -> None:
    vs = ["v1.0.0", "v2.0.0+incompatible", "v3.1.0+incompatible"]
    assert latest(vs, has_gomod=lambda v: True) == "v1.0.0"
    assert latest(vs, has_gomod=lambda v: False) == "v3.1.0+incompatible"
    # A compatible prerelease beats an incompatible release once go.mod exists.
    pre = ["v1.1.0-pre", "v2.0.0+incompatible"]
    assert latest(pre, has_gomod=lambda v: v == "v1.1.0-pre") == "v1.1.0-pre"
    # Only +incompatible versions: nothing compatible to ask about.
    assert latest(["v2.0.0+incompatible"], has_gomod=lambda v: True) == "v2.0.0+incompatible"
    asked: list[str] = []
    latest(vs, has_gomod=lambda v: asked.append(v) or True)
    assert asked == ["v1.0.0"]

"""parse_gomod runs the real go command; the rest is pure Python."""

from __future__ import annotations

import pytest

from app.gomod.errors import GoModParseError, InvalidPath
from app.gomod.modfile import (
    MAX_GOMOD_SIZE,
    GoModFacts,
    Replace,
    Require,
    Retract,
    facts_from_json,
    is_retracted,
    one_per_path,
    parse_gomod,
    synthesize_gomod,
)

FULL = b"""// Deprecated: use example.com/new instead.
module example.com/m

go 1.21.3

toolchain go1.22.1

require (
\tgolang.org/x/text v0.3.0 // indirect
\texample.com/b v1.0.0
)

require "example.com/quoted" v0.1.0

replace example.com/b v1.0.0 => ../b

replace example.com/c => example.com/d v1.2.3

exclude example.com/e v1.0.0

retract [v1.0.0, v1.0.5] // Published too early.

retract v0.9.0
"""


def test_parse_full(go_bin: str) -> None:
    facts = parse_gomod(FULL, go_bin)
    assert facts == GoModFacts(
        module="example.com/m",
        go="1.21.3",
        toolchain="go1.22.1",
        deprecated="use example.com/new instead.",
        requires=[
            Require("golang.org/x/text", "v0.3.0", True),
            Require("example.com/b", "v1.0.0", False),
            Require("example.com/quoted", "v0.1.0", False),
        ],
        replaces=[
            Replace("example.com/b", "v1.0.0", "../b", None),
            Replace("example.com/c", None, "example.com/d", "v1.2.3"),
        ],
        excludes=[("example.com/e", "v1.0.0")],
        retracts=[Retract("v1.0.0", "v1.0.5", "Published too early."), Retract("v0.9.0", "v0.9.0")],
    )


def test_parse_minimal(go_bin: str) -> None:
    facts = parse_gomod(b"module example.com/m\n", go_bin)
    assert facts == GoModFacts(module="example.com/m")
    assert facts.requires == [] and facts.go is None and facts.deprecated is None


def test_parse_future_go_version(go_bin: str) -> None:
    # A newer go line must not make the pinned toolchain try to switch or fail.
    facts = parse_gomod(b"module example.com/m\n\ngo 1.99\n", go_bin)
    assert facts.go == "1.99"


def test_parse_no_module_line(go_bin: str) -> None:
    assert parse_gomod(b"go 1.21\n", go_bin).module == ""


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"module example.com/m\nfoo bar\n", "go.mod:2: unknown directive: foo"),
        (b"module example.com/m\nrequire x v\n", "go.mod:2:"),
        (b"module example.com/m\nrequire (\n", "go.mod:"),
        (b"module example.com/m\ngo 1.21\ngo 1.22\n", "repeated go statement"),
        (b'module "unterminated\n', "go.mod:1"),
    ],
)
def test_parse_errors(go_bin: str, data: bytes, reason: str) -> None:
    with pytest.raises(GoModParseError) as ei:
        parse_gomod(data, go_bin)
    msg = str(ei.value)
    assert reason in msg
    assert "\n" not in msg
    assert "depot-gomod-" not in msg  # no temp dir names leak
    assert not msg.startswith("go: ")


def test_size_limit_checked_before_running_go() -> None:
    big = b"module example.com/m\n" + b"// x\n" * (MAX_GOMOD_SIZE // 5)
    assert len(big) > MAX_GOMOD_SIZE
    with pytest.raises(GoModParseError, match="too large"):
        parse_gomod(big, "/nonexistent/go")  # go is never started


def test_missing_go_binary_is_not_a_parse_error() -> None:
    with pytest.raises(OSError):
        parse_gomod(b"module example.com/m\n", "/nonexistent/go")


def test_facts_from_json_tolerates_nulls() -> None:
    doc = {"Module": {"Path": "example.com/m"}, "Require": None, "Replace": [{"Old": {}}]}
    facts = facts_from_json(doc)
    assert facts.module == "example.com/m"
    assert facts.requires == []
    assert facts.replaces == [Replace("", None, "", None)]


@pytest.mark.parametrize(
    ("v", "want"),
    [
        ("v1.0.0", True),
        ("v1.0.3", True),
        ("v1.0.5", True),
        ("v1.0.5+meta", True),
        ("v1.0.6", False),
        ("v1.0.0-rc.1", False),
        ("v0.9.0", True),
        ("v0.9.1", False),
        ("bogus", False),
    ],
)
def test_is_retracted(v: str, want: bool) -> None:
    retracts = [Retract("v1.0.0", "v1.0.5", "oops"), Retract("v0.9.0", "v0.9.0")]
    assert is_retracted(v, retracts) is want
    assert is_retracted(v, []) is False


def test_synthesize_gomod() -> None:
    assert synthesize_gomod("example.com/legacy") == b"module example.com/legacy\n"
    assert synthesize_gomod("github.com/Foo/bar") == b"module github.com/Foo/bar\n"
    with pytest.raises(InvalidPath):
        synthesize_gomod("not a path")


def test_synthesized_gomod_parses(go_bin: str) -> None:
    assert parse_gomod(synthesize_gomod("example.com/x"), go_bin).module == "example.com/x"


def test_a_path_required_twice_counts_once_at_its_highest_version(go_bin: str) -> None:
    """github.com/shirou/gopsutil/v4@v4.24.5 requires go-spew v1.1.1 in two blocks; its
    processing failed on the requirements table's one-row-per-path rule."""
    data = (b"module example.com/m\n\ngo 1.21\n\n"
            b"require example.com/a v1.0.0\n\n"
            b"require (\n\texample.com/spew v1.1.1 // indirect\n"
            b"\texample.com/a v1.2.0 // indirect\n)\n\n"
            b"require example.com/spew v1.1.1 // indirect\n")
    facts = parse_gomod(data, go_bin)
    assert len(facts.requires) == 4  # the file as written
    assert one_per_path(facts.requires) == [
        Require("example.com/a", "v1.2.0", False),
        Require("example.com/spew", "v1.1.1", True),
    ]

"""DEPOT_PRIVATE's globs, read as the go command reads GOPRIVATE (tests/gomod/test_oracle.py
checks them against golang.org/x/mod itself)."""

from __future__ import annotations

import re

import pytest

from app.config import Settings
from app.gomod import patterns


@pytest.mark.parametrize(("value", "module", "private"), [
    ("corp.example", "corp.example", True),
    ("corp.example", "corp.example/team/lib", True),
    ("corp.example", "corp.example.com/lib", False),  # elements, not string prefixes
    ("*.corp.example", "git.corp.example/lib", True),
    ("*.corp.example", "corp.example/lib", False),
    ("corp.example/team-a", "corp.example/team-b/lib", False),
    ("corp.example/*/internal", "corp.example/x/internal/y", True),
    ("corp.example/*/internal", "corp.example/x", False),
    ("other.test, corp.example/", "corp.example/lib", True),  # spaces and a slash dropped
    ("", "corp.example", False),
])
def test_globs_match_leading_path_elements(value: str, module: str, private: bool) -> None:
    assert patterns.matches(patterns.check(value), module) is private


@pytest.mark.parametrize(("value", "why"), [
    ("corp.example/[team", "without its `]`"),
    ("corp.example/team\\", "lone backslash"),
    ("corp example", "holds a space"),
])
def test_a_glob_that_cannot_be_read_stops_start_up(value: str, why: str) -> None:
    with pytest.raises(ValueError, match="DEPOT_PRIVATE") as caught:
        Settings.from_env({"DEPOT_PRIVATE": value})
    assert why in str(caught.value)


def test_the_go_command_is_given_the_globs_without_spaces() -> None:
    settings = Settings.from_env({"DEPOT_PRIVATE": " corp.example , ,git.corp.dev/ "})
    assert settings.private == "corp.example,git.corp.dev/"  # the go command drops the slash
    assert settings.is_private("git.corp.dev/x") and not settings.is_private("corp.dev")


PATHS = ["corp.example", "corp.example/lib", "corp.example/lib/v2", "corp.examplex/lib",
         "git.corp.example/team-a/x", "git.corp.example/team-ab", "a.test/chain/a",
         "a.test/chain/c", "a.test/chain", "github.com/google/uuid", "x.io/[y]"]


@pytest.mark.parametrize("value", ["corp.example", "corp.example/*", "*.corp.example/team-a",
                                   "a.test/chain/[ab],x.io", "*.test/chain/[^a]", "x.io/\\[y]"])
def test_the_sql_regex_hides_exactly_the_paths_the_globs_match(value: str) -> None:
    """What the database and search queries hide (app/hidden.py) is what the go command
    treats as private: the one regular expression over whole paths agrees with matches()."""
    regex = re.compile(patterns.sql_regex(value) or "$never")
    for path in PATHS:
        assert bool(regex.search(path)) == patterns.matches(value, path), (value, path)
    lucene = patterns.lucene_regex(value) or ""
    assert lucene.endswith(")(/.*)?") and "(?:" not in lucene


def test_no_patterns_hide_nothing() -> None:
    assert patterns.sql_regex("") is None and patterns.lucene_regex(" , ") is None

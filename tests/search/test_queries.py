from __future__ import annotations

import pytest

from app.search.queries import (
    InvalidQuery,
    edit_distance,
    looks_like_module_path,
    parse,
    popularity,
    relevance,
    typo_limit,
)


def test_parse_normalises_and_dedupes_terms():
    q = parse("  Chain   chain  A ")
    assert q.text == "Chain chain A" and q.terms == ("chain", "a")


@pytest.mark.parametrize("query, license", [("x" * 201, ""), (" ".join("abcdefghi"), ""),
                                           ("ok", "MIT OR <script>"), ("ok", "-MIT")])
def test_bad_input_is_refused_with_a_reason(query: str, license: str):
    with pytest.raises(InvalidQuery):
        parse(query, license)


def test_ranking_classes():
    q = parse("chain/c")
    assert relevance("chain/c", q) == 0
    assert relevance("depot.test/chain/c", q) == 1
    assert relevance("chain/cx", q) == 2
    q = parse("uuid")
    assert relevance("github.com/google/uuid", q) == 1
    assert relevance("github.com/google/uuidx", q) == 3
    assert relevance("github.com/google/xuuid", q) == 4


@pytest.mark.parametrize("text, expected", [
    ("github.com/acme/widgets", True), ("github.com/acme/widgets@v1.2.3", True),
    ("depot.test/x@latest", True), ("uuid", False), ("github.com/acme/widgets@master", False),
    ("Not A Path", False), ("", False),
])
def test_looks_like_module_path(text: str, expected: bool):
    assert looks_like_module_path(text) is expected


@pytest.mark.parametrize(("a", "b", "limit", "distance"), [
    ("yalm", "yaml", 1, 1), ("logrsu", "logrus", 2, 1), ("cobar", "cobra", 1, 1),
    ("uuid", "uuid", 1, 0), ("kitten", "sitting", 3, 3), ("abc", "xyz", 1, 2),
    ("a", "abcd", 1, 2), ("", "ab", 2, 2),
])
def test_edit_distance_counts_swaps_as_one(a: str, b: str, limit: int, distance: int):
    assert edit_distance(a, b, limit) == distance


def test_popularity_grows_slowly_with_use():
    assert popularity(0, 0) < popularity(1, 0) < popularity(10, 0) < popularity(10, 1000)
    assert popularity(10_000, 0) / popularity(10, 0) < 5
    assert typo_limit("go") == 0 and typo_limit("yaml") == 1 and typo_limit("logrus") == 2

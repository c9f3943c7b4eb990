from __future__ import annotations

import pytest

from app.search.queries import InvalidQuery, looks_like_module_path, parse, relevance


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

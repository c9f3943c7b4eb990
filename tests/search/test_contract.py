"""One contract, every backend: the same questions asked of the database search and of a
real Elasticsearch node indexed from the same catalogue get the same answers."""

from __future__ import annotations

import pytest

from app import hidden
from app.search import InvalidQuery, SearchBackend
from tests.fixtures.catalog import CHAIN_C, PLAINTEXT, USERS, WIDGETS

CHAIN = [CHAIN_C, "depot.test/chain/b", "depot.test/chain/a"]  # used by 25, 1 and 0


def paths(backend: SearchBackend, query: str, license: str = "", page: int = 1) -> list[str]:
    return [h.path for h in backend.search(query, license, page).hits]


def test_hits_carry_what_the_results_show(backend: SearchBackend):
    found = backend.search("chain")
    # The most used first; how b (used by 1) and a (345 downloads) compare is the
    # backend's call: Elasticsearch counts downloads too.
    assert found.total == 3 and {h.path for h in found.hits} == set(CHAIN)
    assert found.hits[0].path == CHAIN_C
    top = found.hits[0]
    assert top.version == "v1.0.0" and top.licenses == ("MIT",) and top.used_by == 25
    assert top.synopsis == "Generated Depot fixture, version v1.0.0."
    assert top.published_at is not None and not top.deprecated
    assert found.terms == ("chain",) and found.notice == ""


def test_exact_path_and_last_element_come_first(backend: SearchBackend):
    assert paths(backend, "widgets")[0] == WIDGETS
    assert paths(backend, PLAINTEXT)[0] == PLAINTEXT
    assert paths(backend, "depot.test/chain/b")[0] == "depot.test/chain/b"


def test_every_word_must_match(backend: SearchBackend):
    assert sorted(paths(backend, "users u2")) == [p for p in USERS if "/u2" in p]


def test_only_published_modules_are_found(backend: SearchBackend):
    assert paths(backend, "unlicensed") == []
    assert paths(backend, "depot.test/rejected") == []


def test_pages_split_the_results(backend: SearchBackend):
    first = backend.search("users", page=1, per_page=20)
    second = backend.search("users", page=2, per_page=20)
    assert first.total == second.total == 23 and first.pages == 2
    assert len(first.hits) == 20 and len(second.hits) == 3
    assert not {h.path for h in first.hits} & {h.path for h in second.hits}
    assert backend.search("users", page=9).hits == []


def test_license_filter(backend: SearchBackend):
    assert len(paths(backend, "chain", "MIT")) == 3
    assert paths(backend, "chain", "Apache-2.0") == []
    assert backend.search("", "MIT").total == 36  # the filter alone lists every MIT module
    assert "MIT" in backend.licenses()


def test_empty_and_invalid_queries(backend: SearchBackend):
    assert backend.search("").total == 0 and backend.search("   ").hits == []
    with pytest.raises(InvalidQuery, match="longer than"):
        backend.search("a" * 300)
    with pytest.raises(InvalidQuery, match="SPDX"):
        backend.search("chain", "<script>")
    assert paths(backend, "nothing like this anywhere") == []


def test_autocomplete_suggests_paths_most_used_first(backend: SearchBackend):
    found = backend.autocomplete("depot.test/ch", 5)
    assert found[0] == CHAIN_C and set(found) == set(CHAIN)
    assert backend.autocomplete("", 5) == []
    assert len(backend.autocomplete("depot.test/users", 4)) == 4


def test_modules_hidden_from_the_caller_are_found_by_no_backend(backend: SearchBackend):
    """A caller without a token on a Depot where depot.test/users/* is private
    (app/hidden.py): no result, no page of them, no suggestion, no total counts them."""
    with hidden.hiding("depot.test/users,*.test/chain/[ab]"):
        assert paths(backend, "users") == [] and backend.search("users").total == 0
        assert paths(backend, "chain") == [CHAIN_C]
        assert backend.search("", "MIT").total == 36 - 23 - 2
        assert backend.autocomplete("depot.test/u") == []
        assert backend.autocomplete("depot.test/chain") == [CHAIN_C]
    # Nothing of that stays behind for the next caller, who sees everything.
    assert len(paths(backend, "chain")) == 3 and backend.search("users").total == 23
    assert USERS[0] in backend.autocomplete("depot.test/users/u0")

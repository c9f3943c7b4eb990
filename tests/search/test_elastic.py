"""Elasticsearch specifics that need no node: which words a highlight marked, and the
query's shape (bad input never reaches it: parse refuses it first)."""

from __future__ import annotations

from app.search.elastic import marked_words, ranked_query
from app.search.queries import parse


def test_marked_words_are_taken_from_every_field_once():
    assert marked_words({
        "path.parts": ["github.com/x/\ue000widgets\ue001"],
        "synopsis": ["\ue000Widgets\ue001 make \ue000Go\ue001 nice", "<b>\ue000go\ue001</b>"],
    }) == ("widgets", "go")
    assert marked_words({}) == ()


def test_the_license_filter_is_a_filter_and_popularity_multiplies():
    query = ranked_query(parse("uuid", "MIT"))["function_score"]
    assert query["boost_mode"] == "multiply"
    assert query["query"]["bool"]["filter"] == [{"term": {"licenses": "MIT"}}]
    only_license = ranked_query(parse("", "MIT"))["function_score"]["query"]
    assert only_license["bool"]["must"] == [{"match_all": {}}]

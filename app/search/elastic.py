"""Search on Elasticsearch: one document per module, analysers made for module paths.

Why these analysers: people type a module three ways. The last element
(``uuid``), a piece of the path (``google/uuid``) or the start of it
(``github.com/goo``). The path is therefore indexed as its elements and words
(``path.parts``), as edge n-grams of each element (``path.grams``, for
as-you-type prefixes) and as edge n-grams of the whole lower-cased path
(``path.start``). Ranking: the exact path far above the last element, far
above the path's words, above the synopsis, above the README; the text score
is then multiplied by popularity (log of used-by and downloads), so among
equal matches the module Go developers use comes first.

Documents are written through an alias, so ``reindex`` builds a new index and
swaps the alias at once: searches never see a half-built index.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import Any

from elasticsearch import Elasticsearch, helpers
from elasticsearch.exceptions import NotFoundError

from app import hidden
from app.content.cache import ForAWhile
from app.gomod.patterns import lucene_regex
from app.search.base import SearchHit, SearchPage, begin_search
from app.search.queries import ParsedQuery, parse

log = logging.getLogger(__name__)

ALIAS = "depot-modules"
MAX_GRAM = 60  # longest prefix of a whole path that as-you-type matching covers

SETTINGS: dict[str, Any] = {
    "number_of_shards": 1,
    "number_of_replicas": 0,
    "max_ngram_diff": MAX_GRAM,
    "analysis": {
        "tokenizer": {
            # Elements and the words inside them: github.com/go-yaml/yaml.v3 ->
            # github, com, go, yaml, yaml, v3
            "path_words": {"type": "pattern", "pattern": "[/._\\-~+\\s]+"},
        },
        "filter": {
            "element_grams": {"type": "edge_ngram", "min_gram": 1, "max_gram": 20},
            "path_grams": {"type": "edge_ngram", "min_gram": 1, "max_gram": MAX_GRAM},
        },
        "analyzer": {
            "path_words": {"tokenizer": "path_words", "filter": ["lowercase"]},
            "path_word_grams": {"tokenizer": "path_words",
                                "filter": ["lowercase", "element_grams"]},
            "path_whole": {"tokenizer": "keyword", "filter": ["lowercase"]},
            "path_whole_grams": {"tokenizer": "keyword", "filter": ["lowercase", "path_grams"]},
            # Path hierarchy: github.com, github.com/google, github.com/google/uuid
            "path_tree": {"tokenizer": "path_hierarchy", "filter": ["lowercase"]},
        },
        "normalizer": {"lower": {"type": "custom", "filter": ["lowercase"]}},
    },
}

MAPPINGS: dict[str, Any] = {
    "dynamic": "strict",
    "properties": {
        "path": {
            "type": "keyword",
            "fields": {
                "exact": {"type": "keyword", "normalizer": "lower"},
                "parts": {"type": "text", "analyzer": "path_words"},
                "grams": {"type": "text", "analyzer": "path_word_grams",
                          "search_analyzer": "path_words"},
                "start": {"type": "text", "analyzer": "path_whole_grams",
                          "search_analyzer": "path_whole"},
                "tree": {"type": "text", "analyzer": "path_tree",
                         "search_analyzer": "path_whole"},
            },
        },
        "last": {"type": "keyword", "normalizer": "lower"},
        "version": {"type": "keyword", "index": False},
        "versions": {"type": "keyword"},
        "synopsis": {"type": "text", "analyzer": "english"},
        "readme": {"type": "text", "analyzer": "english"},
        "licenses": {"type": "keyword"},
        "used_by": {"type": "integer"},
        "downloads": {"type": "long"},
        "published_at": {"type": "date"},
        "go_version": {"type": "keyword"},
        "deprecated": {"type": "boolean"},
        "insight": {"type": "integer"},
    },
}
# Fields added to MAPPINGS after indexes were first made: written onto an existing index
# before documents carrying them (a strict mapping refuses unknown fields), so an upgrade
# keeps indexing without waiting for a reindex.
ADDED_FIELDS = ("insight",)

# Sort clauses of each order but relevance; the ties end as in the other backends.
SORTS: dict[str, list[Any]] = {
    "relevance": ["_score", {"used_by": "desc"}, {"path": "asc"}],
    "insight": [{"insight": {"order": "desc", "missing": 0, "unmapped_type": "integer"}},
                {"used_by": "desc"}, {"path": "asc"}],
    "used_by": [{"used_by": "desc"}, {"path": "asc"}],
    "published": [{"published_at": {"order": "desc", "missing": "_last"}},
                  {"used_by": "desc"}, {"path": "asc"}],
}


def text_query(parsed: ParsedQuery) -> dict[str, Any]:
    """The relevance part: exact path >> last element >> path words >> synopsis >> README."""
    whole = parsed.text.lower()
    words = " ".join(parsed.terms)
    should: list[dict[str, Any]] = [
        {"term": {"path.exact": {"value": whole, "boost": 200}}},
        {"term": {"last": {"value": whole, "boost": 60}}},
        {"match": {"path.tree": {"query": whole, "boost": 20}}},
        {"match": {"path.parts": {"query": words, "operator": "and", "boost": 12}}},
        {"match": {"path.start": {"query": whole, "boost": 8}}},
        {"match": {"path.grams": {"query": words, "operator": "and", "boost": 4}}},
        {"match": {"synopsis": {"query": words, "operator": "and", "boost": 3}}},
        {"match": {"readme": {"query": words, "operator": "and", "boost": 1}}},
        # Typos: "yalm", "uudi"; weak, so a real match always wins.
        {"match": {"path.parts": {"query": words, "fuzziness": "AUTO", "prefix_length": 1,
                                  "max_expansions": 10, "operator": "and", "boost": 2}}},
    ]
    return {"bool": {"should": should, "minimum_should_match": 1}}


def ranked_query(parsed: ParsedQuery) -> dict[str, Any]:
    """Text relevance times popularity: log10(2 + used_by) * log10(2 + downloads)^0.5."""
    query: dict[str, Any] = text_query(parsed) if parsed.terms else {"match_all": {}}
    if parsed.license:
        query = {"bool": {"must": [query], "filter": [{"term": {"licenses": parsed.license}}]}}
    return {
        "function_score": {
            "query": query,
            "functions": [
                {"field_value_factor": {"field": "used_by", "modifier": "log2p", "missing": 0}},
                {"field_value_factor": {"field": "downloads", "modifier": "log2p",
                                        "factor": 1, "missing": 0}, "weight": 0.5},
            ],
            "score_mode": "sum",
            "boost_mode": "multiply",
        }
    }


def visible(query: dict[str, Any]) -> dict[str, Any]:
    """``query`` without the modules hidden from the caller (app/hidden.py)."""
    regex = lucene_regex(hidden.current() or "")
    if regex is None:
        return query
    return {"bool": {"must": [query], "must_not": [{"regexp": {"path": {"value": regex}}}]}}


# Elasticsearch says which words it matched (typos, prefixes) between these private-use
# characters (control characters would be trimmed off a fragment's end by its Java
# side); only the words are taken (the page marks them itself, escaping everything),
# never any HTML.
_OPEN, _CLOSE = "\ue000", "\ue001"
HIGHLIGHT: dict[str, Any] = {
    "pre_tags": [_OPEN], "post_tags": [_CLOSE], "number_of_fragments": 0,
    "fields": {"path.parts": {}},
}
_MARKED = re.compile(f"{_OPEN}([^{_CLOSE}]+){_CLOSE}")


def marked_words(highlight: dict[str, list[str]]) -> tuple[str, ...]:
    """The distinct words Elasticsearch marked in a hit's highlight fragments."""
    words: list[str] = []
    for fragments in highlight.values():
        for fragment in fragments:
            for word in _MARKED.findall(fragment):
                if word.lower() not in words:
                    words.append(word.lower())
    return tuple(words)


def _parse_time(raw: str | None) -> datetime | None:
    return datetime.fromisoformat(raw) if raw else None


class ElasticSearchBackend:
    """The search interface on an Elasticsearch 7 node (``ELASTICSEARCH_URL``)."""

    name = "elasticsearch"

    def __init__(self, url: str, alias: str = ALIAS, timeout: float = 2.0,
                 client: Elasticsearch | None = None) -> None:
        self.url = url
        self.alias = alias
        self.client = client or Elasticsearch(
            [url], timeout=timeout, max_retries=0, retry_on_timeout=False)
        self._licenses: ForAWhile[list[str]] = ForAWhile(60)
        self._fields_added = False

    # -- reading --------------------------------------------------------------------------

    def search(
        self, query: str, license: str = "", page: int = 1, per_page: int = 20,
        sort: str = "relevance",
    ) -> SearchPage:
        parsed, page, empty = begin_search(query, license, page, per_page, sort)
        if empty is not None:
            return empty
        start = (page - 1) * per_page
        if start >= 10_000:  # Elasticsearch's result window
            return SearchPage(parsed.text, parsed.license, page, per_page, 0, [], parsed.terms,
                              sort=sort)
        found = self.client.search(
            index=self.alias, query=visible(ranked_query(parsed)), sort=SORTS[sort],
            from_=start, size=per_page, track_total_hits=10_000,  # the result window
            _source=["path", "version", "synopsis", "licenses", "used_by", "published_at",
                     "deprecated", "insight"],
            highlight=HIGHLIGHT,
        )
        hits = [
            SearchHit(s["path"], s["version"], s.get("synopsis", ""),
                      tuple(s.get("licenses", ())), s.get("used_by", 0),
                      _parse_time(s.get("published_at")), bool(s.get("deprecated")),
                      marked_words(h.get("highlight", {})), int(s.get("insight") or 0))
            for h, s in ((h, h["_source"]) for h in found["hits"]["hits"])
        ]
        return SearchPage(parsed.text, parsed.license, page, per_page,
                          found["hits"]["total"]["value"], hits, parsed.terms, sort=sort)

    def autocomplete(self, prefix: str, limit: int = 10) -> list[str]:
        parsed = parse(prefix)
        if not parsed.terms:
            return []
        whole = parsed.text.lower()
        found = self.client.search(
            index=self.alias,
            query=visible({"function_score": {
                "query": {"bool": {"should": [
                    {"match": {"path.start": {"query": whole, "boost": 3}}},
                    {"match": {"path.grams": {"query": " ".join(parsed.terms),
                                              "operator": "and"}}},
                ], "minimum_should_match": 1}},
                "field_value_factor": {"field": "used_by", "modifier": "log2p", "missing": 0},
                "boost_mode": "multiply",
            }}),
            # A field sorts ascending unless told otherwise ("path" is {"path": "asc"}).
            sort=["_score", "path"], size=limit, _source=["path"],
        )
        return [h["_source"]["path"] for h in found["hits"]["hits"]]

    def licenses(self) -> list[str]:
        """Every SPDX id in the index (an aggregation, kept for a minute)."""
        return self._licenses.get(self._aggregate_licenses)

    def _aggregate_licenses(self) -> list[str]:
        found = self.client.search(index=self.alias, size=0, query=visible({"match_all": {}}),
                                   aggs={"ids": {"terms": {"field": "licenses", "size": 500}}})
        return sorted((b["key"] for b in found["aggregations"]["ids"]["buckets"]),
                      key=str.lower)

    def count(self) -> int:
        return int(self.client.count(index=self.alias)["count"])

    # -- writing --------------------------------------------------------------------------

    def _new_index(self) -> str:
        name = f"{self.alias}-{time.strftime('%Y%m%d%H%M%S')}-{time.time_ns() % 10**6:06d}"
        self.client.indices.create(index=name, settings=SETTINGS, mappings=MAPPINGS)
        return name

    def _indices(self) -> list[str]:
        try:
            return sorted(self.client.indices.get_alias(name=self.alias))
        except NotFoundError:
            return []

    def ensure_index(self) -> None:
        """Create the index and its alias when there is none (first start); give an older
        index the fields added since (once per process)."""
        if not self._indices():
            name = self._new_index()
            self.client.indices.update_aliases(body={"actions": [
                {"add": {"index": name, "alias": self.alias}}]})
            self._fields_added = True
        elif not self._fields_added:
            self.client.indices.put_mapping(index=self.alias, body={"properties": {
                name: MAPPINGS["properties"][name] for name in ADDED_FIELDS}})
            self._fields_added = True

    def upsert(self, documents: Iterable[dict[str, Any]], gone: Iterable[str] = (),
               refresh: bool = False) -> int:
        """Write these documents and delete those of ``gone`` paths, in one bulk request."""
        self.ensure_index()
        actions: list[dict[str, Any]] = [
            {"_op_type": "index", "_index": self.alias, "_id": d["path"], "_source": d}
            for d in documents
        ]
        actions += [{"_op_type": "delete", "_index": self.alias, "_id": p} for p in gone]
        if not actions:
            return 0
        written, errors = helpers.bulk(self.client, actions, raise_on_error=False,
                                       refresh="wait_for" if refresh else False)
        assert isinstance(errors, list)  # the failed items (their count only with stats_only)
        failed = [e for e in errors if "delete" not in e or e["delete"].get("status") != 404]
        if failed:
            raise RuntimeError(f"{len(failed)} search documents were not written: {failed[:3]}")
        return written

    def rebuild(self, documents: Iterable[dict[str, Any]],
                progress: Callable[[int], None] = lambda _n: None, chunk: int = 500) -> str:
        """Index everything into a new index, then point the alias at it in one step."""
        old = self._indices()
        name = self._new_index()
        self.client.indices.put_settings(index=name, body={"index": {"refresh_interval": "-1"}})
        try:
            for ok, item in helpers.streaming_bulk(
                self.client, _actions(name, documents), chunk_size=chunk,
                raise_on_error=False,
            ):
                if not ok:
                    raise RuntimeError(f"a search document was not written: {item}")
                progress(1)
            self.client.indices.put_settings(index=name,
                                             body={"index": {"refresh_interval": "1s"}})
            self.client.indices.refresh(index=name)
        except Exception:
            self.client.indices.delete(index=name, ignore_unavailable=True)
            raise
        actions: list[dict[str, Any]] = [{"remove": {"index": i, "alias": self.alias}}
                                         for i in old]
        actions.append({"add": {"index": name, "alias": self.alias}})
        self.client.indices.update_aliases(body={"actions": actions})
        for index in old:
            self.client.indices.delete(index=index, ignore_unavailable=True)
        self._licenses.forget()
        return name

    def refresh(self) -> None:
        self.client.indices.refresh(index=self.alias)

    def drop(self) -> None:
        """Delete every index behind the alias (tests, and `reindex --drop`)."""
        for index in self._indices():
            self.client.indices.delete(index=index, ignore_unavailable=True)


def _actions(index: str, documents: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for d in documents:
        yield {"_op_type": "index", "_index": index, "_id": d["path"], "_source": d}

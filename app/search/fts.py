"""Search on SQLite's FTS5, in the application's own database: no server to run.

The embedded default. Documents are those of indexing.py, kept in two tables
(migration 0006): ``search_documents`` for what a result shows and
``search_fts`` for the text FTS5 matches. Ranking follows the Elasticsearch
backend's order — exact path, then the module's name, then path words, synopsis
and README (bm25 with column weights) — multiplied by the same popularity.
Every word typed is a prefix (as-you-type), all of them must match. FTS5 has no
fuzzy matching, so when nothing matches, each word is compared with the module
names (edit distance) and the search runs once more with the closest ones,
saying so ("showing results for yaml").

A rebuild replaces every row in one transaction: readers (WAL) keep seeing the
old index until it commits.
"""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection

from app import hidden
from app.content.cache import ForAWhile
from app.db import Database
from app.gomod.patterns import sql_regex
from app.search.base import SearchHit, SearchPage, begin_search
from app.search.queries import ParsedQuery, edit_distance, parse, popularity, typo_limit

# bm25 column weights: path, name, synopsis, readme
WEIGHTS = "8.0, 20.0, 3.0, 1.0"
EXACT_PATH, EXACT_NAME = 1000.0, 100.0
SHORT_COLUMNS = "{path name synopsis}"
_TOKEN = re.compile(r"\w+", re.UNICODE)
# ORDER BY of each sort but relevance (whose order depends on whether text was typed);
# the ties end as the other backends' do: most used, then path.
ORDERS = {
    "insight": "d.insight DESC, d.used_by DESC, d.path",
    "used_by": "d.used_by DESC, d.path",
    "published": "d.published_at DESC, d.used_by DESC, d.path",
}


def match_expression(terms: Iterable[str], column: str = "") -> str:
    """FTS5 query: every term a quoted phrase of its words, the last word a prefix.

    Quoting keeps FTS5 syntax out of user input; terms with no word characters (``/``,
    ``-``) add nothing. Empty when nothing is left to match.
    """
    phrases = []
    for term in terms:
        words = _TOKEN.findall(term.lower())
        if words:
            phrases.append(f'"{" ".join(words)}"*')
    if not phrases:
        return ""
    expr = " AND ".join(phrases)
    return f"{column} : ({expr})" if column else expr  # column: a name or {a b c}


def _when(raw: str | None) -> datetime | None:
    return datetime.fromisoformat(raw) if raw else None


def _hidden_sql(params: dict[str, Any]) -> str:
    """The condition that leaves out the modules hidden from the caller (app/hidden.py),
    its pattern added to ``params``; "" when nothing is hidden."""
    regex = sql_regex(hidden.current() or "")
    if regex is None:
        return ""
    params["hidden"] = regex
    return " AND NOT (d.path REGEXP :hidden)"


def _hit(row: Any) -> SearchHit:
    return SearchHit(row.path, row.version, row.synopsis,
                     tuple(i for i in row.licenses.split(",") if i), row.used_by,
                     _when(row.published_at), bool(row.deprecated), insight=row.insight)


class Fts5Search:
    name = "fts5"

    def __init__(self, db: Database) -> None:
        self.db = db
        self._licenses: ForAWhile[list[str]] = ForAWhile(60)

    # -- reading --------------------------------------------------------------------------

    def search(
        self, query: str, license: str = "", page: int = 1, per_page: int = 20,
        sort: str = "relevance",
    ) -> SearchPage:
        parsed, page, empty = begin_search(query, license, page, per_page, sort)
        if empty is not None:
            return empty
        found = self._search(parsed, page, per_page, sort)
        if found.total or not parsed.terms:
            return found
        corrected = self._corrected(parsed.terms)
        if corrected == parsed.terms:
            return found
        again = self._search(replace(parsed, terms=corrected), page, per_page, sort)
        if not again.total:
            return found
        return replace(again, query=parsed.text, notice=(
            f"Nothing matches “{parsed.text}”: showing results for "
            f"“{' '.join(corrected)}”."))

    def _search(self, parsed: ParsedQuery, page: int, per_page: int,
                sort: str = "relevance") -> SearchPage:
        """Path, name and synopsis first; READMEs only when those give less than a page.

        Why: words such as "errors" or "time" are in most READMEs, and ranking every
        module costs a bm25 each; a README-only match ranks below all of these anyway.
        """
        if not parsed.terms:
            return self._run(parsed, "", page, per_page, sort)
        found = self._run(parsed, match_expression(parsed.terms, column=SHORT_COLUMNS),
                          page, per_page, sort)
        if found.total >= per_page:
            return found
        return self._run(parsed, match_expression(parsed.terms), page, per_page, sort)

    def _run(self, parsed: ParsedQuery, expr: str, page: int, per_page: int,
             sort: str = "relevance") -> SearchPage:
        if parsed.terms and not expr:  # only punctuation was typed
            return SearchPage(parsed.text, parsed.license, page, per_page, 0, [], parsed.terms,
                              sort=sort)
        params: dict[str, Any] = {"expr": expr, "whole": parsed.text.lower(),
                                  "license": f"%,{parsed.license},%", "limit": per_page,
                                  "offset": (page - 1) * per_page}
        license_sql = "AND (',' || d.licenses || ',') LIKE :license" if parsed.license else ""
        license_sql += _hidden_sql(params)
        with self.db.engine.connect() as conn:
            if expr:
                total = conn.execute(text(
                    "SELECT count(*) FROM search_fts JOIN search_documents d "
                    f"ON d.id = search_fts.rowid WHERE search_fts MATCH :expr {license_sql}"
                ), params).scalar_one()
                rows = conn.execute(text(
                    "SELECT d.*, (-bm25(search_fts, " + WEIGHTS + ") + CASE "
                    "WHEN lower(d.path) = :whole THEN :exact_path "
                    "WHEN d.name = :whole THEN :exact_name ELSE 0 END) * d.popularity AS score "
                    "FROM search_fts JOIN search_documents d ON d.id = search_fts.rowid "
                    f"WHERE search_fts MATCH :expr {license_sql} "
                    f"ORDER BY {ORDERS.get(sort, 'score DESC, d.used_by DESC, d.path')} "
                    "LIMIT :limit OFFSET :offset"
                ), {**params, "exact_path": EXACT_PATH, "exact_name": EXACT_NAME}).all()
            else:  # the license filter alone: every module with it, most used first
                where = f"WHERE 1 = 1 {license_sql}"
                total = conn.execute(text(f"SELECT count(*) FROM search_documents d {where}"),
                                     params).scalar_one()
                rows = conn.execute(text(
                    f"SELECT d.* FROM search_documents d {where} "
                    f"ORDER BY {ORDERS.get(sort, 'd.popularity DESC, d.path')} "
                    "LIMIT :limit OFFSET :offset"), params).all()
        return SearchPage(parsed.text, parsed.license, page, per_page, total,
                          [_hit(r) for r in rows], parsed.terms, sort=sort)

    def _corrected(self, terms: tuple[str, ...]) -> tuple[str, ...]:
        """Each single-word term replaced by the closest module name within its typo limit
        (the most popular on a tie): what FTS5 cannot do by itself. Names are compared
        with those of the same first letter only (an index range, not a scan)."""
        out = []
        with self.db.engine.connect() as conn:
            for term in terms:
                limit = typo_limit(term)
                if not limit or not term.isalnum():
                    out.append(term)
                    continue
                params = {"low": term[0], "high": term[0] + "\U0010ffff",
                          "short": len(term) - limit, "long": len(term) + limit}
                rows = conn.execute(text(
                    "SELECT name, max(popularity) AS p FROM search_documents d "
                    "WHERE name >= :low AND name < :high AND length(name) BETWEEN :short "
                    f"AND :long {_hidden_sql(params)} GROUP BY name"), params).all()
                best = min(((edit_distance(term, r.name, limit), -r.p, r.name) for r in rows),
                           default=None)
                out.append(best[2] if best is not None and best[0] <= limit else term)
        return tuple(out)

    def autocomplete(self, prefix: str, limit: int = 10) -> list[str]:
        parsed = parse(prefix)
        expr = match_expression(parsed.terms, column="path")
        if not expr:
            return []
        params = {"expr": expr, "start": _like_prefix(parsed.text.lower()), "limit": limit}
        with self.db.engine.connect() as conn:
            rows = conn.execute(text(
                "SELECT d.path FROM search_fts JOIN search_documents d "
                f"ON d.id = search_fts.rowid WHERE search_fts MATCH :expr {_hidden_sql(params)} "
                "ORDER BY (lower(d.path) LIKE :start ESCAPE '\\') DESC, d.used_by DESC, d.path "
                "LIMIT :limit"
            ), params)
            return [r.path for r in rows]

    def licenses(self) -> list[str]:
        """Every SPDX id in the index (kept for a minute: the filter's option list)."""
        return self._licenses.get(self._distinct_licenses)

    def _distinct_licenses(self) -> list[str]:
        params: dict[str, Any] = {}
        with self.db.engine.connect() as conn:
            found = {i for (ids,) in conn.execute(text(
                f"SELECT DISTINCT licenses FROM search_documents d WHERE 1 = 1 "
                f"{_hidden_sql(params)}"), params) for i in ids.split(",") if i}
        return sorted(found, key=str.lower)

    def count(self) -> int:
        with self.db.engine.connect() as conn:
            return int(conn.execute(text("SELECT count(*) FROM search_documents")).scalar_one())

    # -- writing --------------------------------------------------------------------------

    def upsert(self, documents: Iterable[dict[str, Any]], gone: Iterable[str] = (),
               refresh: bool = False) -> int:
        """Write these documents and delete those of ``gone`` paths, in one transaction."""
        docs = list(documents)
        with self.db.engine.begin() as conn:
            _delete(conn, [d["path"] for d in docs] + list(gone))
            _insert(conn, docs)
        self._licenses.forget()
        return len(docs)

    def rebuild(self, documents: Iterable[dict[str, Any]],
                progress: Callable[[int], None] = lambda _n: None, chunk: int = 500) -> str:
        """Replace the whole index in one transaction (readers see the old one meanwhile).

        The documents are made first, outside that transaction, and staged in a
        temporary file: making one may write to the same database (a synopsis the render
        job has not kept yet is made and kept), and SQLite lets one writer in at a time,
        so made inside it they waited on the rebuild's own lock until "database is
        locked" (`make run` on a data dir whose index was empty, 2026-12-06). The file
        keeps memory flat however many modules there are (each document holds up to
        32 KB of README)."""
        with tempfile.TemporaryFile() as staged:
            for doc in documents:
                staged.write(json.dumps(doc).encode() + b"\n")
                progress(1)
            staged.seek(0)
            with self.db.engine.begin() as conn:
                conn.execute(text("DELETE FROM search_fts"))
                conn.execute(text("DELETE FROM search_documents"))
                batch: list[dict[str, Any]] = []
                for line in staged:
                    batch.append(json.loads(line))
                    if len(batch) >= chunk:
                        _insert(conn, batch)
                        batch = []
                _insert(conn, batch)
                conn.execute(text("INSERT INTO search_fts(search_fts) VALUES ('optimize')"))
        self._licenses.forget()
        return "search_fts"


def _like_prefix(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "%"


def _delete(conn: Connection, paths: list[str]) -> None:
    for start in range(0, len(paths), 500):
        chunk = paths[start:start + 500]
        marks = ", ".join(f":p{i}" for i in range(len(chunk)))
        params = {f"p{i}": p for i, p in enumerate(chunk)}
        conn.execute(text(f"DELETE FROM search_fts WHERE rowid IN "
                          f"(SELECT id FROM search_documents WHERE path IN ({marks}))"), params)
        conn.execute(text(f"DELETE FROM search_documents WHERE path IN ({marks})"), params)


def _insert(conn: Connection, docs: list[dict[str, Any]]) -> None:
    if not docs:
        return
    first = conn.execute(text("SELECT coalesce(max(id), 0) FROM search_documents")).scalar_one()
    rows, texts = [], []
    for offset, d in enumerate(docs, start=1):
        row_id = first + offset
        rows.append({
            "id": row_id, "path": d["path"], "name": d["last"].lower(), "version": d["version"],
            "synopsis": d.get("synopsis") or "", "licenses": ",".join(d.get("licenses") or ()),
            "used_by": d.get("used_by") or 0, "downloads": d.get("downloads") or 0,
            "popularity": popularity(d.get("used_by") or 0, d.get("downloads") or 0),
            "published_at": d.get("published_at"), "deprecated": int(bool(d.get("deprecated"))),
            "insight": d.get("insight") or 0,
        })
        texts.append({"id": row_id, "path": d["path"], "name": d["last"],
                      "synopsis": d.get("synopsis") or "", "readme": d.get("readme") or ""})
    conn.execute(text(
        "INSERT INTO search_documents (id, path, name, version, synopsis, licenses, used_by, "
        "downloads, popularity, published_at, deprecated, insight) VALUES (:id, :path, :name, "
        ":version, :synopsis, :licenses, :used_by, :downloads, :popularity, :published_at, "
        ":deprecated, :insight)"
    ), rows)
    conn.execute(text(
        "INSERT INTO search_fts (rowid, path, name, synopsis, readme) "
        "VALUES (:id, :path, :name, :synopsis, :readme)"), texts)

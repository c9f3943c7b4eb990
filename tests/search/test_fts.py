"""SQLite FTS5 specifics: user input never reaches FTS5's query syntax unquoted, and the
index follows upserts, deletions and rebuilds."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from app.resources import Services
from app.search.fts import Fts5Search, match_expression
from app.search.indexing import search_document


def doc(path: str, used_by: int = 0, license: str = "MIT", synopsis: str = "") -> dict:
    return search_document(
        path=path, version="v1.0.0", versions=["v1.0.0"], synopsis=synopsis, readme="",
        licenses=[license], used_by=used_by, downloads=0, published_at=None,
        go_version="1.21", deprecated=False, insight=0)


def test_terms_become_quoted_prefix_phrases():
    assert match_expression(["uuid"]) == '"uuid"*'
    assert match_expression(["github.com/goo", "x"]) == '"github com goo"* AND "x"*'
    assert match_expression(['a"b', "NEAR(", "--"]) == '"a b"* AND "near"*'
    assert match_expression(["/", "-"]) == ""
    assert match_expression(["depot.test/ch"], column="path") == 'path : ("depot test ch"*)'


@pytest.fixture
def fts(db_backend: str, request: pytest.FixtureRequest) -> Fts5Search:
    """Each test's own migrated SQLite database (on PostgreSQL the skip comes before one
    is made and migrated for nothing)."""
    if db_backend != "sqlite":
        pytest.skip("FTS5 is SQLite's")
    services: Services = request.getfixturevalue("services")
    assert services.settings.database_url.startswith("sqlite")
    return Fts5Search(services.db)


@pytest.mark.parametrize("query", ['"', "a*b", "NEAR(a b)", "x OR y", "path:x", "^x", "(",
                                   "AND", "-x", "'", "a AND NOT b", "\\", "%_"])
def test_query_syntax_in_input_is_only_text(fts: Fts5Search, query: str):
    fts.upsert([doc("depot.test/near/x")])
    fts.search(query)  # no FTS5 syntax error reaches the user
    fts.autocomplete(query)


def test_upsert_delete_and_rebuild(fts: Fts5Search):
    fts.upsert([doc("depot.test/a/json", 5), doc("depot.test/b/json", 50, "Apache-2.0")])
    assert [h.path for h in fts.search("json").hits] == ["depot.test/b/json",
                                                         "depot.test/a/json"]
    assert fts.licenses() == ["Apache-2.0", "MIT"]
    fts.upsert([doc("depot.test/a/json", 500)], gone=["depot.test/b/json"])
    assert [(h.path, h.used_by) for h in fts.search("json").hits] == [("depot.test/a/json", 500)]
    assert fts.licenses() == ["MIT"]
    fts.rebuild([doc("depot.test/c/yaml")])
    assert fts.count() == 1 and fts.search("json").total == 0
    assert fts.autocomplete("depot.test/c") == ["depot.test/c/yaml"]


def test_a_rebuild_whose_documents_write_to_the_database_meanwhile(fts: Fts5Search):
    """Making a document may keep a synopsis the render job has not made yet, a write to
    the same SQLite database: the rebuild makes them all before it takes the database's
    one writer's lock (it once waited on itself until "database is locked", and
    `make run` did not start)."""
    fts.upsert([doc("depot.test/old/json")])
    made = []

    def documents():  # as app/search/indexing.all_documents streams them
        for path in ("depot.test/a/yaml", "depot.test/b/yaml"):
            with fts.db.engine.begin() as conn:  # a session of its own, as prepared() has
                conn.execute(text("CREATE TABLE IF NOT EXISTS kept (path TEXT)"))
                conn.execute(text("INSERT INTO kept VALUES (:p)"), {"p": path})
            made.append(path)
            yield doc(path, synopsis="A YAML library.")

    counted: list[int] = []
    fts.rebuild(documents(), counted.append)
    assert made == ["depot.test/a/yaml", "depot.test/b/yaml"] and sum(counted) == 2
    assert fts.count() == 2 and fts.search("json").total == 0
    assert [h.path for h in fts.search("yaml").hits] == made
    with fts.db.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM kept")).scalar_one() == 2


def test_a_typo_finds_the_closest_name_and_says_so(fts: Fts5Search):
    fts.upsert([doc("gopkg.in/yaml.v3", 900) | {"last": "yaml"},
                doc("github.com/x/yml", 1), doc("github.com/spf13/cobra", 50)])
    found = fts.search("yalm")
    assert [h.path for h in found.hits][0] == "gopkg.in/yaml.v3"
    assert found.query == "yalm" and "showing results for “yaml”" in found.notice
    assert fts.search("cobar").hits[0].path == "github.com/spf13/cobra"
    assert fts.search("qq").total == 0 and fts.search("zzzzzz").notice == ""


def test_readmes_count_when_paths_and_synopses_give_less_than_a_page(fts: Fts5Search):
    fts.upsert([doc("depot.test/zoo", 1) | {"readme": "Feeds the zebra."},
                doc("depot.test/zebra", 5)])
    assert [h.path for h in fts.search("zebra").hits] == ["depot.test/zebra", "depot.test/zoo"]
    assert [h.path for h in fts.search("zebra", per_page=1).hits] == ["depot.test/zebra"]
    assert fts.search("zebra", per_page=1).total == 1  # a full page from the path alone

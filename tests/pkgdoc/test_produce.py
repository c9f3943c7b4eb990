"""The helper's reading of a module zip (app/pkgdoc/produce.py, helper/main.go): what go
doc shows for linux/amd64, with the names in declarations marked for links."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from app.pkgdoc.produce import DocsError, ModuleDocs, produce
from tests.fixtures.docs_module import DOCS, DOCS_VERSION, docs_module
from tests.fixtures.upstream import FixtureModule, func_name

DEP = "depot.test/chain/c"


class ZipOnDisk:
    """The one part of the store interface produce() uses: a zip's local file."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def local_path(self, module: str, version: str, kind: str) -> Path:
        return self.path


def made(tmp_path: Path, helper: Path, mod: FixtureModule) -> ModuleDocs:
    zip_path = tmp_path / "m.zip"
    zip_path.write_bytes(mod.zip_bytes())
    return produce(ZipOnDisk(zip_path), helper, tmp_path / "work",  # type: ignore[arg-type]
                   mod.path, mod.version)


@pytest.fixture(scope="module")
def docs(tmp_path_factory: pytest.TempPathFactory, godoc_helper: Path) -> dict[str, Any]:
    mod = docs_module(DEP, "v1.0.0", DEP, f"c.{func_name(DEP)}()")
    out = made(tmp_path_factory.mktemp("docs"), godoc_helper, mod)
    assert (out.goos, out.goarch) == ("linux", "amd64")
    assert out.go_version.startswith("go1.")
    return {p["import_path"]: p for p in out.packages}


def by_name(items: list[dict[str, Any]], name: str) -> dict[str, Any]:
    return next(i for i in items if i["name"] == name)


def linked(decl: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(the text a link covers, its package, its name) of each link of a declaration."""
    text = decl["text"]
    return [(text[lk["start"]:lk["end"]], lk["path"], lk["name"]) for lk in decl["links"]]


def test_every_package_but_testdata_is_documented_and_marked(docs: dict[str, Any]) -> None:
    assert sorted(docs) == [DOCS, f"{DOCS}/cmd/spinner", f"{DOCS}/gears",
                            f"{DOCS}/internal/secret"]
    assert docs[f"{DOCS}/cmd/spinner"]["command"] is True
    assert docs[f"{DOCS}/internal/secret"]["internal"] is True
    assert docs[DOCS]["command"] is False and docs[DOCS]["internal"] is False
    assert docs[f"{DOCS}/gears"]["synopsis"] == "Package gears turns widgets."
    assert docs[f"{DOCS}/cmd/spinner"]["synopsis"].startswith("Command spinner spins")


def test_the_package_comment_keeps_its_heading_links_and_code(docs: dict[str, Any]) -> None:
    root = docs[DOCS]
    assert root["synopsis"] == "Package docs is a fixture for Depot's package pages."
    html = root["doc"]
    assert '<h3 id="hdr-Getting_started">Getting started</h3>' in html
    assert '<a href="#Widget">Widget</a>' in html
    assert '<a href="#Widget.Spin">Widget.Spin</a>' in html
    assert '<a href="depot-pkg:strings#Builder">strings.Builder</a>' in html
    assert '<a href="https://example.invalid/docs">' in html
    assert "<pre>w := docs.NewWidget(&quot;a&quot;)\nw.Spin(3)\n</pre>" in html


def test_build_constraints_are_those_of_linux_amd64(docs: dict[str, Any]) -> None:
    root = docs[DOCS]
    names = [f["name"] for f in root["funcs"]]
    assert "OnlyOnWindows" not in names
    assert root["ignored_files"] == ["docs_windows.go"]
    assert root["go_files"] == ["docs.go"]


def test_declarations_are_grouped_as_go_doc_groups_them(docs: dict[str, Any]) -> None:
    root = docs[DOCS]
    assert [f["name"] for f in root["funcs"]] == ["Map", "Old"]
    size, widget = by_name(root["types"], "Size"), by_name(root["types"], "Widget")
    assert size["consts"][0]["names"] == ["Small", "Medium", "Large"]
    assert [f["name"] for f in widget["funcs"]] == ["NewWidget"]
    assert [m["name"] for m in widget["methods"]] == ["Describe", "Spin"]
    assert by_name(widget["methods"], "Spin")["recv"] == "*Widget"
    assert by_name(root["funcs"], "Map")["decl"]["text"] == \
        "func Map[T, U any](in []T, f func(T) U) []U"
    assert "spins" not in widget["decl"]["text"]  # unexported fields are filtered
    assert "// Name names it «ünïcode»." in widget["decl"]["text"]
    assert root["vars"][0]["names"] == ["Default"]


def test_deprecated_symbols_are_marked(docs: dict[str, Any]) -> None:
    root = docs[DOCS]
    assert by_name(root["funcs"], "Old")["deprecated"] is True
    assert by_name(root["funcs"], "Map")["deprecated"] is False


def test_names_in_declarations_are_marked_for_links(docs: dict[str, Any]) -> None:
    root = docs[DOCS]
    widget = by_name(root["types"], "Widget")
    # After non-ASCII comments, the offsets still cover the name (runes, not bytes).
    assert ("Size", "", "Size") in linked(widget["decl"])
    describe = by_name(widget["methods"], "Describe")
    assert ("strings", "strings", "") in linked(describe["decl"])
    assert ("Builder", "strings", "Builder") in linked(describe["decl"])
    assert ("Widget", "", "Widget") in linked(describe["decl"])
    # Parameter names are not links, even when they match nothing.
    assert all(text != "b" for text, _p, _n in linked(describe["decl"]))
    turn = by_name(docs[f"{DOCS}/gears"]["funcs"], "Turn")
    assert ("Widget", DOCS, "Widget") in linked(turn["decl"])
    assert ("Size", DOCS, "Size") in linked(turn["decl"])


def test_examples_come_with_their_output(docs: dict[str, Any]) -> None:
    root = docs[DOCS]
    assert [(e["name"], e["output"]) for e in root["examples"]] == [("", "package example\n")]
    widget = by_name(root["types"], "Widget")
    new = by_name(widget["funcs"], "NewWidget")
    assert new["examples"][0]["output"] == "x\n"
    assert 'w := docs.NewWidget("x")' in new["examples"][0]["code"]
    spin = by_name(widget["methods"], "Spin")
    assert spin["examples"][0]["has_output"] is True


def test_imports_are_listed_without_test_only_ones(docs: dict[str, Any]) -> None:
    assert docs[DOCS]["imports"] == ["strings"]
    assert docs[f"{DOCS}/gears"]["imports"] == [DEP, DOCS, f"{DOCS}/internal/secret"]


def test_a_zip_that_is_not_one_is_refused_with_a_reason(tmp_path: Path,
                                                        godoc_helper: Path) -> None:
    bad = tmp_path / "bad.zip"
    bad.write_bytes(b"not a zip")
    with pytest.raises(DocsError, match="zip"):
        produce(ZipOnDisk(bad), godoc_helper, tmp_path / "work",  # type: ignore[arg-type]
                DOCS, DOCS_VERSION)

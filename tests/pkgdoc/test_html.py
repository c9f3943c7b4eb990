"""Where documentation links go (app/pkgdoc/html.py): pure functions."""

from __future__ import annotations

from app.pkgdoc.html import Linker, anchor, decl_html, doc_html, example_anchor, is_standard

LINKER = Linker("example.com/mod", "v1.2.0", {"example.com/dep": "v0.3.0"}, "/depot")


def test_standard_library_paths_have_no_dot_in_their_first_element() -> None:
    assert is_standard("net/http") and is_standard("strings")
    assert not is_standard("example.com/mod") and not is_standard("gopkg.in/yaml.v3")


def test_links_stay_in_the_module_and_version_or_go_to_the_required_one() -> None:
    assert LINKER.url("", "Widget") == "#Widget"
    assert LINKER.url("example.com/mod/sub", "T") == "/depot/example.com/mod/sub@v1.2.0#T"
    assert LINKER.url("example.com/dep/pkg", "") == "/depot/example.com/dep/pkg@v0.3.0"
    assert LINKER.url("example.com/depot", "X") is None  # a prefix, not the module
    assert LINKER.url("fmt", "Println") is None
    unpinned = Linker("example.com/mod", "v1.2.0", {}, "", pinned=False)
    # A module's root package is on its page's Doc tab (the page opens on the README).
    assert unpinned.url("example.com/mod", "T") == "/example.com/mod?tab=doc#T"
    assert unpinned.url("example.com/mod", "") == "/example.com/mod"


def test_a_declaration_is_escaped_and_its_names_linked() -> None:
    decl = {"text": 'func F(w *Widget, m map[string]dep.Thing) <b>',
            "links": [{"start": 10, "end": 16, "path": "", "name": "Widget"},
                      {"start": 31, "end": 34, "path": "example.com/dep", "name": ""},
                      {"start": 35, "end": 40, "path": "example.com/dep", "name": "Thing"},
                      {"start": 7, "end": 8, "path": "fmt", "name": "Stringer"}]}
    html = str(decl_html(decl, LINKER))
    assert '<a href="#Widget">Widget</a>' in html
    assert ('<a href="/depot/example.com/dep@v0.3.0?tab=doc#Thing" title="example.com/dep">'
            'Thing</a>') in html
    assert "&lt;b&gt;" in html and "<b>" not in html
    assert html.count("<a ") == 3  # fmt is not linked


def test_a_link_out_of_range_or_overlapping_leaves_the_text_whole() -> None:
    decl = {"text": "type T int", "links": [{"start": 5, "end": 99, "path": "", "name": "T"},
                                             {"start": 5, "end": 6, "path": "", "name": "T"},
                                             {"start": 5, "end": 6, "path": "", "name": "T"}]}
    assert str(decl_html(decl, LINKER)) == 'type <a href="#T">T</a> int'


def test_doc_links_to_other_packages_resolve_or_are_unlinked() -> None:
    html = ('<p>See <a href="depot-pkg:example.com/dep#Thing">dep.Thing</a> and '
            '<a href="depot-pkg:strings#Builder">strings.Builder</a>.</p>')
    out = str(doc_html(html, LINKER))
    assert '<a href="/depot/example.com/dep@v0.3.0?tab=doc#Thing">dep.Thing</a>' in out
    assert '<span class="doc-ref">strings.Builder</span>' in out


def test_anchors_are_those_of_pkg_go_dev() -> None:
    assert anchor({"name": "Spin", "recv": "*Widget"}) == "Widget.Spin"
    assert anchor({"name": "Get", "recv": "List[T]"}) == "List.Get"
    assert anchor({"name": "F", "recv": ""}) == "F"
    assert example_anchor("", {"suffix": ""}) == "example-package"
    assert example_anchor("Widget.Spin", {"suffix": "fast"}) == "example-Widget.Spin-fast"

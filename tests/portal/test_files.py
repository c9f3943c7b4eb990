"""The Files tab (issue 22, point 3): the zip listed, a file highlighted with anchored
lines, documentation linking to the line of each declaration."""

from __future__ import annotations

from flask import Flask

from app.portal.files import folders
from tests.fixtures.docs_module import DOCS
from tests.portal.conftest import HTML


def get(app: Flask, url: str) -> tuple[int, str]:
    resp = app.test_client().get(url, headers=HTML)
    return resp.status_code, resp.get_data(as_text=True)


def test_files_are_listed_by_folder_with_sizes(docs_app: Flask) -> None:
    status, body = get(docs_app, f"/{DOCS}?tab=files")
    assert status == 200
    assert "(module root)" in body and ">gears</h3>" in body
    assert f'href="/{DOCS}?tab=files&amp;file=gears%2Fgears.go"' in body
    assert f'href="/{DOCS}?tab=files&amp;file=testdata%2Fbroken.go"' in body  # every file
    assert folders([("a.go", 1), ("x/b.go", 2), ("x/a.go", 3)])[1].files == [("b.go", 2),
                                                                              ("a.go", 3)]


def test_a_file_is_highlighted_with_anchored_lines(docs_app: Flask) -> None:
    status, body = get(docs_app, f"/{DOCS}?tab=files&file=docs.go")
    assert status == 200
    assert '<a id="L-1" name="L-1"></a><a href="#L-1"><span class="linenos">' in body
    assert '<span class="kd">func</span>' in body
    status, body = get(docs_app, f"/{DOCS}?tab=files&file=nope.go")
    assert status == 200 and "nope.go is not in the module zip" in body


def test_declarations_link_to_their_source_line(docs_app: Flask) -> None:
    _status, body = get(docs_app, f"/{DOCS}/gears")
    assert f'href="/{DOCS}?tab=files&amp;file=gears%2Fgears.go#L-11"' in body
    _status, root = get(docs_app, f"/{DOCS}?tab=doc")
    assert f'href="/{DOCS}?tab=files&amp;file=docs.go#L-' in root

"""go.sum lines, read strictly: each refusal names its line."""

from __future__ import annotations

import pytest

from app.gomod.errors import GoModError, GoSumParseError
from app.gomod.gosum import SumLine, parse_gosum

ZIP = "h1:gVGCZXhl/Fy30JjkLzz4ngtyCdRWuQU2H7zf0ou89JI="
MOD = "h1:brWWOMJXdBg/Nq9Id/XDCIGtdYYafPJuWUDxc10StU0="


def test_zip_and_go_mod_lines_with_blank_lines_and_crlf():
    text = (f"example.com/a v1.0.0 {ZIP}\r\n\n"
            f"example.com/a v1.0.0/go.mod {MOD}\n"
            f"  example.com/b/v2   v2.1.0/go.mod\t{MOD}  \n"
            f"example.com/c v3.0.0+incompatible {ZIP}\n")
    assert parse_gosum(text) == [
        SumLine("example.com/a", "v1.0.0", "zip", ZIP, 1),
        SumLine("example.com/a", "v1.0.0", "go.mod", MOD, 3),
        SumLine("example.com/b/v2", "v2.1.0", "go.mod", MOD, 4),
        SumLine("example.com/c", "v3.0.0+incompatible", "zip", ZIP, 5),
    ]


def test_an_empty_go_sum_has_no_lines():
    assert parse_gosum("") == [] and parse_gosum("\n  \n") == []


@pytest.mark.parametrize("line, message", [
    ("example.com/a v1.0.0", "expected 'module version h1:hash', got 2 fields"),
    (f"example.com/a v1.0.0 {ZIP} extra", "got 4 fields"),
    (f"Not A Path v1.0.0 {ZIP}", "got 5 fields"),
    (f"example.com/a v1.0 {ZIP}", "not a canonical version"),
    (f"example.com/a master {ZIP}", "not a canonical version"),
    (f"example.com/a/v2 v1.0.0 {ZIP}", "v1.0.0"),
    (f"example.com/a v2.0.0/go.mod {MOD}", "should be v0 or v1"),
    (f"-bad.example/a v1.0.0 {ZIP}", "-bad.example/a"),
    ("example.com/a v1.0.0 h2:abc=", "not an h1: hash"),
    ("example.com/a v1.0.0 h1:not*base64!", "not valid base64"),
    ("example.com/a v1.0.0 h1:YWJj", "not a SHA-256"),
])
def test_a_bad_line_is_refused_naming_its_number(line: str, message: str):
    text = f"example.com/ok v1.0.0 {ZIP}\n{line}\n"
    with pytest.raises(GoSumParseError) as exc:
        parse_gosum(text)
    assert str(exc.value).startswith("go.sum line 2: ")
    assert message in str(exc.value)
    assert isinstance(exc.value, GoModError)

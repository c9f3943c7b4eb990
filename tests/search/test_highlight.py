from __future__ import annotations

from app.search.highlight import highlight


def test_matches_are_marked_case_insensitively_and_merged():
    assert str(highlight("github.com/Google/UUID", ["google", "uuid"])) == (
        "github.com/<mark>Google</mark>/<mark>UUID</mark>")
    assert str(highlight("abcdef", ["abc", "cde"])) == "<mark>abcde</mark>f"


def test_text_is_escaped_before_marking():
    out = str(highlight('<img src=x onerror="a&b">', ["img", "&"]))
    assert out == ('&lt;<mark>img</mark> src=x onerror=&#34;a<mark>&amp;</mark>b&#34;&gt;')
    assert "<img" not in out


def test_terms_that_look_like_markup_match_literally():
    out = str(highlight("a <b> c", ["<b>"]))
    assert out == "a <mark>&lt;b&gt;</mark> c"


def test_no_terms_is_just_escaping():
    assert str(highlight("x<y", [])) == "x&lt;y"

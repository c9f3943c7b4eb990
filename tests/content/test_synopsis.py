from __future__ import annotations

from app.content.synopsis import MAX_LENGTH, synopsis


def test_markdown_skips_headings_badges_and_html_blocks():
    text = ("# Title\n\n[![CI](https://x/badge.svg)](https://x)\n\n<p align=center><img src=l.png>"
            "</p>\n\nThe **first** real `paragraph`\nspans lines &amp; entities.\n\nSecond.")
    assert synopsis("README.md", text) == "The first real paragraph spans lines & entities."


def test_plain_text_skips_an_underlined_title():
    assert synopsis("README", "TITLE\n=====\n\nWhat it does,\nin two lines.\n") == (
        "What it does, in two lines.")


def test_long_paragraphs_are_cut_at_a_word():
    found = synopsis("README.md", "word " * 200)
    assert len(found) <= MAX_LENGTH + 1 and found.endswith("…")


def test_empty_readme_has_no_synopsis():
    assert synopsis("README.md", "# Only a title\n") == ""
    assert synopsis("README.txt", "\n\n") == ""

"""go.mod highlighted with Pygments (which has no go.mod lexer, so here is one).

The classes are Pygments' short token names; static/highlight.css colours them
for light and dark schemes.
"""

from __future__ import annotations

from markupsafe import Markup
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexer import RegexLexer, bygroups
from pygments.token import Comment, Keyword, Name, Number, Operator, Punctuation, String, Text

DIRECTIVES = (
    "module", "go", "toolchain", "godebug", "require", "replace", "exclude", "retract", "tool",
    "ignore",
)


class GoModLexer(RegexLexer):
    """Directives, module paths, versions, ``=>``, comments and quoted strings."""

    name = "go.mod"
    aliases = ["gomod"]
    filenames = ["go.mod"]

    tokens = {
        "root": [
            (r"//.*?$", Comment.Single),
            (r"^([ \t]*)(" + "|".join(DIRECTIVES) + r")(?=[ \t(]|$)", bygroups(Text, Keyword)),
            (r"=>", Operator),
            (r"[()\[\],]", Punctuation),
            (r'"(\\\\|\\"|[^"\n])*"', String),
            (r"`[^`]*`", String),
            (r"\bv[0-9]+\.[0-9]+\.[0-9]+[0-9A-Za-z.+\-]*", Number),
            (r"\b[0-9]+\.[0-9]+(\.[0-9]+)?([a-z]+[0-9]+)?\b", Number),
            (r"[^\s()\[\],\"`=]+", Name.Namespace),
            (r"\s+", Text),
            (r".", Text),
        ]
    }


_FORMATTER = HtmlFormatter(cssclass="highlight", wrapcode=True)


def highlight_gomod(text: str) -> Markup:
    """go.mod as HTML; Pygments escapes every token, so the result is safe to embed."""
    return Markup(highlight(text, GoModLexer(), _FORMATTER))

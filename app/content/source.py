"""A source file of a module zip as HTML: highlighted by Pygments, each line anchored
(``#L-12``, its number a link to itself), so documentation can point at declarations."""

from __future__ import annotations

from markupsafe import Markup
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexer import Lexer
from pygments.lexers import TextLexer, get_lexer_for_filename
from pygments.util import ClassNotFound

# Highlighting a file costs about a second per MiB; larger ones are shown plain.
HIGHLIGHT_MAX = 512 * 1024

_FORMATTER = HtmlFormatter(linenos="inline", anchorlinenos=True, lineanchors="L",
                           wrapcode=True, cssclass="source")


def _lexer(name: str, text: str) -> Lexer:
    if len(text) > HIGHLIGHT_MAX:
        return TextLexer()
    try:
        return get_lexer_for_filename(name, text)
    except ClassNotFound:
        return TextLexer()


def highlight_source(name: str, text: str) -> Markup:
    """``text`` of file ``name`` as HTML; Pygments escapes every token."""
    return Markup(highlight(text, _lexer(name, text), _FORMATTER))

"""Module path prefix patterns, the syntax of GOPRIVATE, GONOPROXY, GONOSUMDB and
GOINSECURE: comma-separated globs, each matching a module path's leading elements.

Depot reads DEPOT_PRIVATE in this syntax and hands it to the go command unchanged, so
its own decisions (never ask the public upstream or checksum database about a path,
never tell an outside webhook) must match exactly the paths the go command treats as
private: ``corp.example`` matches ``corp.example/x/y``; ``*.corp.example/team-a``
matches ``git.corp.example/team-a/lib``; a glob never matches part of an element.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache


class PatternError(ValueError):
    """A pattern list the go command would not accept."""


# One element of a glob, as Go's path.Match reads it: `*` any run of characters but `/`,
# `?` one of them, `[...]` a class (`[^...]` negated), `\` quoting the next character.
def _element_regex(glob: str, escape: Callable[[str], str] = re.escape) -> str:
    out: list[str] = []
    i = 0
    while i < len(glob):
        c = glob[i]
        if c == "*":
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "\\":
            if i + 1 == len(glob):
                raise PatternError(f"{glob!r} ends with a lone backslash")
            i += 1
            out.append(escape(glob[i]))
        elif c == "[":
            end = glob.find("]", i + 2 if glob[i + 1:i + 2] in ("^", "]") else i + 1)
            if end < 0:
                raise PatternError(f"{glob!r} has a `[` without its `]`")
            body = glob[i + 1:end]
            negate = body.startswith("^")
            body = body[1:] if negate else body
            if not body:
                raise PatternError(f"{glob!r} has an empty character class")
            escaped = body.replace("\\", "\\\\").replace("]", "\\]").replace("[", "\\[")
            out.append(f"[{'^/' if negate else ''}{escaped}]")
            i = end
        else:
            out.append(escape(c))
        i += 1
    return "".join(out)


@lru_cache(maxsize=64)
def compile_patterns(value: str) -> tuple[tuple[int, re.Pattern[str]], ...]:
    """Each non-empty glob of ``value`` as (how many slashes it has, its regex).

    Raises PatternError naming the glob that cannot be read, so a bad setting stops
    start-up instead of matching nothing."""
    compiled = []
    for raw in value.split(","):
        glob = raw.strip().rstrip("/")
        if not glob:
            continue
        if any(c.isspace() for c in glob):
            raise PatternError(f"{glob!r} holds a space; patterns are separated by commas")
        regex = "/".join(_element_regex(element) for element in glob.split("/"))
        compiled.append((glob.count("/"), re.compile(regex)))
    return tuple(compiled)


def matches(value: str, module: str) -> bool:
    """Whether ``module`` (a module path) falls under one of the globs in ``value``."""
    if not value:
        return False
    elements = module.split("/")
    for slashes, regex in compile_patterns(value):
        if len(elements) <= slashes:
            continue  # the path has fewer elements than the glob
        if regex.fullmatch("/".join(elements[:slashes + 1])):
            return True
    return False


def check(value: str) -> str:
    """``value`` as the go command must be given it, once every glob in it reads (for a
    setting's parser): spaces around globs and empty globs dropped, since the go command
    would keep a space as part of the glob (``a, b`` would never match ``b/…`` there)."""
    compile_patterns(value)
    return ",".join(g.strip() for g in value.split(",") if g.strip())


@lru_cache(maxsize=16)
def sql_regex(value: str) -> str | None:
    """One regular expression that finds, in a whole module path, whether it falls under
    a glob of ``value`` (None when there is none), in the syntax PostgreSQL's ``~`` and
    Python's ``re`` (SQLite's REGEXP, as SQLAlchemy installs it) both read: the globs'
    elements can never match a ``/``, so the first elements of a path match exactly when
    the path starts with the glob's text and ends there or goes on at a ``/``."""
    compiled = compile_patterns(value)
    if not compiled:
        return None
    return "^(?:" + "|".join(regex.pattern for _, regex in compiled) + ")(?:/|$)"


def lucene_regex(value: str) -> str | None:
    """The same test in Lucene's syntax (an Elasticsearch ``regexp`` query, matched
    against the whole term): each glob's text, then nothing or a ``/`` and anything."""
    globs = [g.strip().rstrip("/") for g in value.split(",") if g.strip().rstrip("/")]
    if not globs:
        return None
    compile_patterns(value)  # refuse what the go command would not read
    return "(" + "|".join("/".join(_element_regex(e, _lucene_escape) for e in g.split("/"))
                          for g in globs) + ")(/.*)?"


def _lucene_escape(c: str) -> str:
    """A character as a Lucene regular expression reads it literally."""
    return c if c.isalnum() else "\\" + c


@lru_cache(maxsize=16)
def parse_rules(value: str) -> tuple[tuple[str, frozenset[str]], ...]:
    """DEPOT_PATH_RULES, ``GLOB=GROUP[,GROUP…]`` rules separated by ``;``, as (glob, its
    groups) pairs. Raises PatternError naming the rule that cannot be read."""
    rules = []
    for raw in filter(None, (r.strip() for r in value.split(";"))):
        glob, sep, groups = raw.partition("=")
        glob = glob.strip().rstrip("/")
        named = frozenset(g.strip() for g in groups.split(",") if g.strip())
        if not sep or not glob or not named:
            raise PatternError(f"{raw!r}: a rule is GLOB=GROUP[,GROUP…], such as "
                               "corp.example/team-a/*=team-a")
        if "," in glob:
            raise PatternError(f"{raw!r}: one glob a rule (rules are separated by `;`)")
        compile_patterns(glob)
        rules.append((glob, named))
    return tuple(rules)

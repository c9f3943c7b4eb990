"""Module, import and file path rules (golang.org/x/mod/module semantics).

A proxy must accept exactly the paths the go command accepts: anything looser
lets clients poison the cache with names no Go tool can ask for, anything
stricter breaks real modules. The rules here follow module.CheckPath,
module.CheckImportPath, module.CheckFilePath and the proxy protocol's
case-encoding (``!`` + lower-case letter for each upper-case letter).
"""

from __future__ import annotations

import re
import unicodedata
from enum import Enum

from app.gomod._util import is_utf8, quote
from app.gomod.errors import InvalidPath, InvalidVersion, NotAProxyPath

__all__ = [
    "MAX_PATH_LEN",
    "PROXY_FILE_KINDS",
    "check_file_path",
    "check_import_path",
    "check_module_path",
    "escape_path",
    "escape_version",
    "parse_proxy_path",
    "split_path_version",
    "unescape_path",
    "unescape_version",
]

# The go command itself has no length limit for module paths. Depot caps them
# so a single request cannot create absurd cache keys or directory trees; 1024
# bytes is far above any real module path yet well under PATH_MAX (4096)
# even after case-encoding doubles every letter.
MAX_PATH_LEN = 1024

_WINDOWS_RESERVED = frozenset(
    ["CON", "PRN", "AUX", "NUL"]
    + [f"COM{i}" for i in range(1, 10)]
    + [f"LPT{i}" for i in range(1, 10)]
)

_ASCII_LETTERS_DIGITS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
_MODULE_CHARS = _ASCII_LETTERS_DIGITS | frozenset("-._~")
_IMPORT_CHARS = _MODULE_CHARS | frozenset("+")
_FILE_ASCII_CHARS = _ASCII_LETTERS_DIGITS | frozenset("!#$%&()+,-.=@[]^_{}~ ")
_FIRST_ELEM_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-.")


class _Kind(Enum):
    MODULE = "module"
    IMPORT = "import"
    FILE = "file"


def _char_ok(ch: str, kind: _Kind) -> bool:
    """Per-character whitelist for each path kind."""
    if kind is _Kind.MODULE:
        return ch in _MODULE_CHARS
    if kind is _Kind.IMPORT:
        return ch in _IMPORT_CHARS
    if ord(ch) < 0x80:
        return ch in _FILE_ASCII_CHARS
    # File names may use any Unicode letter (Go's unicode.IsLetter).
    return unicodedata.category(ch).startswith("L")


def _check_elem(elem: str, kind: _Kind) -> str | None:
    """Return why one path element is bad, or None when it is fine."""
    if elem == "":
        return "empty path element"
    if elem.count(".") == len(elem):
        return f"invalid path element {quote(elem)}"
    if elem[0] == "." and kind is _Kind.MODULE:
        return "leading dot in path element"
    if elem[-1] == ".":
        return "trailing dot in path element"
    for ch in elem:
        if not _char_ok(ch, kind):
            return f"invalid char {quote(ch)}"
    short = elem.split(".", 1)[0]
    # Only ASCII text can fold onto the (ASCII) reserved names; the two
    # non-ASCII letters that fold to ASCII (Kelvin sign, long s) fold to K and
    # S, which no reserved name contains.
    if short.isascii() and short.upper() in _WINDOWS_RESERVED:
        return f"{quote(short)} disallowed as path element component on Windows"
    if kind is _Kind.FILE:
        return None
    # "name~1" looks like a Windows 8.3 short name and could alias another path.
    tilde = short.rfind("~")
    suffix = short[tilde + 1 :] if tilde >= 0 else ""
    if suffix and suffix.isascii() and suffix.isdigit():
        return "trailing tilde and digits in path element"
    return None


def _check_path(path: str, kind: _Kind) -> str | None:
    """Rules shared by all three path kinds; returns a reason or None."""
    if not isinstance(path, str):
        return "not a string"
    if not is_utf8(path):
        return "invalid UTF-8"
    if path == "":
        return "empty string"
    if path[0] == "-" and kind is not _Kind.FILE:
        return "leading dash"
    if "//" in path:
        return "double slash"
    if path[-1] == "/":
        return "trailing slash"
    for elem in path.split("/"):
        reason = _check_elem(elem, kind)
        if reason is not None:
            return reason
    return None


def _fail(kind: _Kind, path: object, reason: str) -> InvalidPath:
    shown = quote(path) if isinstance(path, str) else repr(path)
    return InvalidPath(f"malformed {kind.value} path {shown}: {reason}")


def _module_path_reason(path: str) -> str | None:
    """Why ``path`` is not a valid module path, or None."""
    if isinstance(path, str) and len(path) > MAX_PATH_LEN:
        # Valid module paths are ASCII, so characters == bytes; check before scanning.
        return f"too long (max {MAX_PATH_LEN} bytes)"
    reason = _check_path(path, _Kind.MODULE)
    if reason is not None:
        return reason
    first = path.split("/", 1)[0]
    if "." not in first:
        return "missing dot in first path element"
    if first[0] == "-":
        return "leading dash in first path element"
    for ch in first:
        if ch not in _FIRST_ELEM_CHARS:
            return f"invalid char {quote(ch)} in first path element"
    if not _split(path)[2]:
        return "invalid version"
    return None


def check_module_path(path: str) -> None:
    """Raise InvalidPath unless ``path`` is a valid module path (module.CheckPath)."""
    reason = _module_path_reason(path)
    if reason is not None:
        raise _fail(_Kind.MODULE, path, reason)


def check_import_path(path: str) -> None:
    """Raise InvalidPath unless ``path`` is a valid package import path."""
    if isinstance(path, str) and len(path) > MAX_PATH_LEN:
        reason: str | None = f"too long (max {MAX_PATH_LEN} bytes)"
    else:
        reason = _check_path(path, _Kind.IMPORT)
    if reason is not None:
        raise _fail(_Kind.IMPORT, path, reason)


def check_file_path(path: str) -> None:
    """Raise InvalidPath unless ``path`` may name a file inside a module zip."""
    reason = _check_path(path, _Kind.FILE)
    if reason is not None:
        raise _fail(_Kind.FILE, path, reason)


def _split(path: str) -> tuple[str, str, bool]:
    """module.SplitPathVersion: (prefix, major suffix, well-formed)."""
    if path.startswith("gopkg.in/"):
        return _split_gopkg_in(path)
    i = len(path)
    dot = False
    while i > 0 and (path[i - 1].isascii() and path[i - 1].isdigit() or path[i - 1] == "."):
        if path[i - 1] == ".":
            dot = True
        i -= 1
    if i <= 1 or i == len(path) or path[i - 1] != "v" or path[i - 2] != "/":
        return path, "", True
    prefix, major = path[: i - 2], path[i - 2 :]
    if dot or len(major) <= 2 or major[2] == "0" or major == "/v1":
        return path, "", False
    return prefix, major, True


def _split_gopkg_in(path: str) -> tuple[str, str, bool]:
    """gopkg.in paths carry the major version as ``.vN`` (or ``.vN-unstable``)."""
    i = len(path)
    if path.endswith("-unstable"):
        i -= len("-unstable")
    while i > 0 and path[i - 1].isascii() and path[i - 1].isdigit():
        i -= 1
    if i <= 1 or path[i - 1] != "v" or path[i - 2] != ".":
        return path, "", False
    prefix, major = path[: i - 2], path[i - 2 :]
    if len(major) <= 2 or (major[2] == "0" and major != ".v0"):
        return path, "", False
    return prefix, major, True


def split_path_version(path: str) -> tuple[str, str]:
    """Split a module path into (prefix, major suffix).

    The suffix is ``"/vN"`` (N >= 2), ``".vN"`` / ``".vN-unstable"`` for
    gopkg.in, or ``""``. Raises InvalidPath when the suffix is malformed
    (``/v1``, ``/v0``, ``/v2.1``, ``/v02``, a gopkg.in path without ``.vN``).
    """
    if not isinstance(path, str):
        raise _fail(_Kind.MODULE, path, "not a string")
    prefix, major, ok = _split(path)
    if not ok:
        raise _fail(_Kind.MODULE, path, "invalid version")
    return prefix, major


def module_name(path: str) -> str:
    """The name people call a module by: its last element without the major version
    (``gopkg.in/yaml.v3`` and ``github.com/jackc/pgx/v5`` are ``yaml`` and ``pgx``)."""
    prefix, _major, ok = _split(path)
    return (prefix if ok and prefix else path).rsplit("/", 1)[-1]


def _escape(s: str) -> str:
    """Case-encode: each upper-case ASCII letter becomes ``!`` + its lower case."""
    if not any("A" <= ch <= "Z" for ch in s):
        return s
    return "".join("!" + ch.lower() if "A" <= ch <= "Z" else ch for ch in s)


_UPPER = re.compile("[A-Z]")


def _unescape(escaped: str) -> tuple[str | None, str]:
    """Strict inverse of _escape: (decoded, "") or (None, why it is not an encoding)."""
    if escaped.isascii() and "!" not in escaped and not _UPPER.search(escaped):
        return escaped, ""  # nothing encoded (most paths): no walk through each character
    out: list[str] = []
    bang = False
    for ch in escaped:
        if ord(ch) >= 0x80:
            return None, f"non-ASCII character {quote(ch)}"
        if bang:
            bang = False
            if not "a" <= ch <= "z":
                return None, "'!' must be followed by a lower-case letter"
            out.append(ch.upper())
            continue
        if ch == "!":
            bang = True
            continue
        if "A" <= ch <= "Z":
            return None, f"upper-case letter {quote(ch)} must be written as '!{ch.lower()}'"
        out.append(ch)
    if bang:
        return None, "trailing '!'"
    return "".join(out), ""


def escape_path(path: str) -> str:
    """Case-encode a module path for URLs and file systems (module.EscapePath)."""
    check_module_path(path)
    return _escape(path)


def unescape_path(escaped: str) -> str:
    """Decode a case-encoded module path; raise InvalidPath if not exactly valid."""
    if not isinstance(escaped, str):
        raise InvalidPath(f"invalid escaped module path {escaped!r}: not a string")
    path, why = _unescape(escaped)
    if path is None:
        raise InvalidPath(f"invalid escaped module path {quote(escaped)}: {why}")
    reason = _module_path_reason(path)
    if reason is not None:
        raise InvalidPath(f"invalid escaped module path {quote(escaped)}: {reason}")
    return path


def _version_elem_reason(v: str) -> str | None:
    if not isinstance(v, str):
        return "not a string"
    if not is_utf8(v):
        return "invalid UTF-8"
    return _check_elem(v, _Kind.FILE)


def escape_version(v: str) -> str:
    """Case-encode a version string (module.EscapeVersion).

    Like the go command, any string that is a valid file-name element without
    ``!`` is accepted: proxies are also asked about branch names and queries.
    """
    reason = _version_elem_reason(v)
    if reason is None and "!" in v:
        reason = "'!' is not allowed"
    if reason is None and not v.isascii():
        reason = "non-ASCII characters cannot be case-encoded"
    if reason is not None:
        shown = quote(v) if isinstance(v, str) else repr(v)
        raise InvalidVersion(f"version {shown} invalid: disallowed version string ({reason})")
    return _escape(v)


def unescape_version(escaped: str) -> str:
    """Decode a case-encoded version; raise InvalidVersion if not a valid encoding."""
    if not isinstance(escaped, str):
        raise InvalidVersion(f"invalid escaped version {escaped!r}: not a string")
    v, why = _unescape(escaped)
    if v is None:
        raise InvalidVersion(f"invalid escaped version {quote(escaped)}: {why}")
    reason = _version_elem_reason(v)
    if reason is not None:
        raise InvalidVersion(f"invalid escaped version {quote(escaped)}: {reason}")
    return v


# The files of one version a GOPROXY serves, by the file name's extension.
PROXY_FILE_KINDS = ("info", "mod", "zip")


def parse_proxy_path(url_path: str) -> tuple[str, str, str]:
    """(module, version, kind) of a GOPROXY URL path, decoded strictly.

    The one decoder of GOPROXY requests (Depot's routes and the bundler's private
    proxy), so no two servers of the same tree can disagree on a name. ``url_path`` is
    percent-decoded, as a WSGI server hands it on: the go command sends each ``!`` as
    ``%21``. It is ``<escaped module>/@v/list`` (kind ``list``), ``…/@latest``
    (``latest``) or ``…/@v/<escaped version>.<info|mod|zip>``, with or without one
    leading ``/``; version is ``""`` for list and latest. Raises NotAProxyPath when it
    names no GOPROXY file, InvalidPath for a bad module path, InvalidVersion for a bad
    version (checked in that order).
    """
    path = url_path.removeprefix("/")
    if path.endswith("/@latest"):
        return unescape_path(path.removesuffix("/@latest")), "", "latest"
    head, sep, name = path.rpartition("/@v/")
    if not sep or "/" in name:
        raise NotAProxyPath(f"{quote(url_path)}: not a GOPROXY path")
    module = unescape_path(head)
    if name == "list":
        return module, "", "list"
    stem, dot, kind = name.rpartition(".")
    if not dot or kind not in PROXY_FILE_KINDS:
        raise NotAProxyPath(f"{quote(name)}: not a GOPROXY file "
                            "(want <version>.info, .mod or .zip)")
    return module, unescape_version(stem), kind

"""Validation of module zip files (golang.org/x/mod/zip rules plus go's limits).

A proxy stores zips it did not create, then serves them to go commands that
will extract them. Anything the go command would refuse, and anything that
could hurt the proxy itself (zip bombs, path traversal, symlinks, names that
collide on case-insensitive file systems), is rejected here with a clear
reason. Nothing is ever extracted to disk and memory use is bounded: entries
are streamed in chunks and reading stops as soon as a size limit is crossed.

Beyond CheckZip, entries that a zip created by the go command can never hold
are also rejected (directory entries, symlinks and other non-regular files,
vendored packages, ``.hg_archival.txt``, compression methods Go cannot read):
such zips would not hash to what the checksum database recorded.
"""

from __future__ import annotations

import hashlib
import os
import posixpath
import re
import stat
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from app.gomod._util import quote
from app.gomod._zipread import entry_name_bytes as zip_entry_name_bytes
from app.gomod._zipread import iter_entry, open_zip
from app.gomod.errors import GoModError, ZipRuleError
from app.gomod.h1 import hash1_of_digests
from app.gomod.modfile import MAX_GOMOD_SIZE
from app.gomod.paths import check_file_path, check_module_path
from app.gomod.versions import canonical, check_path_version

__all__ = [
    "LICENSE_FILE_NAMES",
    "MAX_GOMOD_SIZE",
    "MAX_LICENSE_SIZE",
    "MAX_ZIP_SIZE",
    "ZipReport",
    "check_zip",
    "is_license_file",
    "is_readme_file",
    "read_file",
]

# golang.org/x/mod/zip limits.
MAX_ZIP_SIZE = 500 << 20
MAX_LICENSE_SIZE = 16 << 20

_CHUNK = 1 << 20

# Root-level license file names pkgsite's license detector looks for
# (matched case-insensitively).
LICENSE_FILE_NAMES = frozenset(
    n.lower()
    for base in ("COPYING", "COPYING.LESSER", "LICENCE", "LICENSE")
    for n in (base, base + ".md", base + ".markdown", base + ".txt")
) | frozenset(
    n.lower()
    for lic in ("LICENSE", "LICENCE")
    for n in (
        lic + "-2.0.txt",
        lic + "-APACHE",
        lic + "-APACHE-2.0.txt",
        lic + "-MIT",
        lic + ".MIT",
        lic + ".code",
        lic + ".docs",
        lic + ".rst",
        "MIT-" + lic,
        "MIT-" + lic + ".md",
        "MIT-" + lic + ".markdown",
        "MIT-" + lic + ".txt",
        "MIT_" + lic,
        "UN" + lic,
    )
)

# Preference among several root READMEs: Markdown renders best.
_README_EXT_RANK = {".md": 0, ".markdown": 1, ".mkd": 2, ".mdown": 2, "": 3, ".txt": 4, ".rst": 5}


@dataclass
class ZipReport:
    """What a valid module zip contains."""

    files: list[str] = field(default_factory=list)
    size_uncompressed: int = 0
    readme: str | None = None
    licenses: list[str] = field(default_factory=list)
    has_gomod: bool = False
    # Its "h1:" hash (h1.hash_zip), taken in the same read as the checks: decompressing
    # every entry twice was a quarter of a capture's CPU.
    h1: str = ""


def is_readme_file(name: str) -> bool:
    """pkgsite's README test: base name without extension is README (any case).

    ``README.go`` and ``README.vendor`` are source files, not documentation.
    """
    stem, ext = posixpath.splitext(posixpath.basename(name))
    return stem.lower() == "readme" and ext.lower() not in (".go", ".vendor")


def is_license_file(name: str) -> bool:
    """Whether a file's base name is one pkgsite treats as a license file."""
    return posixpath.basename(name).lower() in LICENSE_FILE_NAMES


def _pick_readme(names: list[str]) -> str | None:
    candidates = [n for n in names if "/" not in n and is_readme_file(n)]
    if not candidates:
        return None
    return min(
        candidates,
        key=lambda n: (_README_EXT_RANK.get(posixpath.splitext(n)[1].lower(), 6), n),
    )


_GO_VERSION_RE = re.compile(r"([1-9][0-9]*)\.(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))?([a-z]+[0-9]+)?")
_LAX_GO_VERSION_RE = re.compile(r"v?(([1-9][0-9]*)\.(0|[1-9][0-9]*))([^0-9].*)", re.DOTALL)


def _go_lang(gomod: bytes) -> tuple[int, int] | None:
    """The language version (major, minor) of a go.mod's ``go`` line, leniently.

    Only used to pick the vendor-directory rule (it changed in Go 1.24), so
    anything unexpected means "unknown", which selects the older rule, as the
    go command does when its lax parser fails.
    """
    found: tuple[int, int] | None = None
    for raw in gomod.decode("utf-8", "replace").splitlines():
        line = raw.split("//", 1)[0].strip()
        fields = line.split()
        if len(fields) < 1 or fields[0] != "go":
            continue
        if found is not None or len(fields) != 2:
            return None  # repeated or malformed go directive
        arg = fields[1]
        m = _GO_VERSION_RE.fullmatch(arg) or _LAX_GO_VERSION_RE.fullmatch(arg)
        if m is None:
            return None
        if m.re is _GO_VERSION_RE:
            found = (int(m.group(1)), int(m.group(2)))
        else:
            found = (int(m.group(2)), int(m.group(3)))
    return found


def _is_vendored(name: str, lang: tuple[int, int] | None) -> bool:
    """Files the go command leaves out of module zips (zip.isVendoredPackage).

    Only vendor/modules.txt (Go >= 1.24) and files in *subdirectories* of a
    vendor directory are omitted; before 1.24 the nested-vendor offset was
    computed from the start of the name, which is kept for compatibility.
    """
    new_rules = lang is not None and lang >= (1, 24)
    if new_rules and name == "vendor/modules.txt":
        return True
    if name.startswith("vendor/"):
        i = len("vendor/")
    elif (j := name.find("/vendor/")) >= 0:
        i = j + len("/vendor/") if new_rules else len("/vendor/")
    else:
        return False
    return "/" in name[i:]


class _Collisions:
    """zip.collisionChecker, with Python's casefold as the folding function.

    Every entry registers itself and all its parent directories, so a file
    that is also used as a directory, duplicates and names differing only in
    case (which would overwrite each other on Windows/macOS) are all caught.
    """

    def __init__(self) -> None:
        self._seen: dict[str, tuple[str, bool]] = {}

    def check(self, p: str, is_dir: bool) -> str | None:
        # Iterative (names can have thousands of elements); stops early at a
        # directory that was registered before, since its parents were too.
        while True:
            fold = p.casefold()
            other = self._seen.get(fold)
            if other is not None:
                other_path, other_dir = other
                if p != other_path:
                    return (
                        f"case-insensitive file name collision: {quote(other_path)} and {quote(p)}"
                    )
                if is_dir != other_dir:
                    return f"entry {quote(p)} is both a file and a directory"
                if not is_dir:
                    return f"multiple entries for file {quote(p)}"
                return None
            self._seen[fold] = (p, is_dir)
            parent = posixpath.dirname(p)
            if parent in ("", "."):
                return None
            p, is_dir = parent, True


def _entry_mode_reason(info: zipfile.ZipInfo) -> str | None:
    """Reject symlinks, directories and special files by their recorded mode."""
    mode = info.external_attr >> 16
    if mode:
        kind = stat.S_IFMT(mode)
        if kind == stat.S_IFLNK:
            return "file is a symbolic link"
        if kind == stat.S_IFDIR:
            return "directory entries are not allowed in module zips"
        if kind not in (0, stat.S_IFREG):
            return "not a regular file"
    if info.external_attr & 0x10:  # MS-DOS directory attribute
        return "directory entries are not allowed in module zips"
    return None


def _size_of(zip_file: str | Path | BinaryIO) -> int:
    if isinstance(zip_file, (str, os.PathLike)):
        return os.stat(zip_file).st_size
    pos = zip_file.tell()
    end = zip_file.seek(0, os.SEEK_END)
    zip_file.seek(pos)
    return end


def _drain(raw: BinaryIO, info: zipfile.ZipInfo, name: str, limit: int) -> Iterator[bytes]:
    """Yield an entry's content in chunks, refusing more than ``limit`` bytes.

    The declared size is checked before reading; iter_entry then guarantees
    the real content never exceeds the declared size.
    """
    if info.file_size > limit:
        raise ZipRuleError(f"{quote(name)}: file too large (max size is {limit} bytes)")
    yield from iter_entry(raw, info)


def _check_args(module_path: str, version: str) -> str:
    """Validate module path and version; return the zip's required name prefix."""
    check_module_path(module_path)
    canon = canonical(version)
    if canon != version:
        raise ZipRuleError(
            f"version {quote(version)} is not canonical (should be {quote(canon)})"
            if canon
            else f"version {quote(version)} is not a semantic version"
        )
    check_path_version(module_path, version)
    return f"{module_path}@{version}/"


def _entry_name(info: zipfile.ZipInfo) -> str:
    raw = zip_entry_name_bytes(info)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ZipRuleError(f"zip entry name {raw!r} is not valid UTF-8") from None


def _name_reason(name: str, prefix: str) -> str | None:
    """Checks on the full entry name that do not depend on other entries."""
    if "\x00" in name:
        return "NUL byte in file name"
    if "\\" in name:
        return "backslash in file name"
    if name.startswith("/") or re.match(r"[A-Za-z]:", name):
        return "absolute file path"
    if ".." in name.split("/"):
        return "'..' path element"
    if not name.startswith(prefix):
        return f"path does not have prefix {quote(prefix)}"
    return None


def check_zip(
    zip_path: str | Path | BinaryIO,
    module_path: str,
    version: str,
    max_size: int = MAX_ZIP_SIZE,
    *,
    contents: bool = True,
) -> ZipReport:
    """Validate a module zip for ``module_path@version``; return what it holds.

    ``max_size`` bounds both the zip file and the total uncompressed content.
    ``contents=False`` checks the names, types and declared sizes only, and leaves
    ``h1`` empty: for a zip a go command has verified against its checksum and
    unpacked already (its unzip refuses an entry larger than it declares), when what
    is wanted is only whether Depot's rules hold (its names, its license files).
    Raises ZipRuleError for the first problem found; InvalidPath or
    InvalidVersion if ``module_path``/``version`` themselves are unusable.
    The go.mod inside is not compared with ``module_path`` (see read_file).
    """
    prefix = _check_args(module_path, version)
    size = _size_of(zip_path)
    if size > max_size:
        raise ZipRuleError(
            f"module zip file is too large ({size} bytes; limit is {max_size} bytes)"
        )
    with open_zip(zip_path) as (zf, raw):
        entries = _check_names(zf, prefix)
        gomod_info = next((info for name, info in entries if name == "go.mod"), None)
        declared = 0
        for name, info in entries:
            if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
                raise ZipRuleError(
                    f"{quote(name)}: unsupported compression method {info.compress_type}"
                )
            if info.flag_bits & 0x1:
                raise ZipRuleError(f"{quote(name)}: encrypted zip entries are not supported")
            declared += info.file_size
            if declared > max_size:
                raise ZipRuleError(
                    "total uncompressed size of module contents too large "
                    f"(max size is {max_size} bytes)"
                )
            if name == "go.mod" and info.file_size > MAX_GOMOD_SIZE:
                raise ZipRuleError(f"go.mod file too large (max size is {MAX_GOMOD_SIZE} bytes)")
            if name == "LICENSE" and info.file_size > MAX_LICENSE_SIZE:
                raise ZipRuleError(f"LICENSE file too large (max size is {MAX_LICENSE_SIZE} bytes)")
        lang = None
        if gomod_info is not None:
            lang = _go_lang(b"".join(_drain(raw, gomod_info, "go.mod", MAX_GOMOD_SIZE)))
        for name, _ in entries:
            if _is_vendored(name, lang):
                raise ZipRuleError(
                    f"{quote(name)}: file is in vendor directory "
                    "(the go command leaves vendored packages out of module zips)"
                )
        total = 0 if contents else declared
        digests = []  # the h1 hash from this one read (names are unique by now)
        for name, info in entries if contents else ():
            content = hashlib.sha256()
            for chunk in _drain(raw, info, name, info.file_size):
                total += len(chunk)
                if total > max_size:  # cannot happen unless an entry lies; stop at once
                    raise ZipRuleError(
                        "total uncompressed size of module contents too large "
                        f"(max size is {max_size} bytes)"
                    )
                content.update(chunk)
            digests.append((zip_entry_name_bytes(info), content.hexdigest()))
        names = [name for name, _ in entries]
    return ZipReport(
        files=names,
        size_uncompressed=total,
        readme=_pick_readme(names),
        licenses=sorted(n for n in names if "/" not in n and is_license_file(n)),
        has_gomod=gomod_info is not None,
        h1=hash1_of_digests(digests) if contents else "",
    )


def _check_names(zf: zipfile.ZipFile, prefix: str) -> list[tuple[str, zipfile.ZipInfo]]:
    """Per-entry name and type rules; returns (name relative to root, info) pairs."""
    collisions = _Collisions()
    out: list[tuple[str, zipfile.ZipInfo]] = []
    for info in zf.infolist():
        full = _entry_name(info)
        reason = _name_reason(full, prefix)
        if reason is not None:
            raise ZipRuleError(f"{quote(full)}: {reason}")
        name = full[len(prefix) :]
        if name == "" or name.endswith("/") or info.is_dir():
            raise ZipRuleError(f"{quote(full)}: directory entries are not allowed in module zips")
        if posixpath.normpath(name) != name:
            raise ZipRuleError(f"{quote(full)}: file path is not clean")
        try:
            check_file_path(name)
        except GoModError as e:
            raise ZipRuleError(f"{quote(full)}: {e}") from None
        if (reason := collisions.check(name, False)) is not None:
            raise ZipRuleError(reason)
        if (reason := _entry_mode_reason(info)) is not None:
            raise ZipRuleError(f"{quote(full)}: {reason}")
        base = posixpath.basename(name)
        if base.lower() == "go.mod":
            if base != name:
                raise ZipRuleError(f"{quote(full)}: go.mod file not in module root directory")
            if name != "go.mod":
                raise ZipRuleError(f"{quote(full)}: go.mod files must have lowercase names")
        if name == ".hg_archival.txt":
            raise ZipRuleError(
                f"{quote(full)}: file is inserted by 'hg archive' and is always omitted"
            )
        out.append((name, info))
    return out


def list_files(zip_path: str | Path | BinaryIO, module_path: str, version: str
               ) -> list[tuple[str, int]]:
    """(name relative to the module root, uncompressed size) of every file in the zip,
    sorted: what a Files view lists. Entries outside ``module@version/`` are left out
    (a stored zip passed check_zip, which refuses them)."""
    prefix = f"{module_path}@{version}/".encode("utf-8", "surrogateescape")
    with open_zip(zip_path) as (zf, _raw):
        found = [
            (zip_entry_name_bytes(i)[len(prefix):].decode("utf-8", "replace"), i.file_size)
            for i in zf.infolist()
            if not i.is_dir() and zip_entry_name_bytes(i).startswith(prefix)
        ]
    return sorted(found)


def read_file(
    zip_path: str | Path | BinaryIO,
    module_path: str,
    version: str,
    name: str,
    max_size: int = MAX_GOMOD_SIZE,
) -> bytes | None:
    """Return the content of ``name`` (relative to the module root), or None if absent.

    Meant for go.mod (so callers can compare its module line with the path
    they expected) and LICENSE/README files; the cap defaults to go's go.mod
    limit. Raises ZipRuleError if the entry is larger than ``max_size``, is
    present more than once, or is corrupt.
    """
    full = f"{module_path}@{version}/{name}".encode("utf-8", "surrogateescape")
    with open_zip(zip_path) as (zf, raw):
        matches = [i for i in zf.infolist() if zip_entry_name_bytes(i) == full]
        if not matches:
            return None
        if len(matches) > 1:
            raise ZipRuleError(f"multiple entries for file {quote(name)}")
        info = matches[0]
        if info.is_dir():
            return None
        if info.file_size > max_size:
            raise ZipRuleError(f"{quote(name)}: file too large (max size is {max_size} bytes)")
        return b"".join(_drain(raw, info, name, max_size))

"""A fixture upstream (a ``file://`` GOPROXY tree) of hostile module versions.

Each case is written byte by byte: the zips are built with tests/gomod/_zips.py
so they can hold what no zip tool would write (``..`` names, lying sizes,
invalid UTF-8), and the .info/.mod/@v/list files sit beside them as a real
proxy serves them. Every case is a separate module so each ingest is alone.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tests.fixtures.upstream import LICENSE_TEXT, module_dir
from tests.gomod._zips import RawEntry, deflate, raw_zip, zero_bomb

HOSTILE_HOST = "depot.test/hostile"
VERSION = "v1.0.0"
# A name no test or tool writes: if it turns up anywhere, a zip entry escaped.
CANARY = "depot-escape-canary.txt"
BOMB_MIB = 600  # expands beyond go's 500 MiB limit
INFO = b'{"Version":"v1.0.0","Time":"2024-01-02T03:04:05Z"}\n'
SYMLINK_MODE = 0o120777 << 16
FILE_MODE = 0o100644 << 16


@dataclass(frozen=True)
class Case:
    """One hostile module version and the word Depot's reason must contain."""

    name: str
    what: str  # one line for docs/reliability.md
    expect: str  # a fragment of the reason, lower case
    mod: bytes = b""  # the .mod file; empty: the default go.mod of the case
    mod_in_zip: bool = True  # the zip's go.mod is ``mod`` too (else the default)

    @property
    def path(self) -> str:
        return f"{HOSTILE_HOST}/{self.name}"

    @property
    def prefix(self) -> bytes:
        return f"{self.path}@{VERSION}/".encode()


def gomod(path: str) -> bytes:
    return f"module {path}\n\ngo 1.21\n".encode()


def _file(name: bytes, data: bytes, **kw: int) -> RawEntry:
    return RawEntry(name, deflate(data), method=8, external_attr=FILE_MODE, create_system=3, **kw)


def _base(case: Case) -> list[RawEntry]:
    """go.mod, LICENSE and a package: what would make the module fine on its own."""
    p = case.prefix
    return [
        _file(p + b"go.mod", (case.mod_in_zip and case.mod) or gomod(case.path)),
        _file(p + b"LICENSE", LICENSE_TEXT),
        _file(p + b"x.go", b"package x\n"),
    ]


def _dotdot(c: Case) -> list[RawEntry]:
    return [*_base(c), _file(c.prefix + b"../../../../../" + CANARY.encode(), b"escaped\n")]


def _absolute(c: Case) -> list[RawEntry]:
    return [*_base(c), _file(b"/tmp/" + CANARY.encode(), b"escaped\n")]


def _symlink(c: Case) -> list[RawEntry]:
    link = RawEntry(c.prefix + b"passwd", b"../../../../../../etc/passwd",
                    external_attr=SYMLINK_MODE, create_system=3)
    return [*_base(c), link]


def _bomb(c: Case) -> list[RawEntry]:
    stream, size, crc = zero_bomb(BOMB_MIB)
    return [*_base(c), RawEntry(c.prefix + b"zeros.bin", stream, method=8, crc=crc, size=size,
                                external_attr=FILE_MODE, create_system=3)]


def _bomb_lying(c: Case) -> list[RawEntry]:
    """Declares 1 KiB, inflates to 600 MiB: only a reader that trusts nothing stops it."""
    stream, _, _ = zero_bomb(BOMB_MIB)
    return [*_base(c), RawEntry(c.prefix + b"zeros.bin", stream, method=8,
                                crc=zlib.crc32(bytes(1024)), size=1024,
                                external_attr=FILE_MODE, create_system=3)]


def _claimed(c: Case) -> list[RawEntry]:
    """Ten real bytes that claim to be 600 MiB."""
    return [*_base(c), RawEntry(c.prefix + b"big.bin", b"0123456789", crc=0, size=BOMB_MIB << 20,
                                external_attr=FILE_MODE, create_system=3)]


def _duplicate(c: Case) -> list[RawEntry]:
    return [*_base(c), _file(c.prefix + b"x.go", b"package x // again\n")]


def _casefold(c: Case) -> list[RawEntry]:
    return [*_base(c), _file(c.prefix + b"README.md", b"# a\n"),
            _file(c.prefix + b"readme.MD", b"# b\n")]


def _bad_utf8(c: Case) -> list[RawEntry]:
    return [*_base(c), _file(c.prefix + b"bad-\xff\xfe.go", b"package x\n")]


def _same(c: Case) -> list[RawEntry]:
    return _base(c)


BIG_GOMOD = (b"// " + b"a" * 1021 + b"\n") * ((16 << 10) + 1)  # 16 MiB + 1 KiB of comments

CASES: dict[str, tuple[Case, Callable[[Case], list[RawEntry]]]] = {
    c.name: (c, build)
    for c, build in [
        (Case("dotdot", "zip entry `../../../../../" + CANARY + "`", "invalid path element"),
         _dotdot),
        (Case("absolute", "zip entry `/tmp/" + CANARY + "`", "unexpected file"), _absolute),
        (Case("symlink", "zip entry `passwd` is a symlink to `/etc/passwd`", "symbolic link"),
         _symlink),
        (Case("bomb", f"600 KiB zip expanding to {BOMB_MIB} MiB of zeros (sizes declared)",
              "too large"), _bomb),
        (Case("bomblying", f"zip bomb declaring 1 KiB, inflating to {BOMB_MIB} MiB",
              "larger than declared"), _bomb_lying),
        (Case("claimed", f"10 bytes claiming to be {BOMB_MIB} MiB (> 500 MiB)", "too large"),
         _claimed),
        (Case("duplicate", "two entries `x.go`", "multiple entries"), _duplicate),
        (Case("casefold", "`README.md` and `readme.MD`", "case-insensitive"), _casefold),
        (Case("badutf8", "entry name with bytes `\\xff\\xfe`", "utf-8"), _bad_utf8),
        (Case("bigmod", "go.mod of 16 MiB + 1 KiB (in the zip and as .mod)", "too large",
              mod=gomod(f"{HOSTILE_HOST}/bigmod") + BIG_GOMOD), _same),
        (Case("bigmodfile", "a fine zip, but the .mod file is 16 MiB + 1 KiB", "too large",
              mod=gomod(f"{HOSTILE_HOST}/bigmodfile") + BIG_GOMOD, mod_in_zip=False), _same),
        (Case("otherpath", "go.mod says `module depot.test/elsewhere`", "elsewhere",
              mod=gomod("depot.test/elsewhere")), _same),
    ]
}


def write_case(root: Path, name: str) -> Case:
    """Write one hostile version (.info, .mod, .zip, list) under ``root``."""
    case, build = CASES[name]
    vdir = module_dir(root, case.path)
    vdir.mkdir(parents=True, exist_ok=True)
    (vdir / f"{VERSION}.info").write_bytes(INFO)
    (vdir / f"{VERSION}.mod").write_bytes(case.mod or gomod(case.path))
    (vdir / f"{VERSION}.zip").write_bytes(raw_zip(build(case)))
    (vdir / "list").write_bytes(f"{VERSION}\n".encode())
    (vdir.parent / "@latest").write_bytes(INFO)
    return case


def build_hostile_upstream(root: Path) -> dict[str, Case]:
    """Every hostile case under ``root``; returns them by name."""
    return {name: write_case(root, name) for name in CASES}


def describe() -> str:
    return json.dumps({n: c.what for n, (c, _) in CASES.items()}, indent=1)

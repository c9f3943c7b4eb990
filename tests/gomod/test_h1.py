"""h1 hashes must equal what the real go command computes."""

from __future__ import annotations

import base64
import hashlib
import io
import zipfile
from pathlib import Path

import pytest

from app.gomod.errors import GoModError, ZipRuleError
from app.gomod.h1 import hash1, hash_gomod, hash_zip
from app.gomod.modfile import synthesize_gomod
from app.gomod.zipcheck import check_zip


def test_hash1_by_hand() -> None:
    # The summary text is "<sha256 hex>  <name>\n" per file, sorted by name.
    a, b = b"hello\n", b"world\n"
    summary = (
        f"{hashlib.sha256(b).hexdigest()}  A.txt\n{hashlib.sha256(a).hexdigest()}  a.txt\n"
    ).encode()
    want = "h1:" + base64.b64encode(hashlib.sha256(summary).digest()).decode()
    assert hash1([("a.txt", a), ("A.txt", b)]) == want
    # Order of input does not matter; openers and bytes give the same result.
    assert hash1([("A.txt", lambda: io.BytesIO(b)), ("a.txt", a)]) == want


def test_hash1_empty_and_newline() -> None:
    empty = "h1:" + base64.b64encode(hashlib.sha256(b"").digest()).decode()
    assert hash1([]) == empty
    with pytest.raises(GoModError, match="newlines"):
        hash1([("a\nb", b"")])


def test_hash1_streams_in_chunks() -> None:
    reads: list[int] = []

    class Spy(io.BytesIO):
        def read(self, n: int | None = -1) -> bytes:
            reads.append(-1 if n is None else n)
            return super().read(n)

    data = bytes(3 << 20)
    assert hash1([("f", lambda: Spy(data))]) == hash1([("f", data)])
    assert reads and all(0 < n <= 1 << 20 for n in reads)


def test_hash_gomod_known_value() -> None:
    # Hash1 over a single file named go.mod.
    data = b"module example.com/m\n"
    line = f"{hashlib.sha256(data).hexdigest()}  go.mod\n".encode()
    assert hash_gomod(data) == "h1:" + base64.b64encode(hashlib.sha256(line).digest()).decode()


def test_hash_zip_matches_go(proxy_modules) -> None:
    assert len(proxy_modules) == 3
    for mod in proxy_modules.values():
        assert hash_zip(mod.zip_path) == mod.info["Sum"] == mod.ziphash
        # The same hash taken in the checks' one read (what a capture uses).
        assert check_zip(mod.zip_path, mod.path, mod.version).h1 == mod.info["Sum"]
        # The copy in go's module cache hashes the same, file object or path.
        with open(mod.info["Zip"], "rb") as fh:
            assert hash_zip(fh) == mod.info["Sum"]


def test_hash_gomod_matches_go(proxy_modules) -> None:
    for mod in proxy_modules.values():
        assert hash_gomod(mod.gomod) == mod.info["GoModSum"]
        assert hash_gomod(Path(mod.info["GoMod"]).read_bytes()) == mod.info["GoModSum"]


def test_synthesized_gomod_hash_matches_go(proxy_modules) -> None:
    legacy = proxy_modules["example.com/legacy"]
    assert synthesize_gomod("example.com/legacy") == legacy.gomod
    assert hash_gomod(synthesize_gomod("example.com/legacy")) == legacy.info["GoModSum"]


def test_hash_zip_of_go_created_zip(git_module) -> None:
    ziphash = git_module.zip_path.with_suffix(".ziphash").read_text().strip()
    assert hash_zip(git_module.zip_path) == git_module.info["Sum"] == ziphash
    assert check_zip(git_module.zip_path, git_module.path, git_module.version).h1 == ziphash


def test_hash_zip_equals_hash1_of_entries(tmp_path: Path) -> None:
    p = tmp_path / "m.zip"
    with zipfile.ZipFile(p, "w") as zf:
        zf.writestr("m@v1/b", b"2")
        zf.writestr("m@v1/a", b"1")
    assert hash_zip(p) == hash1([("m@v1/a", b"1"), ("m@v1/b", b"2")])


def test_hash_zip_rejects_garbage(tmp_path: Path) -> None:
    p = tmp_path / "bad.zip"
    p.write_bytes(b"this is not a zip")
    with pytest.raises(ZipRuleError):
        hash_zip(p)


def test_hash_zip_detects_corrupt_entry(tmp_path: Path) -> None:
    p = tmp_path / "m.zip"
    with zipfile.ZipFile(p, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("m@v1/a", b"hello world")
    raw = bytearray(p.read_bytes())
    i = raw.index(b"hello world")
    raw[i] ^= 0xFF
    p.write_bytes(bytes(raw))
    with pytest.raises(ZipRuleError, match="CRC"):
        hash_zip(p)

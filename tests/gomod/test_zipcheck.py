"""check_zip / read_file against valid and hostile zips."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from app.gomod import zipcheck
from app.gomod.errors import InvalidPath, InvalidVersion, ZipRuleError
from app.gomod.h1 import hash_zip
from app.gomod.zipcheck import (
    MAX_GOMOD_SIZE,
    MAX_LICENSE_SIZE,
    MAX_ZIP_SIZE,
    ZipReport,
    check_zip,
    is_license_file,
    is_readme_file,
    read_file,
)
from tests.gomod._zips import RawEntry, deflate, raw_zip, write_zip, zero_bomb

MOD = "example.com/m"
VER = "v1.0.0"
PFX = f"{MOD}@{VER}/"


def mk(tmp_path: Path, files: list[tuple[str, bytes]], **kw) -> Path:
    return write_zip(tmp_path / "m.zip", files, **kw)


def rel(files: dict[str, bytes]) -> list[tuple[str, bytes]]:
    return [(PFX + k, v) for k, v in files.items()]


def test_constants() -> None:
    assert MAX_ZIP_SIZE == 500 << 20
    assert MAX_GOMOD_SIZE == 16 << 20
    assert MAX_LICENSE_SIZE == 16 << 20


def test_valid_zip_report(tmp_path: Path) -> None:
    z = mk(
        tmp_path,
        rel(
            {
                "go.mod": b"module example.com/m\n",
                "m.go": b"package m\n",
                "README": b"plain",
                "README.md": b"# m",
                "LICENSE": b"MIT",
                "copying.txt": b"GPL",
                "sub/LICENSE": b"not root",
                "sub/README.md": b"not root",
                "vendor/x.go": b"package vendor\n",  # a package named vendor is fine
            }
        ),
    )
    rep = check_zip(z, MOD, VER)
    assert isinstance(rep, ZipReport)
    assert rep.files[0] == "go.mod" and "sub/LICENSE" in rep.files and len(rep.files) == 9
    assert rep.readme == "README.md"
    assert rep.licenses == ["LICENSE", "copying.txt"]
    assert rep.has_gomod is True
    assert rep.size_uncompressed == sum(
        len(v) for v in [b"module example.com/m\n", b"package m\n", b"plain", b"# m", b"MIT"]
    ) + len(b"GPL") + len(b"not root") * 2 + len(b"package vendor\n")


def test_names_only_reports_the_same_files_without_reading_their_contents(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """contents=False (a zip a go command verified): the same report from the names and
    declared sizes, no hash, and no entry decompressed but the go.mod."""
    files = {"go.mod": b"module example.com/m\n\ngo 1.21\n", "m.go": b"package m\n" * 50,
             "LICENSE": b"MIT", "README.md": b"# m"}
    z = mk(tmp_path, rel(files))
    full = check_zip(z, MOD, VER)
    read: list[str] = []
    real = zipcheck._drain
    monkeypatch.setattr(zipcheck, "_drain", lambda raw, info, name, limit:
                        read.append(name) or real(raw, info, name, limit))
    light = check_zip(z, MOD, VER, contents=False)
    assert read == ["go.mod"]
    assert light.h1 == "" and full.h1 == hash_zip(z)
    assert (light.files, light.licenses, light.readme, light.size_uncompressed) == \
        (full.files, full.licenses, full.readme, full.size_uncompressed)


@pytest.mark.parametrize("name", [PFX + "vendor/example.com/dep/dep.go", PFX + "../x.go",
                                  PFX + "sub/go.mod"])
def test_names_only_still_refuses_what_breaks_the_rules(tmp_path: Path, name: str) -> None:
    z = mk(tmp_path, [(PFX + "ok.go", b"package m\n"), (name, b"x")])
    with pytest.raises(ZipRuleError):
        check_zip(z, MOD, VER, contents=False)


def test_no_gomod_no_readme(tmp_path: Path) -> None:
    z = mk(tmp_path, [("example.com/m@v2.0.0+incompatible/x.go", b"package m\n")])
    rep = check_zip(z, MOD, "v2.0.0+incompatible")
    assert rep == ZipReport(["x.go"], 10, None, [], False, hash_zip(z))


def test_stored_and_file_object(tmp_path: Path) -> None:
    z = mk(tmp_path, rel({"a.go": b"package a\n"}), compression=zipfile.ZIP_STORED)
    assert check_zip(str(z), MOD, VER).files == ["a.go"]
    assert check_zip(io.BytesIO(z.read_bytes()), MOD, VER).files == ["a.go"]


def test_go_downloaded_zips_accepted(proxy_modules) -> None:
    for mod in proxy_modules.values():
        rep = check_zip(mod.zip_path, mod.path, mod.version)
        assert sorted(rep.files) == sorted(mod.files)
        assert rep.has_gomod == ("go.mod" in mod.files)
    upper = proxy_modules["example.com/Upper/v2"]
    rep = check_zip(upper.info["Zip"], upper.path, upper.version)
    assert rep.readme == "readme.txt"
    assert rep.licenses == ["COPYING", "LICENSE-MIT"]


def test_go_created_zip_accepted(git_module) -> None:
    rep = check_zip(git_module.zip_path, git_module.path, git_module.version)
    # go left out vendored packages, vendor/modules.txt, the nested module and the symlink.
    assert sorted(rep.files) == ["LICENSE", "README.md", "go.mod", "main.go", "pkg/vendor.go"]
    assert rep.readme == "README.md" and rep.licenses == ["LICENSE"] and rep.has_gomod
    gomod = read_file(git_module.zip_path, git_module.path, git_module.version, "go.mod")
    assert gomod == b"module example.com/repo.git\n\ngo 1.24\n"


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("../evil.go", "'..' path element"),
        (PFX + "../../evil.go", "'..' path element"),
        (PFX + "a/../b.go", "'..' path element"),
        ("/etc/passwd", "absolute file path"),
        ("C:/x/evil.go", "absolute file path"),
        (PFX + "a\\b.go", "backslash"),
        ("other.com/m@v1.0.0/a.go", "does not have prefix"),
        ("example.com/m@v1.0.1/a.go", "does not have prefix"),
        ("example.com/M@v1.0.0/a.go", "does not have prefix"),
        ("a.go", "does not have prefix"),
        (PFX + "a/./b.go", "not clean"),
        (PFX + "a//b.go", "not clean"),
        (PFX + "a/b.go.", "trailing dot"),
        (PFX + "a:b.go", "invalid char"),
        (PFX + "a\tb.go", "invalid char"),
        (PFX + "x/NUL.txt", "disallowed as path element component on Windows"),
        (PFX + "x/com1", "Windows"),
        (PFX + "sub/go.mod", "go.mod file not in module root directory"),
        (PFX + "GO.MOD", "go.mod files must have lowercase names"),
        (PFX + "vendor/example.com/dep/dep.go", "vendor directory"),
        (PFX + "a/vendor/dep/dep.go", "vendor directory"),
        (PFX + ".hg_archival.txt", "hg archive"),
    ],
)
def test_bad_names(tmp_path: Path, name: str, reason: str) -> None:
    z = mk(tmp_path, [(PFX + "ok.go", b"package m\n"), (name, b"x")])
    with pytest.raises(ZipRuleError, match=reason.replace("\\", "\\\\").replace(".", r"\.")):
        check_zip(z, MOD, VER)


def test_nul_byte_name(tmp_path: Path) -> None:
    # Python's zipfile truncates names at NUL; the checker must see the raw name.
    z = tmp_path / "m.zip"
    z.write_bytes(raw_zip([RawEntry((PFX + "a.go\x00.txt").encode(), b"x")]))
    with pytest.raises(ZipRuleError, match="NUL"):
        check_zip(z, MOD, VER)


def test_invalid_utf8_names(tmp_path: Path) -> None:
    z = tmp_path / "m.zip"
    z.write_bytes(raw_zip([RawEntry(PFX.encode() + b"caf\xe9.go", b"x")]))
    with pytest.raises(ZipRuleError, match="not valid UTF-8"):
        check_zip(z, MOD, VER)
    # Same bytes, but the entry claims to be UTF-8 (general purpose flag bit 11).
    z.write_bytes(raw_zip([RawEntry(PFX.encode() + b"caf\xe9.go", b"x", flags=0x800)]))
    with pytest.raises(ZipRuleError, match="UTF-8"):
        check_zip(z, MOD, VER)


def test_utf8_name_without_flag_is_read_as_go_does(tmp_path: Path) -> None:
    # Go ignores the UTF-8 flag and takes the bytes as they are.
    z = tmp_path / "m.zip"
    name = (PFX + "caf\u00e9.go").encode()
    z.write_bytes(raw_zip([RawEntry(name, b"package m\n")]))
    assert check_zip(z, MOD, VER).files == ["caf\u00e9.go"]


def test_symlink_rejected(tmp_path: Path) -> None:
    z = mk(tmp_path, rel({"a.go": b"package m\n"}), symlinks=[(PFX + "link", "/etc/passwd")])
    with pytest.raises(ZipRuleError, match="symbolic link"):
        check_zip(z, MOD, VER)


def test_special_file_rejected(tmp_path: Path) -> None:
    z = tmp_path / "m.zip"
    fifo = RawEntry((PFX + "fifo").encode(), b"", external_attr=0o010644 << 16, create_system=3)
    z.write_bytes(raw_zip([fifo]))
    with pytest.raises(ZipRuleError, match="not a regular file"):
        check_zip(z, MOD, VER)


@pytest.mark.parametrize("d", [PFX, PFX + "sub/"])
def test_directory_entries_rejected(tmp_path: Path, d: str) -> None:
    z = mk(tmp_path, rel({"sub/a.go": b"package sub\n"}), dirs=[d])
    with pytest.raises(ZipRuleError, match="directory entries"):
        check_zip(z, MOD, VER)


def test_duplicate_names(tmp_path: Path) -> None:
    z = mk(tmp_path, [(PFX + "a.go", b"1"), (PFX + "a.go", b"2")])
    with pytest.raises(ZipRuleError, match="multiple entries"):
        check_zip(z, MOD, VER)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("README", "readme"),
        ("dir/File.go", "DIR/file.go"),
        ("Stra\u00dfe.txt", "STRASSE.txt"),  # full case folding, stricter than needed
        ("\u212a.txt", "k.txt"),  # Kelvin sign folds to k
    ],
)
def test_case_fold_collisions(tmp_path: Path, a: str, b: str) -> None:
    z = mk(tmp_path, [(PFX + a, b"1"), (PFX + b, b"2")])
    with pytest.raises(ZipRuleError, match="case-insensitive file name collision"):
        check_zip(z, MOD, VER)


@pytest.mark.parametrize("order", [["a", "a/b.go"], ["a/b.go", "a"], ["x/a/b", "X/A"]])
def test_file_and_directory_with_same_name(tmp_path: Path, order: list[str]) -> None:
    z = mk(tmp_path, [(PFX + n, b"1") for n in order])
    with pytest.raises(ZipRuleError, match="both a file and a directory|collision"):
        check_zip(z, MOD, VER)


def test_deeply_nested_names(tmp_path: Path) -> None:
    deep = "/".join(["d"] * 5000)
    z = mk(tmp_path, rel({deep + "/a.go": b"1", deep + "/b.go": b"2", "d/c.go": b"3"}))
    assert len(check_zip(z, MOD, VER).files) == 3
    z = mk(tmp_path, rel({deep + "/a.go": b"1", deep.upper() + "/b.go": b"2"}))
    with pytest.raises(ZipRuleError, match="collision"):
        check_zip(z, MOD, VER)


def test_not_a_zip(tmp_path: Path) -> None:
    z = tmp_path / "m.zip"
    z.write_bytes(b"PK\x03\x04 but not really a zip")
    with pytest.raises(ZipRuleError, match="not a valid zip file"):
        check_zip(z, MOD, VER)
    z.write_bytes(b"")
    with pytest.raises(ZipRuleError, match="not a valid zip file"):
        check_zip(z, MOD, VER)


def test_truncated_zip(tmp_path: Path) -> None:
    good = mk(tmp_path, rel({"a.go": b"package m\n" * 100}))
    data = good.read_bytes()
    bad = tmp_path / "bad.zip"
    bad.write_bytes(data[: len(data) // 2])
    with pytest.raises(ZipRuleError):
        check_zip(bad, MOD, VER)


def test_corrupt_entry(tmp_path: Path) -> None:
    z = mk(tmp_path, rel({"a.go": b"package m // hello\n"}), compression=zipfile.ZIP_STORED)
    raw = bytearray(z.read_bytes())
    raw[raw.index(b"hello")] ^= 0x01
    z.write_bytes(bytes(raw))
    with pytest.raises(ZipRuleError, match="corrupt"):
        check_zip(z, MOD, VER)


def test_unsupported_compression(tmp_path: Path) -> None:
    z = mk(tmp_path, rel({"a.go": b"package m\n"}), compression=zipfile.ZIP_BZIP2)
    with pytest.raises(ZipRuleError, match="unsupported compression method 12"):
        check_zip(z, MOD, VER)


def test_encrypted_entry(tmp_path: Path) -> None:
    z = tmp_path / "m.zip"
    z.write_bytes(raw_zip([RawEntry((PFX + "a.go").encode(), b"x" * 20, flags=0x1)]))
    with pytest.raises(ZipRuleError, match="encrypted"):
        check_zip(z, MOD, VER)


def test_compressed_file_too_large(tmp_path: Path) -> None:
    z = mk(tmp_path, rel({"a.go": b"x" * 1000}), compression=zipfile.ZIP_STORED)
    with pytest.raises(ZipRuleError, match="module zip file is too large"):
        check_zip(z, MOD, VER, max_size=500)


def test_declared_total_too_large(tmp_path: Path) -> None:
    z = mk(tmp_path, rel({"a.go": b"a" * 4000, "b.go": b"b" * 4000}))
    assert z.stat().st_size < 1000
    with pytest.raises(ZipRuleError, match="total uncompressed size .* too large"):
        check_zip(z, MOD, VER, max_size=6000)
    assert check_zip(z, MOD, VER, max_size=8000).size_uncompressed == 8000


def test_zip_bomb_rejected_before_decompression(tmp_path: Path, monkeypatch) -> None:
    stream, size, crc = zero_bomb(600)
    z = tmp_path / "bomb.zip"
    z.write_bytes(raw_zip([RawEntry((PFX + "bomb.txt").encode(), stream, 8, crc, size)]))
    assert size == 600 << 20 and z.stat().st_size < 2 << 20
    opened: list[str] = []
    real_drain = zipcheck._drain

    def spy(zf, info, name, limit):
        opened.append(name)
        return real_drain(zf, info, name, limit)

    monkeypatch.setattr(zipcheck, "_drain", spy)
    with pytest.raises(ZipRuleError, match=r"total uncompressed size .*max size is 1048576"):
        check_zip(z, MOD, VER, max_size=1 << 20)
    with pytest.raises(ZipRuleError, match="total uncompressed size"):
        check_zip(z, MOD, VER)  # 600 MiB > the default 500 MiB
    assert opened == []


def test_lying_bomb_stops_at_declared_size(tmp_path: Path) -> None:
    # Header says 1 KiB, the stream inflates to 600 MiB: must stop after ~1 KiB.
    stream, _, _ = zero_bomb(600)
    z = tmp_path / "liar.zip"
    z.write_bytes(raw_zip([RawEntry((PFX + "bomb.txt").encode(), stream, 8, 0, 1024)]))
    with pytest.raises(ZipRuleError, match="corrupt|larger than declared|does not match"):
        check_zip(z, MOD, VER)


def test_understated_size_with_right_crc(tmp_path: Path) -> None:
    import zlib

    data = b"y" * 5000
    z = tmp_path / "liar.zip"
    # Declared size too small but the CRC is of the declared prefix: still caught.
    entry = RawEntry((PFX + "a.txt").encode(), deflate(data), 8, zlib.crc32(data[:100]), 100)
    z.write_bytes(raw_zip([entry]))
    with pytest.raises(ZipRuleError):
        check_zip(z, MOD, VER)


def test_running_total_guard(tmp_path: Path, monkeypatch) -> None:
    # If an entry ever produced more bytes than declared, the running total stops it.
    z = mk(tmp_path, rel({"a.go": b"a" * 1000, "b.go": b"b" * 1000}))
    chunks: list[int] = []

    def lying_drain(zf, info, name, limit):
        for _ in range(10):
            chunks.append(1)
            yield b"z" * 1000

    monkeypatch.setattr(zipcheck, "_drain", lying_drain)
    with pytest.raises(ZipRuleError, match="total uncompressed size"):
        check_zip(z, MOD, VER, max_size=2500)
    assert len(chunks) == 3  # stopped at the first chunk past the limit


def test_gomod_and_license_limits(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(zipcheck, "MAX_GOMOD_SIZE", 10)
    monkeypatch.setattr(zipcheck, "MAX_LICENSE_SIZE", 10)
    z = mk(tmp_path, rel({"go.mod": b"module example.com/m\n"}))
    with pytest.raises(ZipRuleError, match="go.mod file too large"):
        check_zip(z, MOD, VER)
    z = mk(tmp_path, rel({"LICENSE": b"x" * 11}))
    with pytest.raises(ZipRuleError, match="LICENSE file too large"):
        check_zip(z, MOD, VER)
    # Only the exact root LICENSE name is limited, like the go command.
    z = mk(tmp_path, rel({"LICENSE.txt": b"x" * 11, "a/LICENSE": b"x" * 11}))
    assert check_zip(z, MOD, VER).licenses == ["LICENSE.txt"]


def test_vendor_rules_depend_on_go_version(tmp_path: Path) -> None:
    files = {"vendor/modules.txt": b"# x\n", "vendor/a.go": b"package vendor\n"}
    old = mk(tmp_path, rel({"go.mod": b"module example.com/m\ngo 1.21\n", **files}))
    assert "vendor/modules.txt" in check_zip(old, MOD, VER).files
    new = mk(tmp_path, rel({"go.mod": b"module example.com/m\n\ngo 1.24.0 // x\n", **files}))
    with pytest.raises(ZipRuleError, match="vendor directory"):
        check_zip(new, MOD, VER)
    # Before 1.24 even files directly inside a nested vendor dir were left out.
    nested = {"go.mod": b"module example.com/m\ngo 1.20\n", "a/vendor/x.go": b"package x\n"}
    with pytest.raises(ZipRuleError, match="vendor directory"):
        check_zip(mk(tmp_path, rel(nested)), MOD, VER)
    nested["go.mod"] = b"module example.com/m\ngo 1.25rc1\n"
    assert "a/vendor/x.go" in check_zip(mk(tmp_path, rel(nested)), MOD, VER).files


def test_bad_arguments(tmp_path: Path) -> None:
    z = mk(tmp_path, rel({"a.go": b"package m\n"}))
    with pytest.raises(InvalidPath):
        check_zip(z, "notamodule", VER)
    with pytest.raises(ZipRuleError, match="not canonical"):
        check_zip(z, MOD, "v1.0")
    with pytest.raises(ZipRuleError, match="not a semantic version"):
        check_zip(z, MOD, "latest")
    with pytest.raises(InvalidVersion, match="should be v0 or v1"):
        check_zip(z, MOD, "v2.0.0")


def test_prefix_uses_unescaped_path(tmp_path: Path) -> None:
    mod, ver = "github.com/BurntSushi/toml", "v1.0.0-RC1"
    z = mk(tmp_path, [(f"{mod}@{ver}/toml.go", b"package toml\n")])
    assert check_zip(z, mod, ver).files == ["toml.go"]
    z = mk(tmp_path, [(f"github.com/!burnt!sushi/toml@{ver}/toml.go", b"package toml\n")])
    with pytest.raises(ZipRuleError, match="does not have prefix"):
        check_zip(z, mod, ver)


def test_read_file(tmp_path: Path) -> None:
    z = mk(tmp_path, rel({"go.mod": b"module example.com/other\n", "big": b"x" * 100}))
    assert read_file(z, MOD, VER, "go.mod") == b"module example.com/other\n"
    assert read_file(z, MOD, VER, "missing") is None
    assert read_file(z, MOD, VER, "big", max_size=100) == b"x" * 100
    with pytest.raises(ZipRuleError, match="too large"):
        read_file(z, MOD, VER, "big", max_size=99)
    dup = mk(tmp_path, [(PFX + "go.mod", b"a"), (PFX + "go.mod", b"b")])
    with pytest.raises(ZipRuleError, match="multiple entries"):
        read_file(dup, MOD, VER, "go.mod")


def test_read_file_lying_size(tmp_path: Path) -> None:
    stream, _, _ = zero_bomb(64)
    z = tmp_path / "liar.zip"
    z.write_bytes(raw_zip([RawEntry((PFX + "go.mod").encode(), stream, 8, 0, 10)]))
    with pytest.raises(ZipRuleError):
        read_file(z, MOD, VER, "go.mod")


@pytest.mark.parametrize(
    ("name", "want"),
    [
        ("README", True),
        ("readme.md", True),
        ("ReadMe.rst", True),
        ("README.txt", True),
        ("README.go", False),
        ("README.vendor", False),
        ("README.en.md", False),
        ("READMEs", False),
        ("sub/README.md", True),
    ],
)
def test_is_readme_file(name: str, want: bool) -> None:
    assert is_readme_file(name) is want


@pytest.mark.parametrize(
    ("name", "want"),
    [
        ("LICENSE", True),
        ("license", True),
        ("LICENCE.md", True),
        ("COPYING.txt", True),
        ("COPYING.LESSER", True),  # go-ethereum's LGPL-3.0, as pkg.go.dev reads it
        ("UNLICENSE", True),
        ("LICENSE-MIT", True),
        ("MIT-LICENSE.txt", True),
        ("LICENSE-APACHE-2.0.txt", True),
        ("LICENSE.go", False),
        ("NOTICE", False),
        ("LICENSES", False),
    ],
)
def test_is_license_file(name: str, want: bool) -> None:
    assert is_license_file(name) is want


def test_readme_preference(tmp_path: Path) -> None:
    z = mk(tmp_path, rel({"README.rst": b"r", "readme": b"p", "README.txt": b"t"}))
    assert check_zip(z, MOD, VER).readme == "readme"
    z = mk(tmp_path, rel({"README.rst": b"r", "README.markdown": b"m"}))
    assert check_zip(z, MOD, VER).readme == "README.markdown"

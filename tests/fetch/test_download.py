"""What a go command left in a module cache, as the loads ahead read it while they poll."""

from __future__ import annotations

from pathlib import Path

from app.fetch.download import cached_files, cached_go_mods


def _file(root: Path, relative: str) -> None:
    path = root / "cache" / "download" / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("x")


def test_every_file_of_a_kind_by_module_and_version_nested_modules_and_escapes_too(
    tmp_path: Path,
) -> None:
    for relative in ("example.com/a/@v/v1.0.0.mod", "example.com/a/@v/v1.0.0.zip",
                     "example.com/a/@v/list", "example.com/a/b/@v/v0.1.0.mod",
                     "github.com/!big!corp/x/@v/v2.0.0+incompatible.mod",
                     "example.com/c/@v/v1.0.0-!r!c1.mod",
                     "sumdb/sum.golang.org/lookup/example.com/a@v1.0.0",
                     "sumdb/example.com/z/@v/v9.9.9.mod"):  # the checksum database's
        _file(tmp_path, relative)
    download = tmp_path / "cache" / "download"
    assert cached_go_mods(tmp_path) == {
        ("example.com/a", "v1.0.0"): download / "example.com/a/@v/v1.0.0.mod",
        ("example.com/a/b", "v0.1.0"): download / "example.com/a/b/@v/v0.1.0.mod",
        ("github.com/BigCorp/x", "v2.0.0+incompatible"):
            download / "github.com/!big!corp/x/@v/v2.0.0+incompatible.mod",
        ("example.com/c", "v1.0.0-RC1"): download / "example.com/c/@v/v1.0.0-!r!c1.mod",
    }
    assert set(cached_files(tmp_path, ".zip")) == {("example.com/a", "v1.0.0")}
    assert cached_files(tmp_path / "none", ".mod") == {}

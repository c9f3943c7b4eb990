"""Reading single files from stored zips, with caps, through the real filesystem store."""

from __future__ import annotations

from pathlib import Path

from app.content.files import read_gomod, read_zip_text
from app.store import FilesystemStore
from tests.fixtures.upstream import FixtureModule, module_files

MODULE, VERSION = "depot.test/files", "v1.0.0"


def stored(tmp_path: Path) -> FilesystemStore:
    store = FilesystemStore(tmp_path / "store")
    files = module_files(MODULE, VERSION) | {"README.md": b"# Big\n\n" + b"x" * 5000}
    mod = FixtureModule(MODULE, VERSION, files)
    store.put_bytes(MODULE, VERSION, "zip", mod.zip_bytes())
    store.put_bytes(MODULE, VERSION, "mod", mod.go_mod)
    return store


def test_reads_a_root_file_as_text(tmp_path: Path):
    found = read_zip_text(stored(tmp_path), MODULE, VERSION, "LICENSE", 1 << 20)
    assert found.text is not None and found.text.startswith("MIT License")


def test_a_file_over_the_cap_is_not_read_and_says_why(tmp_path: Path):
    found = read_zip_text(stored(tmp_path), MODULE, VERSION, "README.md", 1024)
    assert found.text is None and "larger than 1 KiB" in found.note


def test_missing_files_and_zips_are_notes_not_errors(tmp_path: Path):
    store = stored(tmp_path)
    assert "not in the module zip" in read_zip_text(store, MODULE, VERSION, "NOPE", 10).note
    assert "not in the store" in read_zip_text(store, MODULE, "v9.0.0", "LICENSE", 10).note
    assert read_gomod(store, MODULE, VERSION).text == f"module {MODULE}\n\ngo 1.21\n"
    assert read_gomod(store, MODULE, "v9.0.0").text is None

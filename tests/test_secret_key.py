"""The secret key kept in the data dir: made once, the same for every process."""

from __future__ import annotations

import stat
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from app.secret_key import FILE_NAME, load_or_create


def test_made_once_private_and_reused(tmp_path: Path):
    first = load_or_create(tmp_path / "data")
    assert len(first) == 64
    assert load_or_create(tmp_path / "data") == first
    mode = (tmp_path / "data" / FILE_NAME).stat().st_mode
    assert stat.S_IMODE(mode) == 0o600


def test_processes_starting_together_agree(tmp_path: Path):
    with ProcessPoolExecutor(4) as pool:
        keys = set(pool.map(load_or_create, [tmp_path] * 8))
    assert len(keys) == 1

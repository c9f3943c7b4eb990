"""Single-flight locks: a file lock per host, a database lock across hosts (PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.db import make_engine
from app.locks import LockTimeout, database_lock, flight_lock, key_lock


def test_file_lock_excludes_a_second_holder(tmp_path: Path) -> None:
    with key_lock(tmp_path, "k"):
        with pytest.raises(LockTimeout), key_lock(tmp_path, "k", timeout=0.2):
            pass
        with key_lock(tmp_path, "other", timeout=0.2):
            pass
    with key_lock(tmp_path, "k", timeout=0.2):
        pass


def test_database_lock_excludes_other_hosts(database_url: str, db_backend: str,
                                            tmp_path: Path) -> None:
    """Two engines (two pods) with lock folders of their own still exclude each other."""
    pod1, pod2 = make_engine(database_url), make_engine(database_url)
    for folder in ("pod1", "pod2"):
        (tmp_path / folder).mkdir()
    try:
        with flight_lock(tmp_path / "pod1", pod1, "ingest:m@v1"):
            if db_backend == "postgresql":
                with pytest.raises(LockTimeout):
                    with flight_lock(tmp_path / "pod2", pod2, "ingest:m@v1", timeout=0.3):
                        pass
            with database_lock(pod2, "ingest:m@v2", timeout=0.3):
                pass  # another key is free
        with flight_lock(tmp_path / "pod2", pod2, "ingest:m@v1", timeout=0.3):
            pass  # released with the holder's block
    finally:
        pod1.dispose()
        pod2.dispose()

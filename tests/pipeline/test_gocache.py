"""The validator's build cache kept under DEPOT_GOCACHE_MAX by the real go command's
`go clean -cache` (issue 19: it grew without bound)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from redis import Redis

from app.config import Settings
from app.pipeline.gocache import build_cache, size_of, trim


def _fill(folder: Path, entries: int, size: int) -> None:
    """Entries laid out as the go command's cache lays them out: two-hex-digit folders
    of "<hash>-a"/"<hash>-d" files (what `go clean -cache` removes)."""
    for n in range(entries):
        sub = folder / f"{n % 256:02x}"
        sub.mkdir(parents=True, exist_ok=True)
        (sub / f"{n:064x}-d").write_bytes(b"x" * size)
    (folder / "README").write_text("This directory holds cached build artifacts from Go.\n")


def test_a_cache_over_its_cap_is_emptied_by_go_clean(settings: Settings) -> None:
    capped = replace(settings, gocache_max=100_000)
    folder = build_cache(capped)
    _fill(folder, 300, 1000)  # 300 kB, three times the cap
    assert size_of(folder) > capped.gocache_max
    done = trim(capped)
    assert done is not None and done.before > capped.gocache_max
    assert done.after < 1000 and size_of(folder) == done.after
    assert not list(folder.glob("[0-9a-f][0-9a-f]/*-d"))


def test_a_cache_within_its_cap_or_without_one_is_left_alone(settings: Settings) -> None:
    folder = build_cache(settings)
    _fill(folder, 10, 1000)
    held = size_of(folder)
    assert trim(replace(settings, gocache_max=held + 1)) is None
    assert trim(replace(settings, gocache_max=0)) is None
    assert size_of(folder) == held


def test_one_worker_of_all_looks_per_round(settings: Settings, redis_url: str,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    from jobs import pipeline as job_pipeline
    from jobs.worker import GOCACHE_LOCK, trim_build_cache
    from tests.conftest import settings_env

    capped = replace(settings, gocache_max=100_000)
    for name, value in settings_env(capped).items():
        monkeypatch.setenv(name, value)
    job_pipeline.forget_worker_services()
    connection = Redis.from_url(redis_url)
    connection.delete(GOCACHE_LOCK)
    _fill(build_cache(capped), 300, 1000)
    try:
        assert trim_build_cache(connection) is True  # over the cap: emptied
        _fill(build_cache(capped), 300, 1000)
        assert trim_build_cache(connection) is False  # the next look is not due yet
        assert size_of(build_cache(capped)) > capped.gocache_max
    finally:
        connection.delete(GOCACHE_LOCK)
        job_pipeline.forget_worker_services()

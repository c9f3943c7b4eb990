"""classify/scrub: reasons name the problem, not the worker's private folders."""

from __future__ import annotations

from pathlib import Path

from app.fetch.errors import InvalidModule, TransientFetchError, classify, scrub

WORK = Path("/srv/depot/data/process-abc123")


def test_unzip_prefix_and_work_paths_are_dropped() -> None:
    msg = (f"unzip {WORK}/modcache/cache/download/a.test/m/@v/v1.0.0.zip: "
           'a.test/m@v1.0.0/x.go: multiple entries for file "x.go"')
    error = classify(msg, WORK)
    assert isinstance(error, InvalidModule)  # still matched on the go command's own words
    assert error.reason == 'a.test/m@v1.0.0/x.go: multiple entries for file "x.go"'
    assert str(WORK) not in scrub(f"open {WORK}/modcache/x.mod: denied", WORK)
    assert scrub(f"open {WORK}/modcache/x.mod: denied", WORK) == "open x.mod: denied"


def test_without_workdir_nothing_changes() -> None:
    assert scrub("unzip /a/b.zip: bad", None) == "unzip /a/b.zip: bad"


def test_unexpected_file_is_permanent() -> None:
    error = classify("zip for a.test/m@v1.0.0 has unexpected file /tmp/x.txt")
    assert isinstance(error, InvalidModule) and error.permanent


def test_unexplained_eof_stays_transient() -> None:
    assert isinstance(classify("unexpected EOF"), TransientFetchError)

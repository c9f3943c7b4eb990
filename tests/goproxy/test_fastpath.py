"""The fast path's pieces that need no server: the remembered path decoder and the
body of a published file (app/goproxy/fastpath.py)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from app.gomod import paths
from app.goproxy.fastpath import CHUNK, WHOLE, SmallFiles, file_body, served_file


@pytest.mark.parametrize("url_path", [
    "/github.com/spf13/cobra/@v/v1.8.1.info",
    "/github.com/!burnt!sushi/toml/@v/v1.3.2.mod",
    "/golang.org/x/text/@v/v0.21.0.zip",
    "/example.com/m/@v/v0.0.0-20240101000000-abcdefabcdef.zip",
])
def test_a_file_path_decodes_as_the_routes_decode_it(url_path: str) -> None:
    assert served_file(url_path) == paths.parse_proxy_path(url_path)
    assert served_file(url_path) is served_file(url_path)  # remembered


@pytest.mark.parametrize("url_path", [
    "/github.com/spf13/cobra/@v/list", "/github.com/spf13/cobra/@latest",
    "/github.com/spf13/cobra/@v/v1.8.info",  # not canonical: Flask's 404 says why
    "/github.com/Spf13/cobra/@v/v1.8.1.info",  # upper case unescaped: a 400 there
    "/github.com/spf13/cobra/@v/v1.8.1.txt", "/", "", "/api/v1/requests",
])
def test_anything_else_is_left_to_flask(url_path: str) -> None:
    assert served_file(url_path) is None


def _bytes(body: object) -> bytes:
    try:
        return b"".join(body)  # type: ignore[arg-type]
    finally:
        close = getattr(body, "close", None)
        if close is not None:
            close()


def test_a_small_file_goes_out_whole_and_a_large_one_in_large_chunks(tmp_path: Path) -> None:
    small, large = tmp_path / "small.zip", tmp_path / "large.zip"
    small.write_bytes(os.urandom(32 * 1024))
    large.write_bytes(os.urandom(WHOLE * 2 + 5))
    body = file_body(small, 32 * 1024, {})
    assert isinstance(body, list) and _bytes(body) == small.read_bytes()
    chunks = list(file_body(large, WHOLE * 2 + 5, {}))
    assert {len(c) for c in chunks[:-1]} == {CHUNK} and len(chunks[-1]) <= CHUNK
    assert b"".join(chunks) == large.read_bytes()


def test_a_server_with_sendfile_gets_the_file_itself(tmp_path: Path) -> None:
    """gunicorn's wsgi.file_wrapper (its sendfile) is used where it is offered."""
    path = tmp_path / "x.zip"
    path.write_bytes(b"zip bytes")

    class Wrapper:
        def __init__(self, stream: object, size: int) -> None:
            self.stream, self.size = stream, size

    body = file_body(path, 9, {"wsgi.file_wrapper": Wrapper})
    assert isinstance(body, Wrapper) and body.stream.read() == b"zip bytes"  # type: ignore[attr-defined]
    body.stream.close()  # type: ignore[attr-defined]


def test_an_abandoned_large_body_closes_its_file(tmp_path: Path) -> None:
    path = tmp_path / "large.zip"
    path.write_bytes(b"x" * (WHOLE + 1))
    before = len(os.listdir("/proc/self/fd"))
    body = iter(file_body(path, WHOLE + 1, {}))
    next(body)  # the client went away after the first chunk: the server closes the body
    body.close()  # type: ignore[attr-defined]
    assert len(os.listdir("/proc/self/fd")) == before


def test_small_files_are_read_once_and_kept_within_a_budget(tmp_path: Path) -> None:
    kept = SmallFiles(budget=100, largest=40)
    files = []
    for n in range(4):
        path = tmp_path / f"{n}.zip"
        path.write_bytes(bytes([n]) * 40)
        files.append(path)
    assert kept.get(files[0], 40) == bytes([0]) * 40
    files[0].write_bytes(b"changed on disk")  # published bytes never change: not re-read
    assert kept.get(files[0], 40) == bytes([0]) * 40
    kept.get(files[1], 40)
    kept.get(files[0], 40)  # recently served again: files[1] is now the oldest
    kept.get(files[2], 40)  # 120 bytes > 100: the oldest leaves
    for n in (0, 1, 2):
        files[n].write_bytes(b"read again" + bytes(30))
    assert kept.get(files[0], 40) == bytes([0]) * 40  # kept
    assert kept.get(files[2], 40) == bytes([2]) * 40  # kept
    assert kept.get(files[1], 40) == b"read again" + bytes(30)  # it had left
    big = tmp_path / "big.zip"
    big.write_bytes(b"x" * 41)
    assert kept.get(big, 41) is None

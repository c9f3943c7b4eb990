"""The go command's view of an S3 store: a read-through GOPROXY on 127.0.0.1.

The pipeline hands the toolchain ``store.goproxy_url()`` (the processor puts it
before the upstream, the validator uses it alone). An object store has no tree
the go command could read as ``file://``, and which files a consumer build will
ask for (every go.mod of the module graph, not only the build list) is only
known while it runs. So the go command asks this small HTTP server in the same
process, which answers from a local mirror tree and fills it from the store on
a miss: .info/.mod/.zip never change, so a copy, written whole to a temporary
name and renamed into place, is good forever; ``@v/list`` (the one mutable
file) is always read from the store. A key the store does not hold is a 404,
so the go command goes on to its next GOPROXY entry.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import BinaryIO, Protocol
from urllib.parse import unquote, urlsplit

from app.store.base import CHUNK, ArtifactMissing, StoreError

log = logging.getLogger("depot.store.mirror")

_TYPES = {"info": "application/json", "mod": "text/plain; charset=utf-8",
          "zip": "application/zip"}
_KEY = re.compile(r"^[^/].*/@v/(list|[^/]+\.(info|mod|zip))$")


class KeyReader(Protocol):
    def open_key(self, key: str) -> BinaryIO:
        """A binary stream of the key's object; raises ArtifactMissing."""


def tree_key(raw_path: str) -> str | None:
    """The store key a GOPROXY request names, or None when it names no file of the tree."""
    key = unquote(urlsplit(raw_path).path).lstrip("/")
    if not _KEY.match(key) or any(part in ("", ".", "..") for part in key.split("/")):
        return None
    return key


class Mirror:
    """One server per store and process (a forked worker starts its own)."""

    def __init__(self, store: KeyReader, root: Path) -> None:
        self.store = store
        self.root = root
        self.tmp = root / ".tmp"
        self.tmp.mkdir(parents=True, exist_ok=True)
        self.pid = os.getpid()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True,
                                       name="depot-s3-mirror")
        self.thread.start()

    def alive(self) -> bool:
        return self.pid == os.getpid() and self.thread.is_alive()

    def stop(self) -> None:
        if self.alive():
            self.server.shutdown()
        self.server.server_close()

    def local_copy(self, key: str) -> Path:
        """The mirror's file of an immutable key, fetched from the store when new."""
        final = self.root / key
        if final.exists():
            return final
        tmp = self.tmp / uuid.uuid4().hex
        try:
            with self.store.open_key(key) as body, open(tmp, "xb") as out:
                shutil.copyfileobj(body, out, CHUNK)
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp, final)  # the same bytes whoever wins: the key is immutable
        finally:
            tmp.unlink(missing_ok=True)
        return final

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        mirror = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                key = tree_key(self.path)
                if key is None:
                    self._text(404, "not a file of the GOPROXY tree")
                    return
                try:
                    if key.endswith("/@v/list"):
                        with mirror.store.open_key(key) as body:
                            self._send(200, body.read(), "text/plain; charset=utf-8")
                        return
                    path = mirror.local_copy(key)
                except ArtifactMissing:
                    self._text(404, f"{key}: not in the store")
                    return
                except (StoreError, OSError) as exc:
                    log.error("mirror: %s: %s", key, exc)
                    self._text(502, f"{key}: the object store failed: {exc}")
                    return
                self.send_response(200)
                self.send_header("Content-Type", _TYPES[key.rsplit(".", 1)[1]])
                self.send_header("Content-Length", str(path.stat().st_size))
                self.end_headers()
                with open(path, "rb") as fh:
                    shutil.copyfileobj(fh, self.wfile, CHUNK)

            def _text(self, status: int, message: str) -> None:
                self._send(status, (message + "\n").encode())

            def _send(self, status: int, body: bytes,
                      content_type: str = "text/plain; charset=utf-8") -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                log.debug("mirror: " + format, *args)

        return Handler

"""Download counts from the zips nginx served itself (the sidecar's zip log).

The sidecar writes one line per zip it sent from the store without asking
Depot (``<status> <method> <uri>``). One process at a time, under a file
lock, reads what was appended since the last read and adds it to the modules'
download counts, as PyPI counts downloads from its CDN's logs. The read
position (inode and offset) survives restarts; a rotated log starts over.

Each host (each pod of the chart, whose sidecar writes a log of its own) keeps
its own position, even when the data folder holding it is shared.
"""

from __future__ import annotations

import json
import logging
import os
import socket
from collections import Counter
from pathlib import Path

from app.gomod import paths
from app.gomod.errors import GoModError
from app.locks import key_lock

log = logging.getLogger("depot.downloads")

MAX_READ = 8 << 20  # bytes read at most per pass; the rest waits for the next


def parse_line(line: str) -> str | None:
    """The module of a counted download, or None for a line that is not one."""
    parts = line.split(" ", 2)
    if len(parts) != 3 or parts[1] != "GET" or parts[0] not in ("200", "206"):
        return None
    uri = parts[2].strip()
    if not uri.endswith(".zip") or "/@v/" not in uri:
        return None
    try:
        return paths.unescape_path(uri[1:].rsplit("/@v/", 1)[0])
    except GoModError:
        return None


class ZipLog:
    def __init__(self, path: Path, state_dir: Path, host: str | None = None) -> None:
        self.path = path
        self.host = host or socket.gethostname()
        self.state = state_dir / f"ziplog-{self.host}.json"
        self.lock_dir = state_dir

    def read_new(self) -> Counter[str]:
        """Downloads per module appended since the last call (by any process)."""
        counts: Counter[str] = Counter()
        with key_lock(self.lock_dir, f"ziplog-{self.host}"):
            try:
                stat = os.stat(self.path)
            except FileNotFoundError:
                return counts
            inode, offset = self._position()
            if inode != stat.st_ino or offset > stat.st_size:
                offset = 0  # a new (rotated) log
            with open(self.path, "rb") as fh:
                fh.seek(offset)
                data = fh.read(MAX_READ)
            end = data.rfind(b"\n") + 1  # a line still being written waits
            for line in data[:end].decode("utf-8", "replace").splitlines():
                module = parse_line(line)
                if module is not None:
                    counts[module] += 1
            self._save(stat.st_ino, offset + end)
        return counts

    def _position(self) -> tuple[int, int]:
        try:
            saved = json.loads(self.state.read_text())
            return int(saved["inode"]), int(saved["offset"])
        except (FileNotFoundError, ValueError, KeyError, TypeError):
            return -1, 0

    def _save(self, inode: int, offset: int) -> None:
        tmp = self.state.with_suffix(".tmp")
        tmp.write_text(json.dumps({"inode": inode, "offset": offset}))
        tmp.replace(self.state)

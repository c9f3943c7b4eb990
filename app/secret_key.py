"""The Flask secret key when none is configured: made once, kept in the data dir.

Sessions (and the request form's CSRF token in them) are signed with it, so
every process of one instance must agree on it: a key random per process would
make gunicorn's workers refuse each other's cookies.
"""

from __future__ import annotations

import os
import secrets
import time
from pathlib import Path

FILE_NAME = "secret_key"


def load_or_create(data_dir: Path) -> str:
    """The key stored in ``data_dir``, written on first use (the first writer wins)."""
    path = data_dir / FILE_NAME
    data_dir.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        for _ in range(50):  # another process may be between its create and its write
            key = path.read_text().strip()
            if key:
                return key
            time.sleep(0.02)
        raise RuntimeError(f"{path} is empty: remove it or set DEPOT_SECRET_KEY") from None
    key = secrets.token_hex(32)
    with os.fdopen(fd, "w") as out:
        out.write(key + "\n")
    return key

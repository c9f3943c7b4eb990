"""What is running: Depot's version, the source revision, the toolchain and settings."""

from __future__ import annotations

import platform
import subprocess
from functools import lru_cache

from app.config import REPO_ROOT, Settings, depot_version, toolchain_default


@lru_cache(maxsize=1)
def revision(configured: str) -> str:
    """DEPOT_REVISION (set when the image is built), else the checkout's commit."""
    if configured:
        return configured
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, capture_output=True,
                             text=True, timeout=5, check=True)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return out.stdout.strip() or "unknown"


@lru_cache(maxsize=4)
def go_version(go_bin: str) -> str:
    try:
        return toolchain_default(go_bin, "GOVERSION") or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def describe(settings: Settings) -> dict[str, object]:
    return {
        "name": "depot",
        "version": depot_version(),
        "revision": revision(settings.revision),
        "python": platform.python_version(),
        "go": go_version(settings.go_bin),
        "settings": settings.summary(),
    }

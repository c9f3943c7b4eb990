"""The validator's Go build cache (``DEPOT_DATA_DIR/gocache``), kept under a size cap.

Why: every validation shares one build cache (a module's packages loaded once serve the
next version), and the go command never trims it by size: it only drops entries unused
for five days, so a busy Depot's cache grew without bound. When it passes
``DEPOT_GOCACHE_MAX`` bytes, `go clean -cache` empties it; a validation running at that
moment only loses what it had cached (the go command's cache takes concurrent removal),
and the cache fills again with what is in use.
"""

from __future__ import annotations

import logging
import subprocess
from dataclasses import dataclass
from pathlib import Path

from app.config import Settings
from app.gomod.modfile import go_env
from app.workdirs import size_of

log = logging.getLogger("depot.gocache")

# Seconds between two looks at the cache's size (walking it costs a moment per
# hundred thousand files); one worker of all looks (jobs/worker.py).
CHECK_EVERY = 600


def build_cache(settings: Settings) -> Path:
    return settings.data_dir / "gocache"


@dataclass(frozen=True)
class Trimmed:
    before: int
    after: int


def trim(settings: Settings) -> Trimmed | None:
    """Empty the build cache with `go clean -cache` when it is over its cap; what it
    held before and after, or None when it was within the cap (or there is no cap)."""
    cap = settings.gocache_max
    folder = build_cache(settings)
    if cap <= 0 or not folder.is_dir():
        return None
    before = size_of(folder)
    if before <= cap:
        return None
    env = go_env(GOCACHE=str(folder))
    done = subprocess.run([settings.go_bin, "clean", "-cache"], env=env,
                          capture_output=True, text=True, timeout=600, check=False)
    if done.returncode != 0:
        log.warning("go clean -cache of the build cache failed: %s",
                    done.stderr.strip()[:300])
    after = size_of(folder)
    log.info("the build cache held %s bytes, over DEPOT_GOCACHE_MAX (%s): emptied to %s",
             f"{before:,}", f"{cap:,}", f"{after:,}")
    return Trimmed(before, after)

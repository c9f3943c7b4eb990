"""The resources every entry point needs: settings, database and store, made once.

create_app() attaches one to the Flask app; commands and jobs build their own
from the environment, so nothing creates the app at import time.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Self

from flask import current_app

from app.catalog.aggregates import Aggregates
from app.config import Settings
from app.db import Database
from app.pkgdoc.kept import DocTools
from app.store import ArtifactStore, open_store


def store_of(settings: Settings) -> ArtifactStore:
    """The configured store; an s3:// one keeps its local scratch in the data dir."""
    if not settings.store_url.startswith("s3://"):
        return open_store(settings.store_url)
    from app.store.s3 import S3Options

    options = S3Options(endpoint=settings.s3_endpoint, region=settings.s3_region)
    return open_store(settings.store_url, s3=options, cache_dir=settings.data_dir / "s3")


@dataclass
class Services:
    settings: Settings
    db: Database
    store: ArtifactStore

    @classmethod
    def from_settings(cls, settings: Settings) -> Self:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        settings.register_secrets()
        return cls(settings, Database(settings.database_url), store_of(settings))

    @cached_property
    def aggregates(self) -> Aggregates:
        """The catalogue's aggregates, one copy per process for every reader."""
        return Aggregates(self.db, self.settings.catalog_refresh)

    @property
    def work_dir(self) -> Path:
        """Scratch space for toolchain runs, on the data dir's filesystem (zips are big)."""
        path = self.settings.data_dir / "work"
        path.mkdir(parents=True, exist_ok=True)
        return path

    @property
    def doc_tools(self) -> DocTools:
        """What documenting a version (app/pkgdoc) runs with: the pinned toolchain builds
        the helper into the tools folder (locked there: it may be shared)."""
        tools = self.settings.tools_dir
        return DocTools(self.settings.go_bin, tools, tools / "gocache", tools, self.work_dir)

    @property
    def lock_dir(self) -> Path:
        path = self.settings.data_dir / "locks"
        path.mkdir(parents=True, exist_ok=True)
        return path


def current_services() -> Services:
    """The running application's resources, for commands that live beside the code they
    drive (app/notify/cli.py, app/drift/cli.py) rather than among the views."""
    return current_app.extensions["depot"]

"""What the end-to-end tests on the real ecosystem share."""

from __future__ import annotations

from dataclasses import replace

import pytest

from app.config import Settings, toolchain_default


@pytest.fixture
def real_settings(settings: Settings) -> Settings:
    """The toolchain's own defaults: public proxy and checksum database."""
    return replace(
        settings,
        upstream=toolchain_default(settings.go_bin, "GOPROXY"),
        gosumdb=toolchain_default(settings.go_bin, "GOSUMDB"),
    )

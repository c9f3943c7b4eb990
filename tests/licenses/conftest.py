"""The labeled real license files of tests/data/licenses, loaded once."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[1] / "data" / "licenses"


@dataclass(frozen=True)
class Sample:
    name: str
    data: bytes
    spdx: list[str]
    source: str
    registry: str
    path: str
    sha256: str


def load_samples() -> list[Sample]:
    files = json.loads((DATA / "labels.json").read_text())["files"]
    return [
        Sample(
            name=name,
            data=(DATA / name).read_bytes(),
            spdx=entry["spdx"],
            source=entry["source"],
            registry=entry["registry"],
            path=entry["path"],
            sha256=entry["sha256"],
        )
        for name, entry in sorted(files.items())
    ]


SAMPLES = load_samples()


@pytest.fixture(scope="session")
def samples() -> dict[str, Sample]:
    return {s.name: s for s in SAMPLES}

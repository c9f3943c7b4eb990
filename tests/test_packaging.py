"""pyproject.toml's build backend, which the Makefile's development install relies on."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_the_build_backend_is_the_setuptools_that_requirements_txt_pins() -> None:
    # `pip install --no-build-isolation -e .` builds with the venv's setuptools, the one
    # requirements.txt installs: [build-system] must name that very version.
    build = tomllib.loads((REPO / "pyproject.toml").read_text())["build-system"]
    pinned = re.findall(r"^setuptools==\S+$", (REPO / "requirements.txt").read_text(), re.M)
    assert build["build-backend"] == "setuptools.build_meta"
    assert build["requires"] == pinned


def test_every_folder_of_python_code_in_app_and_jobs_is_a_package() -> None:
    # The package finder lists regular packages only (namespaces = false).
    for top in ("app", "jobs"):
        for folder in [REPO / top, *(REPO / top).rglob("*")]:
            if folder.is_dir() and any(folder.glob("*.py")):
                assert (folder / "__init__.py").is_file(), folder

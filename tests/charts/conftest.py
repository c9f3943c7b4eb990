"""The chart rendered by a real, pinned helm (scripts/helm), once per environment and
session, so that every check reads the same manifests a cluster would get."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "charts" / "depot"
HELM = REPO / "scripts" / "helm"
RELEASE = "acme"
NAMESPACE = "depot-ns"
FULLNAME = f"{RELEASE}-depot"
# The Kubernetes version helm renders for; the schemas are checked for each in
# test_chart.KUBE_VERSIONS.
RENDER_KUBE_VERSION = "1.30.0"

# name -> values files (none: the chart's values.yaml alone)
ENVIRONMENTS: dict[str, list[Path]] = {
    "default": [],
    "dev": [CHART / "values-dev.yaml"],
    "staging": [CHART / "values-staging.yaml"],
    "prod": [CHART / "values-prod.yaml"],
    "all": [Path(__file__).parent / "values-all.yaml"],
}


@dataclass(frozen=True)
class Manifests:
    """The objects one `helm template` printed, with look-ups the checks share."""

    docs: list[dict[str, Any]]

    def kind(self, kind: str) -> list[dict[str, Any]]:
        return [d for d in self.docs if d["kind"] == kind]

    def get(self, kind: str, name: str) -> dict[str, Any]:
        found = [d for d in self.kind(kind) if d["metadata"]["name"] == name]
        assert len(found) == 1, f"expected one {kind} {name}, found {len(found)}"
        return found[0]

    def workloads(self) -> list[dict[str, Any]]:
        return [d for d in self.docs if d["kind"] in ("Deployment", "Job")]

    def workers(self) -> list[dict[str, Any]]:
        return [d for d in self.kind("Deployment")
                if d["metadata"]["labels"]["app.kubernetes.io/component"].startswith("worker-")]


class HelmError(Exception):
    """helm exited non-zero; the message carries its stderr."""


def run_helm(*args: str, timeout: float = 1200) -> str:
    proc = subprocess.run([str(HELM), *args], capture_output=True, text=True, timeout=timeout,
                          cwd=REPO)
    if proc.returncode != 0:
        raise HelmError(f"helm {' '.join(args)}: exit {proc.returncode}\n{proc.stderr}")
    return proc.stdout


@pytest.fixture(scope="session")
def helm() -> Callable[..., str]:
    """The pinned helm; its first build takes minutes. No helm fails the run, never skips."""
    try:
        version = run_helm("version", "--short")
    except (HelmError, OSError, subprocess.TimeoutExpired) as exc:
        pytest.fail(f"scripts/helm could not provide helm: {exc}", pytrace=False)
    assert version.startswith("v3."), version
    return run_helm


@cache
def _render(values: tuple[Path, ...], sets: tuple[str, ...]) -> Manifests:
    args = ["template", RELEASE, str(CHART), "--namespace", NAMESPACE,
            "--kube-version", RENDER_KUBE_VERSION]
    for path in values:
        args += ["-f", str(path)]
    for item in sets:
        args += ["--set", item]
    docs = [d for d in yaml.safe_load_all(run_helm(*args)) if d]
    return Manifests(docs)


@pytest.fixture(scope="session")
def render(helm: Callable[..., str]) -> Callable[..., Manifests]:
    """Render an environment, optionally with --set overrides; each combination once."""

    def rendering(env: str, *sets: str) -> Manifests:
        return _render(tuple(ENVIRONMENTS[env]), sets)

    return rendering


@pytest.fixture(scope="session")
def rendered(render: Callable[..., Manifests]) -> dict[str, Manifests]:
    return {env: render(env) for env in ENVIRONMENTS}


@pytest.fixture(params=list(ENVIRONMENTS))
def env(request: pytest.FixtureRequest) -> Iterator[str]:
    yield request.param

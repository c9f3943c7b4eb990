"""Running the real Go toolchain in a private, throw-away environment.

Every call gets its own GOMODCACHE/GOPATH/GOCACHE and HOME, ignores the
user's `go env -w` file and never switches toolchains, so what Depot stores is
exactly what this pinned `go` downloaded and verified.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

# Variables of the caller's environment that must not steer the toolchain.
_DROP_PREFIXES = ("GO", "CGO_")


def isolated_env(workdir: Path, goproxy: str, gosumdb: str) -> dict[str, str]:
    """An environment for one `go` run confined to ``workdir``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_DROP_PREFIXES)}
    env.update(
        HOME=str(workdir / "home"),
        XDG_CONFIG_HOME=str(workdir / "home" / ".config"),
        GOMODCACHE=str(workdir / "modcache"),
        GOPATH=str(workdir / "gopath"),
        GOCACHE=str(workdir / "gocache"),
        GOENV="off",
        GOTOOLCHAIN="local",
        GOWORK="off",
        GO111MODULE="on",
        # -modcacherw: the cache is deleted afterwards; read-only dirs would resist.
        GOFLAGS="-mod=mod -modcacherw",
        GOPROXY=goproxy,
        GOSUMDB=gosumdb,
        GONOSUMDB="",
        GONOSUMCHECK="",
        GOPRIVATE="",
        GONOPROXY="",
        GOINSECURE="",
        CGO_ENABLED="0",
    )
    for sub in ("home", "gopath"):
        (workdir / sub).mkdir(parents=True, exist_ok=True)
    # Telemetry off: in its default mode the go command leaves a detached child
    # behind that writes counters into the work folder after it was removed.
    telemetry = workdir / "home" / ".config" / "go" / "telemetry"
    telemetry.mkdir(parents=True, exist_ok=True)
    (telemetry / "mode").write_text("off\n")
    return env


@dataclass(frozen=True)
class GoRun:
    returncode: int
    stdout: str
    stderr: str


class GoTimeout(Exception):
    """The toolchain did not finish in time (treated as a transient failure)."""


def run_go(
    go_bin: str, args: list[str], env: dict[str, str], cwd: Path, timeout: float
) -> GoRun:
    try:
        done = subprocess.run(
            [go_bin, *args], cwd=cwd, env=env, capture_output=True, timeout=timeout,
            # A hostile zip's entry names need not be UTF-8, and go prints them.
            encoding="utf-8", errors="replace",
        )
    except subprocess.TimeoutExpired as exc:
        raise GoTimeout(f"go {' '.join(args)} took longer than {timeout:.0f}s") from exc
    return GoRun(done.returncode, done.stdout, done.stderr)


def parse_json_stream(text: str) -> list[dict]:
    """`go … -json` prints one JSON object after another, not an array."""
    decoder = json.JSONDecoder()
    out: list[dict] = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        obj, end = decoder.raw_decode(text, pos)
        out.append(obj)
        pos = end
        while pos < len(text) and text[pos].isspace():
            pos += 1
    return out

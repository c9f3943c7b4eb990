"""go.mod facts, extracted by the real go command.

go.mod syntax has many corner cases (quoting, blocks, comments carrying
``// indirect`` and ``// Deprecated:``), so rather than re-implementing the
parser Depot asks the pinned go binary (``go mod edit -json``) and only maps
its JSON into dataclasses. Anything the go command rejects is rejected here
with the go command's own message.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.gomod.errors import GoModParseError
from app.gomod.paths import check_module_path
from app.gomod.versions import compare

__all__ = [
    "MAX_GOMOD_SIZE",
    "GoModFacts",
    "Replace",
    "Require",
    "Retract",
    "go_env",
    "is_retracted",
    "parse_gomod",
    "synthesize_gomod",
]

# cmd/go/internal/modfetch/codehost.MaxGoMod: the go command refuses larger go.mod files.
MAX_GOMOD_SIZE = 16 << 20

# Generous: `go mod edit -json` takes milliseconds even for big files.
DEFAULT_TIMEOUT = 60.0


@dataclass(frozen=True, slots=True)
class Require:
    """One ``require`` line."""

    path: str
    version: str
    indirect: bool = False


@dataclass(frozen=True, slots=True)
class Replace:
    """One ``replace`` line; versions are None when omitted (or for directory targets)."""

    old_path: str
    old_version: str | None
    new_path: str
    new_version: str | None


@dataclass(frozen=True, slots=True)
class Retract:
    """One ``retract`` line or interval; a single version has low == high."""

    low: str
    high: str
    rationale: str = ""


@dataclass(frozen=True, slots=True)
class GoModFacts:
    """Everything a proxy needs to know from one go.mod file."""

    module: str
    go: str | None = None
    toolchain: str | None = None
    deprecated: str | None = None
    requires: list[Require] = field(default_factory=list)
    replaces: list[Replace] = field(default_factory=list)
    excludes: list[tuple[str, str]] = field(default_factory=list)
    retracts: list[Retract] = field(default_factory=list)


def one_per_path(requires: Iterable[Require]) -> list[Require]:
    """The requirements with each module path once, in first-seen order.

    A go.mod may require a path twice (github.com/shirou/gopsutil/v4@v4.24.5 lists
    go-spew v1.1.1 // indirect in two require blocks); the go command accepts that and
    minimal version selection takes the highest version. Direct if any line is.
    """
    merged: dict[str, Require] = {}
    for req in requires:
        seen = merged.get(req.path)
        if seen is None:
            merged[req.path] = req
            continue
        version = req.version if compare(req.version, seen.version) > 0 else seen.version
        merged[req.path] = Require(req.path, version, seen.indirect and req.indirect)
    return list(merged.values())


def go_env(**extra: str) -> dict[str, str]:
    """Environment for running the pinned go binary hermetically.

    Never switch toolchains, never read the user's go env file or a go.work,
    never touch the network.
    """
    env = dict(os.environ)
    # The binary locates its own GOROOT; a stray one from the caller's
    # environment could belong to a different toolchain.
    env.pop("GOROOT", None)
    env.update(
        GOTOOLCHAIN="local",
        GOENV="off",
        GOWORK="off",
        GOFLAGS="-mod=mod",
        GO111MODULE="on",
        GOPROXY="off",
        GOSUMDB="off",
    )
    env.update(extra)
    return env


def _one_line_error(stderr: str, tmpdir: str) -> str:
    """Turn go's stderr into one readable line without our temp dir in it."""
    lines = []
    for raw in stderr.replace(tmpdir + os.sep, "").replace(tmpdir, "").splitlines():
        line = raw.strip()
        line = line.removeprefix("go: ")
        if not line or line.rstrip(":") == "errors parsing go.mod":
            continue
        lines.append(line)
    return "; ".join(lines) or "go mod edit failed"


def _str(obj: Any) -> str:
    return obj if isinstance(obj, str) else ""


def _opt(obj: Any) -> str | None:
    return obj if isinstance(obj, str) and obj != "" else None


def _items(obj: Any) -> list[dict[str, Any]]:
    return [x for x in obj if isinstance(x, dict)] if isinstance(obj, list) else []


def facts_from_json(doc: dict[str, Any]) -> GoModFacts:
    """Map the ``go mod edit -json`` document to GoModFacts."""
    module = doc.get("Module") or {}
    replaces = []
    for r in _items(doc.get("Replace")):
        old, new = r.get("Old") or {}, r.get("New") or {}
        replaces.append(
            Replace(
                old_path=_str(old.get("Path")),
                old_version=_opt(old.get("Version")),
                new_path=_str(new.get("Path")),
                new_version=_opt(new.get("Version")),
            )
        )
    return GoModFacts(
        module=_str(module.get("Path")),
        go=_opt(doc.get("Go")),
        toolchain=_opt(doc.get("Toolchain")),
        deprecated=_opt(module.get("Deprecated")),
        requires=[
            Require(_str(r.get("Path")), _str(r.get("Version")), bool(r.get("Indirect")))
            for r in _items(doc.get("Require"))
        ],
        replaces=replaces,
        excludes=[
            (_str(x.get("Path")), _str(x.get("Version"))) for x in _items(doc.get("Exclude"))
        ],
        retracts=[
            Retract(_str(r.get("Low")), _str(r.get("High")), _str(r.get("Rationale")))
            for r in _items(doc.get("Retract"))
        ],
    )


def parse_gomod(
    data: bytes,
    go_bin: str | os.PathLike[str],
    *,
    timeout: float = DEFAULT_TIMEOUT,
) -> GoModFacts:
    """Parse go.mod ``data`` with ``go mod edit -json`` run in a scratch directory.

    Raises GoModParseError (with go's message) if the go command rejects the
    file, if it exceeds MAX_GOMOD_SIZE, or if go does not answer in time.
    A missing ``module`` line is not an error here: ``module`` is then "".
    OSError propagates if ``go_bin`` cannot be executed.
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError("parse_gomod expects bytes")
    if len(data) > MAX_GOMOD_SIZE:
        raise GoModParseError(
            f"go.mod file too large ({len(data)} bytes; max size is {MAX_GOMOD_SIZE} bytes)"
        )
    with tempfile.TemporaryDirectory(prefix="depot-gomod-", ignore_cleanup_errors=True) as tmp:
        Path(tmp, "go.mod").write_bytes(bytes(data))
        env = go_env(GOCACHE=os.path.join(tmp, "cache"), GOPATH=os.path.join(tmp, "gopath"))
        env.setdefault("HOME", tmp)
        try:
            proc = subprocess.run(
                [os.fspath(go_bin), "mod", "edit", "-json", "go.mod"],
                cwd=tmp,
                env=env,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as e:
            raise GoModParseError(f"go mod edit timed out after {timeout:g}s") from e
        if proc.returncode != 0:
            stderr = proc.stderr.decode("utf-8", "replace")
            raise GoModParseError(_one_line_error(stderr, tmp))
    try:
        doc = json.loads(proc.stdout)
    except ValueError as e:
        raise GoModParseError(f"go mod edit printed invalid JSON: {e}") from e
    if not isinstance(doc, dict):
        raise GoModParseError("go mod edit printed unexpected JSON")
    return facts_from_json(doc)


def is_retracted(version: str, retracts: Iterable[Retract]) -> bool:
    """Report whether ``version`` falls in any retracted interval (inclusive)."""
    return any(compare(r.low, version) <= 0 <= compare(r.high, version) for r in retracts)


def synthesize_gomod(module_path: str) -> bytes:
    """The go.mod the go command assumes for a version without one.

    Used for ``+incompatible`` versions and pre-module code: just the module
    line (modfetch's legacy go.mod), so its /go.mod hash matches go.sum.
    """
    check_module_path(module_path)
    # Valid module paths only use [A-Za-z0-9-._~/], so go never quotes them.
    return f"module {module_path}\n".encode("ascii")

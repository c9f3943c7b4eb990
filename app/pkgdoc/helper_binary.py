"""The documentation helper (helper/main.go), built by the pinned toolchain once per
source revision and toolchain, and kept in the data dir's tools folder."""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

from app.gomod.modfile import go_env
from app.locks import key_lock

SOURCE = Path(__file__).parent / "helper"
BUILD_TIMEOUT = 300.0


class HelperBuildError(Exception):
    """The toolchain could not build the helper (a broken toolchain or install)."""


def _revision(go_bin: str) -> str:
    """What a built helper depends on: its sources and the toolchain binary."""
    digest = hashlib.sha256()
    for name in sorted(p.name for p in SOURCE.iterdir() if p.suffix in (".go", ".mod")):
        digest.update(name.encode() + b"\0" + (SOURCE / name).read_bytes())
    real = Path(go_bin).resolve()
    stat = real.stat()
    digest.update(f"{real}\0{stat.st_size}\0{stat.st_mtime_ns}".encode())
    return digest.hexdigest()[:16]


def helper_binary(go_bin: str, tools_dir: Path, gocache: Path, lock_dir: Path) -> Path:
    """The built helper, built now if this revision has not been (one builder at a time
    across processes; the others wait and reuse it)."""
    target = tools_dir / f"depot-godoc-{_revision(go_bin)}"
    if target.exists():
        return target
    tools_dir.mkdir(parents=True, exist_ok=True)
    with key_lock(lock_dir, f"build:{target.name}", timeout=BUILD_TIMEOUT * 2):
        if target.exists():
            return target
        partial = tools_dir / f".{target.name}.{os.getpid()}"
        env = go_env(GOCACHE=str(gocache), GOPATH=str(tools_dir / "gopath"),
                     CGO_ENABLED="0")
        try:
            proc = subprocess.run(
                [go_bin, "build", "-trimpath", "-o", str(partial), "."], cwd=SOURCE, env=env,
                stdin=subprocess.DEVNULL, capture_output=True, text=True,
                timeout=BUILD_TIMEOUT, check=False)
        except subprocess.TimeoutExpired as exc:
            raise HelperBuildError(f"go build of the doc helper took over {BUILD_TIMEOUT:g} s"
                                   ) from exc
        if proc.returncode != 0:
            partial.unlink(missing_ok=True)
            raise HelperBuildError("go build of the doc helper failed: "
                                   + (proc.stderr.strip() or f"exit {proc.returncode}")[:2000])
        os.replace(partial, target)
    return target


def main(argv: list[str] | None = None) -> int:
    """``python -m app.pkgdoc.helper_binary DIR``: build the helper into DIR ahead of
    use (the image does, and sets DEPOT_TOOLS_DIR to it), so the first documentation job
    does not wait for a build; prints the built file."""
    import sys
    import tempfile

    from app.config import find_go

    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m app.pkgdoc.helper_binary TOOLS_DIR", file=sys.stderr)
        return 2
    tools = Path(args[0])
    with tempfile.TemporaryDirectory(prefix="depot-helper-") as scratch:
        try:
            built = helper_binary(find_go(), tools, Path(scratch) / "gocache", Path(scratch))
        except HelperBuildError as exc:
            print(exc, file=sys.stderr)
            return 1
    print(built)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

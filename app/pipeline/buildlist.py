"""What a consumer of ``module@version`` needs: its build list and a clean-room build.

Both run the real toolchain in a throw-away main module that requires the
version, exactly as a user's project would.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from app.config import Settings
from app.fetch.download import go_directive, write_consumer, write_consumer_of
from app.fetch.errors import classify
from app.fetch.gotool import GoTimeout, isolated_env, parse_json_stream, run_go
from app.fetch.upstream import sumdb_for_toolchain

# How much of the go command's output a failure keeps (it is shown to people).
EXCERPT = 2000


def excerpt(text: str) -> str:
    text = text.strip()
    return text if len(text) <= EXCERPT else "…" + text[-EXCERPT:]


def build_list(
    settings: Settings,
    workdir: Path,
    module: str,
    version: str,
    goproxy: str,
    known_sums: list[str],
) -> list[tuple[str, str]]:
    """Every (path, version) the toolchain selects for a consumer of module@version.

    Only go.mod files are needed for this, not zips. Raises :class:`FetchError`.
    """
    env = isolated_env(workdir, goproxy, settings.gosumdb)
    consumer = write_consumer(
        workdir, module, version, go_directive(settings, workdir), known_sums
    )
    try:
        run = run_go(settings.go_bin, ["list", "-m", "-json", "all"], env, consumer,
                     settings.fetch_timeout)
    except GoTimeout as exc:
        raise classify(f"timeout: {exc}") from exc
    if run.returncode != 0:
        raise classify(run.stderr or run.stdout, workdir)
    members = []
    for entry in parse_json_stream(run.stdout):
        if entry.get("Main") or not entry.get("Version"):
            continue
        if entry.get("Error"):
            raise classify(str(entry["Error"].get("Err", entry["Error"])), workdir)
        members.append((entry["Path"], entry["Version"]))
    return members


# Build output that means Depot failed to serve something (as opposed to code that does
# not compile with this toolchain, which is the module's business, not Depot's).
_RESOLUTION = re.compile(
    r"^go: |missing go\.sum entry|no required module provides|cannot find module|"
    r"verifying .*checksum|SECURITY ERROR|reading file://|reading http://127\.0\.0\.1:",
    re.M,
)


@dataclass
class CleanRoom:
    """The verdict of a clean-room consumer build."""

    ok: bool
    reason: str
    # (path, version) -> (zip h1, go.mod h1) as the fresh module cache computed them
    hashes: dict[tuple[str, str], tuple[str, str]]
    # Packages that resolved but do not compile with this toolchain (kept, not fatal).
    note: str = ""


def clean_room(
    settings: Settings,
    workdir: Path,
    gocache: Path,
    staging_url: str,
    targets: list[tuple[str, str]],
) -> CleanRoom:
    """Resolve, download and build one consumer of every target from Depot alone.

    The only GOPROXY is Depot's staging view; the module cache is new and
    empty; the checksum database stays on. The build cache is shared: it holds
    compiled packages, not modules, and saves minutes on every validation.
    Several targets share one consumer when the validator batches them: the go
    command starts once and compiles their packages in one build.
    """
    env = isolated_env(workdir, staging_url, sumdb_for_toolchain(settings))
    env["GOCACHE"] = str(gocache)
    consumer = write_consumer_of(workdir, targets, go_directive(settings, workdir), [])
    timeout = settings.fetch_timeout

    def go(*args: str):  # type: ignore[no-untyped-def]
        return run_go(settings.go_bin, list(args), env, consumer, timeout)

    try:
        downloaded = go("mod", "download", "-json", "all")
        entries = parse_json_stream(downloaded.stdout) if downloaded.stdout.strip() else []
        errors = [e for e in entries if e.get("Error")]
        if downloaded.returncode != 0 or errors:
            detail = "; ".join(str(e["Error"]) for e in errors) or downloaded.stderr
            return CleanRoom(False, "go mod download all: " + excerpt(detail), {})
        hashes = {
            (e["Path"], e["Version"]): (e.get("Sum", ""), e.get("GoModSum", ""))
            for e in entries
            if e.get("Version")
        }
        listed = go("list", "-m", "all")
        if listed.returncode != 0:
            return CleanRoom(False, "go list -m all: " + excerpt(listed.stderr), hashes)
        packages = buildable_packages(go, [module for module, _ in targets])
        note = ""
        if packages:
            # -trimpath keeps the module cache's location out of the build cache keys:
            # without it every fresh cache recompiles every dependency from scratch.
            built = go("build", "-trimpath", *packages)
            if built.returncode != 0:
                if _RESOLUTION.search(built.stderr):
                    return CleanRoom(False, "go build: " + excerpt(built.stderr), hashes)
                # Everything resolved from Depot; some code just does not compile with
                # this toolchain (old dependencies, removed APIs). Say so, do not fail.
                note = "go build: " + excerpt(built.stderr)
    except GoTimeout as exc:
        return CleanRoom(False, str(exc), {})
    return CleanRoom(True, "", hashes, note)


def buildable_packages(go, modules: list[str]) -> list[str]:  # type: ignore[no-untyped-def]
    """The modules' packages that build on this platform (build constraints allowing)."""
    listed = go("list", "-e", "-json", *(f"{module}/..." for module in modules))
    wanted = set(modules)
    packages = []
    for pkg in parse_json_stream(listed.stdout) if listed.stdout.strip() else []:
        err = (pkg.get("Error") or {}).get("Err", "")
        if (pkg.get("Module") or {}).get("Path") not in wanted:
            continue
        if "build constraints exclude all Go files" in err or not pkg.get("GoFiles"):
            continue  # not for linux/amd64, or no Go code at all (testdata, docs)
        packages.append(pkg["ImportPath"])
    return packages

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
from app.gomod.errors import GoModError
from app.gomod.paths import unescape_path, unescape_version

# How much of the go command's output a failure keeps (it is shown to people).
EXCERPT = 2000


def excerpt(text: str) -> str:
    text = text.strip()
    return text if len(text) <= EXCERPT else "…" + text[-EXCERPT:]


def public(text: str, staging_url: str, workdir: Path) -> str:
    """The go command's words fit for a page: reasons and notes are shown to everyone, and
    the folders of this machine (Depot's store behind the staging URL, the work folder,
    the toolchain's GOROOT in "is not in std (…)") are nobody's business."""
    text = text.replace(staging_url.rstrip("/"), "<Depot>")
    text = text.replace(str(workdir), "<work>")
    return re.sub(r"is not in std \([^)]*\)", "is not in std", text)


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
    env = isolated_env(workdir, goproxy, settings.gosumdb, settings.checksum_tiles)
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


def downloaded_go_mods(workdir: Path) -> dict[tuple[str, str], Path]:
    """Every go.mod the go command downloaded into ``workdir``'s module cache, by
    (path, version): what loading the module graph read, selected or not."""
    root = workdir / "modcache" / "cache" / "download"
    found = {}
    for mod in root.rglob("@v/*.mod") if root.is_dir() else ():
        try:
            path = unescape_path(mod.parent.parent.relative_to(root).as_posix())
            version = unescape_version(mod.name.removesuffix(".mod"))
        except GoModError:
            continue  # not a module's file (the go command writes only valid names)
        found[(path, version)] = mod
    return found


@dataclass
class CleanRoom:
    """The verdict of a clean-room consumer."""

    ok: bool
    reason: str
    # (path, version) -> (zip h1, go.mod h1) as the fresh module cache computed them
    hashes: dict[tuple[str, str], tuple[str, str]]
    # Packages that do not load through Depot and not against the upstream either: the
    # module's own defect (kept for people, never a refusal).
    note: str = ""


def clean_room(
    settings: Settings,
    workdir: Path,
    gocache: Path,
    staging_url: str,
    targets: list[tuple[str, str]],
    modcache: Path | None = None,
) -> CleanRoom:
    """The contract for "published" (docs/pipeline.md), checked through Depot alone.

    In a consumer whose only GOPROXY is Depot's staging view, with a module cache that
    only ever got files from there (``modcache``, app/pipeline/modcache.py; a new one
    when None) and the checksum database on: `go mod download all`, `go list -m all`, then every
    importable package of each target and every command loads with all its imports
    (`go list -deps`, which resolves like `go mod tidy` and compiles nothing, so a
    module of 900 packages costs seconds). A package that fails to load is judged
    differentially: if the same consumer against the upstream fails on it too, it is
    the module's own defect (old code importing a package that no longer exists) and
    becomes a note; if it fails only through Depot, Depot lacks something and the
    version is not published. Several targets share one consumer when the validator
    batches them.
    """
    def told(text: str) -> str:
        return excerpt(public(text, staging_url, workdir))

    env = isolated_env(workdir, staging_url, sumdb_for_toolchain(settings),
                       settings.checksum_tiles, modcache)
    env["GOCACHE"] = str(gocache)
    consumer = write_consumer_of(workdir, targets, go_directive(settings, workdir), [])
    timeout = settings.fetch_timeout

    def go(*args: str):  # type: ignore[no-untyped-def]
        return run_go(settings.go_bin, list(args), env, consumer, timeout)

    modules = [module for module, _ in targets]
    try:
        downloaded = go("mod", "download", "-json", "all")
        entries = parse_json_stream(downloaded.stdout) if downloaded.stdout.strip() else []
        errors = [e for e in entries if e.get("Error")]
        if downloaded.returncode != 0 or errors:
            detail = "; ".join(str(e["Error"]) for e in errors) or downloaded.stderr
            return CleanRoom(False, "go mod download all: " + told(detail), {})
        hashes = {
            (e["Path"], e["Version"]): (e.get("Sum", ""), e.get("GoModSum", ""))
            for e in entries
            if e.get("Version")
        }
        listed = go("list", "-m", "all")
        if listed.returncode != 0:
            return CleanRoom(False, "go list -m all: " + told(listed.stderr), hashes)
        problems = load_problems(go, modules)
    except GoTimeout as exc:
        return CleanRoom(False, str(exc), {})
    if not problems:
        return CleanRoom(True, "", hashes)
    try:
        upstream, added, reached = _against_upstream(
            settings, workdir / "against-upstream", targets, {path for path, _ in hashes})
    except GoTimeout as exc:
        return CleanRoom(False, told(f"{describe(problems)} (the upstream could not be asked "
                                     f"to compare: {exc})"), hashes)
    own, depot_only = judge(problems, upstream, added, reached)
    if depot_only:
        return CleanRoom(False, "only through Depot: " + told(describe(depot_only)), hashes)
    return CleanRoom(True, "", hashes, note="the module's own, the upstream shows the same: "
                                            + told(describe(own)))


def judge(problems: dict[str, str], upstream: dict[str, str], added: dict[str, str],
          reached: set[str] | None = None) -> tuple[dict[str, str], dict[str, str]]:
    """Split the packages that failed through Depot into (the module's own, Depot's).

    The module's own: the same package fails against the upstream; or it loads there
    only because the go command added a module the build list does not have (the
    module's go.mod does not require what provides the import; the go command adds
    whatever is newest at the time, as Depot does in fetch mode for a client that
    imports the package); or the upstream consumer never imports it (``reached``: the
    packages it loaded), because the import comes through a module the go.mod does
    not pin, resolved there at a newer version that no longer imports it
    (github.com/uber/jaeger-lib@v1.5.0: an old go-kit's InfluxDB client). Anything
    else failed only through Depot.
    """
    own, depot_only = {}, {}
    for pkg, why in problems.items():
        provider = max((m for m in added if pkg == m or pkg.startswith(m + "/")), key=len,
                       default=None)
        if pkg in upstream:
            own[pkg] = why
        elif provider is not None:
            own[pkg] = ("imported, but no module of the build list provides it (against "
                        f"the upstream the go command adds {provider}@{added[provider]})")
        elif reached is not None and pkg not in reached:
            own[pkg] = (f"{why} (against the upstream nothing imports it: it is reached "
                        "through a module its go.mod does not pin)")
        else:
            depot_only[pkg] = why
    return own, depot_only


def describe(problems: dict[str, str]) -> str:
    return "; ".join(f"{pkg}: {why}" for pkg, why in sorted(problems.items()))


def _against_upstream(settings: Settings, workdir: Path, targets: list[tuple[str, str]],
                      graph: set[str]) -> tuple[dict[str, str], dict[str, str], set[str]]:
    """The same consumer against the upstream alone: which packages fail there, the
    modules (path -> version) the go command added beyond ``graph`` to load them, and
    every package it reached."""
    env = isolated_env(workdir, settings.upstream, settings.gosumdb, settings.checksum_tiles)
    consumer = write_consumer_of(workdir, targets, go_directive(settings, workdir), [])

    def go(*args: str):  # type: ignore[no-untyped-def]
        return run_go(settings.go_bin, list(args), env, consumer, settings.fetch_timeout)

    problems, reached = _load(go, [module for module, _ in targets])
    # -e: one module the upstream refuses (a 403) must not hide what the go command added
    # (docker/docker@v20.10.24+incompatible was judged Depot's fault that way).
    listed = go("list", "-m", "-e", "-json", "all")
    added = {}
    for entry in parse_json_stream(listed.stdout) if listed.stdout.strip() else []:
        path, version = entry.get("Path", ""), entry.get("Version", "")
        if path not in graph and version and not entry.get("Main"):
            added[path] = version
    return problems, added, reached


def load_problems(go, modules: list[str]) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """Packages that do not load, with why, when a consumer imports every importable
    package of ``modules`` and builds every command of theirs; empty when all load."""
    return _load(go, modules)[0]


def _load(go, modules: list[str]) -> tuple[dict[str, str], set[str]]:  # type: ignore[no-untyped-def]
    """(load_problems, every package the consumer reached)."""
    importable, commands = packages_of(go, modules)
    wanted = importable + commands
    if not wanted:
        return {}, set()
    loaded = go("list", "-deps", "-e", "-json", *wanted)
    problems, reached = {}, set()
    for pkg in parse_json_stream(loaded.stdout) if loaded.stdout.strip() else []:
        reached.add(pkg.get("ImportPath", "?"))
        err = (pkg.get("Error") or {}).get("Err", "")
        if err:
            problems[pkg.get("ImportPath", "?")] = err.strip().splitlines()[0]
    if loaded.returncode != 0 and not problems:
        problems["go list -deps"] = excerpt(loaded.stderr) or f"exit {loaded.returncode}"
    return problems, reached


def packages_of(go, modules: list[str]) -> tuple[list[str], list[str]]:  # type: ignore[no-untyped-def]
    """(importable packages, commands) of the modules that build on this platform: a
    consumer can import any package but a command or one under an ``internal`` element."""
    importable, commands = [], []
    for path, name in _platform_packages(go, modules):
        if name == "main":
            commands.append(path)
        elif "internal" not in path.split("/"):
            importable.append(path)
    return importable, commands


def _platform_packages(go, modules: list[str]) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    """(import path, package name) of the modules' packages that build on this
    platform (build constraints allowing) and hold Go code."""
    listed = go("list", "-e", "-json", *(f"{module}/..." for module in modules))
    wanted = set(modules)
    found = []
    for pkg in parse_json_stream(listed.stdout) if listed.stdout.strip() else []:
        err = (pkg.get("Error") or {}).get("Err", "")
        if (pkg.get("Module") or {}).get("Path") not in wanted:
            continue
        if "build constraints exclude all Go files" in err or not pkg.get("GoFiles"):
            continue  # not for linux/amd64, or no Go code at all (testdata, docs)
        found.append((pkg["ImportPath"], pkg.get("Name", "")))
    return found


def buildable_packages(go, modules: list[str]) -> list[str]:  # type: ignore[no-untyped-def]
    """The modules' packages that build on this platform (build constraints allowing)."""
    return [path for path, _name in _platform_packages(go, modules)]

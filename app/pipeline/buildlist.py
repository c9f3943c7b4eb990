"""What a consumer of ``module@version`` needs: its build list and a clean-room build.

Both run the real toolchain in a throw-away main module that requires the
version, exactly as a user's project would.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

from app.config import Settings
from app.fetch.download import (
    CONSUMER_PATH,
    cached_go_mods,
    go_directive,
    write_consumer,
    write_consumer_of,
)
from app.fetch.errors import classify
from app.fetch.gotool import (
    GoCommand,
    GoRun,
    GoTimeout,
    fetching_env,
    isolated_env,
    parse_json_stream,
    private_access,
    run_go,
)
from app.fetch.relay import Relay
from app.fetch.upstream import sumdb_for_toolchain

log = logging.getLogger(__name__)

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


@dataclass
class BuildList:
    """What consumers of a version need: ``selected``, the graph of the contract's
    consumer (one version per path), and ``also``, versions other ordinary consumers
    select instead (a lower version of a shared dependency)."""

    selected: list[tuple[str, str]]
    also: list[tuple[str, str]] = field(default_factory=list)

    def without(self, module: str) -> BuildList:
        return BuildList([m for m in self.selected if m[0] != module],
                         [m for m in self.also if m[0] != module])


def build_list(
    settings: Settings,
    workdir: Path,
    module: str,
    version: str,
    goproxy: str,
    known_sums: list[str],
    tidy: bool = True,
) -> BuildList:
    """Every (path, version) the toolchain selects for consumers of module@version.

    ``selected`` is the graph `go mod tidy` leaves in a consumer importing every
    importable package of the module (the contract's consumer). Tidy also loads the
    tests of those packages' dependencies, so the modules those tests import join the
    graph: a consumer of viper v1.19.0 tidied through Depot alone needed
    gopkg.in/check.v1 (imported by gopkg.in/yaml.v3's tests), which `go list -m all` of
    a consumer that only requires viper never names.

    ``also`` holds what two other consumers select where the contract's selects
    another version: `go get module@version` alone (go.mod files only), and a consumer
    importing only the root package, tidied. The graph follows the imports: viper's
    remote package pulls in etcd and the cloud SDKs, whose go.mod files raise
    go-cmp to v0.6.0, while a consumer of viper's root package tidies with v0.5.9.

    A module whose go.mod leaves imports to the go command's lookups (at ``@latest``)
    keeps the `go get` graph as ``selected`` (a graph of the day's latest versions
    would change from one day to the next), with what else tidy needs, the looked-up
    modules apart, in ``also``. Every version with ``tidy`` false keeps the `go get`
    graph alone (what the processor does for versions nobody waits for: tidying
    unpacks every zip of the graph). Raises :class:`FetchError`.
    """
    lang = go_directive(settings, workdir)
    env = fetching_env(settings, workdir, goproxy)
    consumer = write_consumer(workdir, module, version, lang, known_sums)

    def go(*args: str) -> GoRun:
        try:
            return run_go(settings.go_bin, list(args), env, consumer, settings.fetch_timeout)
        except GoTimeout as exc:
            raise classify(f"timeout: {exc}") from exc

    plain = _selected(go, workdir)
    looked_up: dict[str, str] = {}

    def tidied_for(packages: list[str]) -> list[tuple[str, str]] | None:
        """The selection after `go mod tidy` in a fresh consumer importing ``packages``."""
        write_consumer(workdir, module, version, lang, known_sums)
        write_imports(consumer, packages)
        tidied = go("mod", "tidy", "-e")
        looked_up.update(added_for_imports(tidied.stderr))
        if tidied.returncode != 0:
            # The module's own trouble, which the validator judges: a graph tidy cannot load.
            log.info("%s@%s: the build list go get loads (go mod tidy: %s)", module, version,
                     excerpt(tidied.stderr))
            return None
        return _selected(go, workdir)

    def traced(*args: str) -> GoRun:
        run = go(*args)  # listing the packages may already add a module for an import
        looked_up.update(added_for_imports(run.stderr))
        return run

    if not tidy:
        return BuildList(plain)
    importable, _commands = packages_of(traced, [module])
    tidied = tidied_for(importable) if importable else None
    if tidied is None:
        return BuildList(plain)
    if looked_up:
        # Imports its go.mod leaves to the day's latest versions: the graph stays the one
        # `go get` loads, but what tidy needs besides (the tests of dependencies, one
        # level) is kept too, so a held one is named. prometheus v0.51.2 looks up
        # go-ansiterm, and its consumers' tidy reads pascaldekloe/goe, held for its
        # license: the request said "published" with no mark, the consumer's tidy
        # failed on a 410 (corpus run of 2026-12-04).
        log.info("%s@%s: the build list go get loads (go mod tidy adds %s)", module, version,
                 ", ".join(f"{m}@{v}" for m, v in sorted(looked_up.items())))
        extra = {m for m in tidied if m[0] not in looked_up} - set(plain)
        return BuildList(plain, sorted(extra))
    others = set(plain)
    if module in importable and len(importable) > 1:
        others |= set(tidied_for([module]) or [])
    chosen = set(tidied)
    return BuildList(tidied, sorted(others - chosen))


def _selected(go: GoCommand, workdir: Path) -> list[tuple[str, str]]:
    """(path, version) of every module the consumer's graph selects."""
    run = go("list", "-m", "-json", "all")
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


def write_imports(consumer: Path, packages: list[str]) -> None:
    """A source file importing ``packages`` in the consumer: what makes `go mod tidy`
    keep and complete their requirements, as it does in a user's project."""
    lines = "".join(f'import _ "{pkg}"\n' for pkg in sorted(packages))
    (consumer / "depot_imports.go").write_text(f"package consumer\n\n{lines}")


def downloaded_go_mods(workdir: Path) -> dict[tuple[str, str], Path]:
    """Every go.mod the go command downloaded into ``workdir``'s module cache, by
    (path, version): what loading the module graph read, selected or not."""
    return cached_go_mods(workdir / "modcache")


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
    tidy_gate: bool = True,
) -> CleanRoom:
    """The contract for "published" (docs/pipeline.md), checked through Depot alone.

    In a consumer whose only GOPROXY is Depot's staging view, with a module cache that
    only ever got files from there (``modcache``, app/pipeline/modcache.py; a new one
    when None) and the checksum database on: `go mod download all`, `go list -m all`, then
    a consumer importing every importable package of each target is tidied and every
    package `go mod tidy` loads (the tests of dependencies too) and every command loads
    with all its imports (`go list -deps -test`, which compiles nothing, so a module of
    900 packages costs seconds). A package that fails to load is judged
    differentially: if the same consumer against the upstream fails on it too, it is
    the module's own defect (old code importing a package that no longer exists) and
    becomes a note; if it fails only through Depot, Depot lacks something and the
    version is not published. Several targets share one consumer when the validator
    batches them.
    """
    def told(text: str) -> str:
        return excerpt(public(text, staging_url, workdir))

    env = isolated_env(workdir, staging_url, sumdb_for_toolchain(settings),
                       settings.checksum_tiles, modcache,
                       private=private_access(settings, direct=False))
    env["GOCACHE"] = str(gocache)
    consumer = write_consumer_of(workdir, targets, go_directive(settings, workdir), [])
    timeout = settings.fetch_timeout

    def go(*args: str) -> GoRun:
        return run_go(settings.go_bin, list(args), env, consumer, timeout)

    modules = [module for module, _ in targets]
    try:
        hashes, failed = _download_all(go)
        if failed:
            return CleanRoom(False, "go mod download all: " + told(failed), {})
        listed = go("list", "-m", "all")
        if listed.returncode != 0:
            return CleanRoom(False, "go list -m all: " + told(listed.stderr), hashes)
        found = load(go, consumer, modules)
        # Tidy completed the graph (the modules the tests of dependencies import): its
        # hashes are compared too, and it is what the recorded build lists name.
        tidied, failed = _download_all(go)
        if failed:
            found.problems["go mod download all (tidied)"] = failed
            found.tidy_only.add("go mod download all (tidied)")
        else:
            hashes = tidied
    except GoTimeout as exc:
        return CleanRoom(False, str(exc), {})
    problems = found.problems
    if not problems:
        return CleanRoom(True, "", hashes)
    try:
        upstream = _against_upstream(settings, workdir / "against-upstream", targets)
    except GoTimeout as exc:
        return CleanRoom(False, told(f"{describe(problems)} (the upstream could not be asked "
                                     f"to compare: {exc})"), hashes)
    own, depot_only = judge(problems, upstream.problems, upstream.added, upstream.reached,
                            found.tidy_only, tidy_gate)
    if depot_only:
        return CleanRoom(False, "only through Depot: " + told(describe(depot_only)), hashes)
    # Each item says why it is not a refusal: the same failure against the upstream is
    # only one of the reasons, so the note's lead claims none of them.
    return CleanRoom(True, "", hashes, note="not a reason to refuse: " + told(describe(own)))


def _download_all(go: GoCommand) -> tuple[dict[tuple[str, str], tuple[str, str]], str]:
    """(path, version) -> (zip h1, go.mod h1) of every module of the consumer's graph,
    and what failed ("" when nothing did)."""
    downloaded = go("mod", "download", "-json", "all")
    entries = parse_json_stream(downloaded.stdout) if downloaded.stdout.strip() else []
    errors = [e for e in entries if e.get("Error")]
    if downloaded.returncode != 0 or errors:
        return {}, "; ".join(str(e["Error"]) for e in errors) or downloaded.stderr
    return {(e["Path"], e["Version"]): (e.get("Sum", ""), e.get("GoModSum", ""))
            for e in entries if e.get("Version")}, ""


def judge(problems: dict[str, str], upstream: dict[str, str], added: dict[str, str],
          reached: set[str] | None = None, tidy_only: set[str] | frozenset[str] = frozenset(),
          tidy_gate: bool = True) -> tuple[dict[str, str], dict[str, str]]:
    """Split the packages that failed through Depot into (the module's own, Depot's).

    The module's own: the same package fails against the upstream; or it loads there
    only because the go command added a module the build list does not have (the
    module's go.mod does not require what provides the import; the go command adds
    whatever is newest at the time, as Depot does in fetch mode for a client that
    imports the package); or the upstream consumer never imports it (``reached``: the
    packages it loaded), because the import comes through a module the go.mod does
    not pin, resolved there at a newer version that no longer imports it
    (github.com/uber/jaeger-lib@v1.5.0: an old go-kit's InfluxDB client); or only
    `go mod tidy` loads it (``tidy_only``) while the go command had to add modules
    for imports at all: such a graph is the day's latest versions, not the go.mod
    files', and Depot holds what the go.mod files name; or only tidy loads it and
    ``tidy_gate`` is off (a crawled version, whose build list is not tidied). Anything
    else failed only through Depot.
    """
    own, depot_only = {}, {}
    for pkg, why in problems.items():
        provider = max((m for m in added if pkg == m or pkg.startswith(m + "/")), key=len,
                       default=None)
        if pkg in upstream:
            own[pkg] = f"{why} (the upstream shows the same)"
        elif provider is not None:
            own[pkg] = ("imported, but no module of the build list provides it (against "
                        f"the upstream the go command adds {provider}@{added[provider]})")
        elif pkg in tidy_only and not tidy_gate:
            own[pkg] = (f"{why} (only `go mod tidy` loads it; this version's build list is "
                        "the `go get` graph, nobody asked for it yet)")
        elif pkg in tidy_only and added:
            own[pkg] = (f"{why} (only `go mod tidy` loads it, and against the upstream "
                        "the go command adds modules for imports no go.mod requires: "
                        + ", ".join(f"{m}@{v}" for m, v in sorted(added.items())) + ")")
        elif reached is not None and pkg not in reached and pkg not in STEPS:
            own[pkg] = (f"{why} (against the upstream nothing imports it: it is reached "
                        "through a module its go.mod does not pin)")
        else:
            depot_only[pkg] = why
    return own, depot_only


def describe(problems: dict[str, str]) -> str:
    return "; ".join(f"{pkg}: {why}" for pkg, why in sorted(problems.items()))


def _against_upstream(settings: Settings, workdir: Path, targets: list[tuple[str, str]]
                      ) -> Load:
    """The same consumer against the upstream alone (through the relay: it downloads the
    whole build, whose files the host's other go commands fetch too; a corpus slice
    fetched testify's dependencies five times each without it)."""
    with Relay(settings) as relay:
        env = fetching_env(settings, workdir, relay.goproxy())
        consumer = write_consumer_of(workdir, targets, go_directive(settings, workdir), [])

        def go(*args: str) -> GoRun:
            return run_go(settings.go_bin, list(args), env, consumer, settings.fetch_timeout)

        return load(go, consumer, [module for module, _ in targets])


# Problems that are a step of the consumer's, not a package.
STEPS = frozenset({"go mod tidy", "go list -deps", "go mod download all (tidied)"})

# What the go command says when it adds a module for an import no requirement provides.
_FOUND = re.compile(r"^go: found \S+ in (\S+) (\S+)$", re.MULTILINE)


def added_for_imports(stderr: str) -> dict[str, str]:
    """path -> version of each module the go command looked up (``@latest``) to provide
    an import: the module's go.mod does not require it, so what it gets depends on the
    day (tidy promoting a module the graph already selects says nothing)."""
    return dict(_FOUND.findall(stderr))


@dataclass
class Load:
    """What a consumer importing every package of some modules could not load."""

    # package (or step) -> why
    problems: dict[str, str] = field(default_factory=dict)
    # Of those, what only `go mod tidy` loads (through the tests of dependencies).
    tidy_only: set[str] = field(default_factory=set)
    # path -> version of modules the go command added for imports no go.mod requires.
    added: dict[str, str] = field(default_factory=dict)
    # Every package the consumer reached.
    reached: set[str] = field(default_factory=set)


def load(go: GoCommand, consumer: Path, modules: list[str]) -> Load:
    """Load what a user's project loads with ``modules`` in it.

    First what `go get` and a build load: every importable package and command with its
    imports. Then what `go mod tidy` loads in a consumer importing every importable
    package: their dependencies and the tests of all of them (one level, not the tests
    of what a test imports). `tidy -e` goes on past a package that does not load, so
    the listing after it names every such package; a tidy that still fails (a graph it
    cannot load) is a problem of its own.
    """
    found = Load()

    def traced(*args: str) -> GoRun:
        run = go(*args)  # any listing may add a module for an import (-mod=mod)
        found.added.update(added_for_imports(run.stderr))
        return run

    importable, commands = packages_of(traced, modules)
    if importable or commands:
        _list_into(traced("list", "-deps", "-e", "-json", *importable, *commands),
                   found.problems, found.reached)
    if importable:
        write_imports(consumer, importable)
        tidy_problems: dict[str, str] = {}
        tidied = traced("mod", "tidy", "-e")
        if tidied.returncode != 0:
            tidy_problems["go mod tidy"] = excerpt(tidied.stderr) or f"exit {tidied.returncode}"
        _list_into(go("list", "-deps", "-test", "-e", "-json", "all"), tidy_problems,
                   found.reached)
        found.tidy_only = set(tidy_problems) - set(found.problems)
        found.problems.update(tidy_problems)
    return found


def _list_into(loaded: GoRun, problems: dict[str, str], reached: set[str]) -> None:
    """Fold one `go list -e -json` run into (problems, reached)."""
    found = False
    for pkg in parse_json_stream(loaded.stdout) if loaded.stdout.strip() else []:
        path = pkg.get("ImportPath", "?")
        reached.add(path)
        err = (pkg.get("Error") or {}).get("Err", "")
        if err and path != CONSUMER_PATH:  # depot_imports.go's: never the module's
            problems[path] = err.strip().splitlines()[0]
            found = True
    if loaded.returncode != 0 and not found:
        problems["go list -deps"] = excerpt(loaded.stderr) or f"exit {loaded.returncode}"


def packages_of(go: GoCommand, modules: list[str]) -> tuple[list[str], list[str]]:
    """(importable packages, commands) of the modules that build on this platform: a
    consumer can import any package but a command or one under an ``internal`` element."""
    importable, commands = [], []
    for path, name in _platform_packages(go, modules):
        if name == "main":
            commands.append(path)
        elif "internal" not in path.split("/"):
            importable.append(path)
    return importable, commands


def _platform_packages(go: GoCommand, modules: list[str]) -> list[tuple[str, str]]:
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

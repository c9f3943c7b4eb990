"""The pure fetch step: the real `go` downloads and verifies, we check and describe.

No database here. :func:`download` returns either a :class:`Fetched` (files on
disk in the private module cache, checked against the module-zip rules, go.mod
parsed, hashes computed) or a :class:`Failed` with the :class:`FetchError` that
says why not.
"""

from __future__ import annotations

import errno
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path

from app.config import Settings
from app.fetch import handoff, upstream
from app.fetch.errors import FetchError, InvalidModule, ZipRulesBroken, classify
from app.fetch.gotool import (
    GoRun,
    GoTimeout,
    fetching_env,
    isolated_env,
    parse_json_stream,
    run_go,
)
from app.fetch.info import info_time
from app.fetch.relay import Relay
from app.gomod import h1, modfile, zipcheck
from app.gomod.errors import GoModError
from app.gomod.paths import unescape_path, unescape_version

# The main module of the throw-away consumer used to resolve a build list.
CONSUMER_PATH = "depot.invalid/buildlist"

log = logging.getLogger("depot.fetch")


@dataclass
class Fetched:
    """One module version the toolchain downloaded and verified."""

    path: str
    version: str
    info_path: Path
    mod_path: Path
    zip_path: Path
    time: datetime | None
    zip_h1: str
    mod_h1: str
    facts: modfile.GoModFacts
    report: zipcheck.ZipReport


@dataclass
class Failed:
    path: str
    version: str  # the query when no version was resolved
    error: FetchError


def _read_capped(path: Path, limit: int) -> bytes:
    """A file's bytes, or a rule error once it is larger than ``limit`` (never read whole)."""
    with path.open("rb") as f:
        data = f.read(limit + 1)
    if len(data) > limit:
        raise GoModError(f"go.mod file too large (max size is {limit} bytes)")
    return data


def diagnose_zip(settings: Settings, workdir: Path, module: str, version: str) -> FetchError | None:
    """Why the upstream's zip is unusable, when the go command said no more than
    ``unexpected EOF``: fetch it ourselves (capped) and apply the module-zip rules.
    Only as a second opinion: the go command already refused the zip.

    None when the zip cannot be had or passes: the go command's own error stands.
    """
    dest = workdir / "diagnose.zip"
    try:
        if not upstream.fetch_zip(settings, module, version, dest, zipcheck.MAX_ZIP_SIZE):
            return None
        zipcheck.check_zip(dest, module, version)
    except GoModError as exc:
        return ZipRulesBroken(str(exc))
    except OSError:
        return None
    finally:
        dest.unlink(missing_ok=True)
    return None


def describe(settings: Settings, entry: dict, now: datetime | None = None) -> Fetched:
    """Check one `go mod download -json` entry and gather its facts.

    Raises :class:`FetchError` when the zip breaks the module-zip rules, the
    module's go.mod disagrees with its path, or its .info's Time lies beyond ``now``
    (the capture's time) by more than :data:`app.fetch.info.CLOCK_SKEW`. The go command passes
    the upstream's Time through into its cache unchanged: this is where Depot reads it.
    """
    path, version = entry["Path"], entry["Version"]
    zip_path, mod_path, info_path = Path(entry["Zip"]), Path(entry["GoMod"]), Path(entry["Info"])
    try:
        made = info_time(path, version, info_path.read_bytes(), now or datetime.now(UTC))
    except OSError:
        made = None
    try:
        report = zipcheck.check_zip(zip_path, path, version)
        mod_bytes = _read_capped(mod_path, modfile.MAX_GOMOD_SIZE)
        facts = modfile.parse_gomod(mod_bytes, settings.go_bin)
    except GoModError as exc:
        raise ZipRulesBroken(str(exc)) from exc
    if facts.module != path:
        raise InvalidModule(f"go.mod says module {facts.module!r}, but the path is {path!r}")
    zip_h1 = report.h1
    if entry.get("Sum") and entry["Sum"] != zip_h1:
        # go verified its own hash; ours must agree or our zip reading is wrong.
        raise ZipRulesBroken(f"zip hash {zip_h1} differs from the toolchain's {entry['Sum']}")
    return Fetched(
        path=path,
        version=version,
        info_path=info_path,
        mod_path=mod_path,
        zip_path=zip_path,
        time=made,
        zip_h1=zip_h1,
        mod_h1=h1.hash_gomod(mod_bytes),
        facts=facts,
        report=report,
    )


def from_entry(settings: Settings, workdir: Path, entry: dict) -> Fetched | Failed:
    """A version another go command of this host already downloaded and verified
    (app/fetch/ahead.py), checked and described as :func:`download` would.

    Its files are linked into ``workdir`` first, so the load that fetched them may end
    and remove its folder meanwhile. OSError when they are gone already."""
    own = dict(entry)
    folder = workdir / "ahead"
    folder.mkdir(parents=True, exist_ok=True)
    for key in ("Zip", "GoMod", "Info"):
        src = Path(entry[key])
        dest = folder / f"{key.lower()}{src.suffix}"
        try:
            os.link(src, dest)
        except OSError as exc:
            if exc.errno != errno.EXDEV:
                raise
            shutil.copyfile(src, dest)
        own[key] = str(dest)
    try:
        return describe(settings, own)
    except FetchError as exc:
        return Failed(entry["Path"], entry["Version"], exc)


def cached_go_mods(modcache: Path) -> dict[tuple[str, str], Path]:
    """Every go.mod a go command verified into the module cache ``modcache``, by
    (path, version): what loading the module graph read, selected or not."""
    return cached_files(modcache, ".mod")


def cached_files(modcache: Path, suffix: str) -> dict[tuple[str, str], Path]:
    """Every ``@v/<version><suffix>`` file a go command wrote into the module cache
    ``modcache``, by (path, version). Its checksum-database folder is not walked.

    scandir's file types and remembered names rather than Path.rglob or os.walk: the
    graph loads ahead poll this every few milliseconds while a client waits; rglob cost
    four times the CPU of os.walk, and os.walk an lstat of every folder on top (a cold
    gin v1.10.0 walk: a second of the web processes' CPU)."""
    root = os.path.join(modcache, "cache", "download")
    found: dict[tuple[str, str], Path] = {}
    folders = [(root, "")]
    while folders:
        folder, escaped = folders.pop()
        try:
            with os.scandir(folder) as entries:
                subfolders = [entry for entry in entries if entry.is_dir(follow_symlinks=False)]
        except OSError:  # removed meanwhile (a load that ended)
            continue
        for entry in subfolders:
            if entry.name == "@v":  # no module path has an element with an '@'
                try:
                    names = os.listdir(entry.path)
                except OSError:
                    continue
                for name in names:
                    if name.endswith(suffix):
                        key = _unescaped(escaped, name.removesuffix(suffix))
                        if key is not None:
                            found[key] = Path(entry.path, name)
            elif escaped or entry.name != "sumdb":
                folders.append((entry.path, f"{escaped}/{entry.name}" if escaped else entry.name))
    return found


@lru_cache(maxsize=4096)
def _unescaped(escaped_path: str, escaped_version: str) -> tuple[str, str] | None:
    """(path, version) of a module cache's file names; None for a name no go command
    writes."""
    try:
        return unescape_path(escaped_path), unescape_version(escaped_version)
    except GoModError:
        return None


def go_directive(settings: Settings, workdir: Path) -> str:
    """The language version of the pinned toolchain, for the consumer's go.mod."""
    return _toolchain_version(settings.go_bin)


@lru_cache(maxsize=4)
def _toolchain_version(go_bin: str) -> str:
    # Asked once per process: every build list and validation needs it.
    with tempfile.TemporaryDirectory(prefix="goversion-", ignore_cleanup_errors=True) as tmp:
        env = isolated_env(Path(tmp), "off", "off")
        out = run_go(go_bin, ["env", "GOVERSION"], env, Path(tmp), 60).stdout.strip()
    return out.removeprefix("go").split("-")[0] or "1.21"


def write_consumer(
    workdir: Path, module: str, version: str, lang: str, known_sums: list[str]
) -> Path:
    """A throw-away main module requiring module@version, as a user's project would."""
    return write_consumer_of(workdir, [(module, version)], lang, known_sums)


def write_consumer_of(
    workdir: Path, requires: list[tuple[str, str]], lang: str, known_sums: list[str]
) -> Path:
    """A throw-away main module requiring every (module, version) of ``requires``."""
    consumer = workdir / "consumer"
    consumer.mkdir(parents=True, exist_ok=True)
    lines = "".join(f"\t{module} {version}\n" for module, version in requires)
    (consumer / "go.mod").write_text(
        f"module {CONSUMER_PATH}\n\ngo {lang}\n\nrequire (\n{lines})\n"
    )
    (consumer / "go.sum").write_text("".join(f"{line}\n" for line in known_sums))
    return consumer


def resolve(settings: Settings, workdir: Path, module: str, query: str) -> str:
    """The concrete version the upstream gives for a query such as ``latest``.

    Resolved against the upstream alone: Depot's own tree would only know what
    it already holds.
    """
    env = fetching_env(settings, workdir, settings.upstream)
    try:
        run = run_go(
            settings.go_bin, ["list", "-m", "-json", f"{module}@{query}"], env, workdir,
            settings.fetch_timeout,
        )
    except GoTimeout as exc:
        raise classify(f"timeout: {exc}") from exc
    try:
        entries = parse_json_stream(run.stdout)
    except ValueError:
        entries = []
    if entries and entries[0].get("Version") and not entries[0].get("Error"):
        return entries[0]["Version"]
    message = (entries[0].get("Error") or {}).get("Err", "") if entries else ""
    raise classify(message or run.stderr or f"{module}@{query}: no version", workdir)


def module_of_package(settings: Settings, workdir: Path, path: str, query: str
                      ) -> tuple[str, str] | None:
    """(module, version) that provides package ``path`` at ``query``, resolved as
    `go get path@query` resolves it against the upstream; None when ``path`` is no
    package of another module (or the upstream cannot say)."""
    env = fetching_env(settings, workdir, settings.upstream)
    consumer = write_consumer_of(workdir, [], go_directive(settings, workdir), [])

    def go(*args: str) -> GoRun:
        return run_go(settings.go_bin, list(args), env, consumer, settings.fetch_timeout)

    try:
        if go("get", f"{path}@{query}").returncode != 0:
            return None
        listed = go("list", "-e", "-f", "{{with .Module}}{{.Path}} {{.Version}}{{end}}", path)
    except GoTimeout:
        return None
    module, _, version = listed.stdout.strip().partition(" ")
    if listed.returncode != 0 or not module or not version or module == path:
        return None
    return module, version


def download(settings: Settings, workdir: Path, module: str, version: str,
             shared: bool = True) -> Fetched | Failed:
    """Download and check ``module@version`` from the upstream, or say why not.

    ``shared``: through the relay (app/fetch/relay.py), which serves files a build
    list's go command already fetched and fetches each file once for all the host's go
    commands asking at the same moment; every file is checked again as any download
    is. When that fails with files of the version held from before, they are dropped and
    the upstream alone decides, in a module cache of its own. Not shared: straight from
    the upstream, for the drift check, which must see what the upstream serves now."""
    if not shared:
        return _download(settings, workdir, module, version, settings.upstream)
    held = handoff.holds(settings, module, version)
    with Relay(settings) as relay:
        fetched = _download(settings, workdir, module, version, relay.goproxy())
    if isinstance(fetched, Failed) and handoff.holds(settings, module, version):
        handoff.take(settings, module, version)  # refused: nobody else is served them
        if held:
            log.warning("%s@%s: the handed-off files did not do (%s); asking the upstream",
                        module, version, fetched.error.reason)
            fetched = _download(settings, workdir / "upstream", module, version,
                                settings.upstream)
    return fetched


def _download(settings: Settings, workdir: Path, module: str, version: str, goproxy: str
              ) -> Fetched | Failed:
    env = fetching_env(settings, workdir, goproxy)
    args = ["mod", "download", "-json", f"{module}@{version}"]
    try:
        run = run_go(settings.go_bin, args, env, workdir, settings.fetch_timeout)
    except GoTimeout as exc:
        return Failed(module, version, classify(f"timeout: {exc}"))
    try:
        entry = next(iter(parse_json_stream(run.stdout)), {})
    except ValueError:
        entry = {}
    if entry.get("Error") or not entry.get("Version"):
        error = classify(entry.get("Error") or run.stderr or run.stdout, workdir)
        vague = not error.permanent or "not a valid zip file" in error.reason
        if vague and entry.get("GoMod") and not entry.get("Zip"):
            # .info and .mod came, the zip did not, and go said only "unexpected EOF"
            # or "not a valid zip file": Depot's own check of the zip names the entry.
            error = diagnose_zip(settings, workdir, module, version) or error
        return Failed(module, version, error)
    try:
        return describe(settings, entry)
    except FetchError as exc:
        return Failed(module, version, exc)

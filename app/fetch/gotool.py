"""Running the real Go toolchain in a private, throw-away environment.

Every call gets its own GOMODCACHE/GOPATH/GOCACHE and HOME, ignores the
user's `go env -w` file and never switches toolchains, so what Depot stores is
exactly what this pinned `go` downloaded and verified.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import subprocess
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Protocol

from app.config import Settings
from app.fetch import relay

log = logging.getLogger("depot.fetch")

# Variables of the caller's environment that must not steer the toolchain.
_DROP_PREFIXES = ("GO", "CGO_")


@dataclass(frozen=True)
class Private:
    """DEPOT_PRIVATE and what reaching those repositories takes, for one go run.

    ``direct``: the run fetches (its GOPROXY is the upstream): private paths go straight
    to their version control (GOPRIVATE, so neither the upstream nor its checksum
    database hears of them) with the operator's credentials. Otherwise the run consumes
    Depot's own view (the validator's, a bundle's): those paths come from that view like
    any other, only not looked up in the checksum database (GONOSUMDB).
    """

    patterns: str
    insecure: str = ""
    netrc: Path | None = None
    gitconfig: Path | None = None
    direct: bool = True

    def apply(self, env: dict[str, str], home: Path) -> None:
        if not self.patterns:
            return
        if not self.direct:
            env["GONOSUMDB"] = self.patterns
            return
        env.update(GOPRIVATE=self.patterns, GONOPROXY=self.patterns,
                   GONOSUMDB=self.patterns, GOINSECURE=self.insecure)
        if self.netrc is not None:
            # A link, not a copy: the secret stays only where the operator mounted it. The
            # go command and git (curl) both read $HOME/.netrc.
            link = home / ".netrc"
            if not link.is_symlink():
                link.symlink_to(self.netrc)
        if self.gitconfig is not None:
            env["GIT_CONFIG_GLOBAL"] = str(self.gitconfig)


def private_access(settings: Settings, direct: bool = True) -> Private | None:
    """The settings' private paths for a go run (None when there are none)."""
    if not settings.private:
        return None
    netrc = Path(settings.private_netrc).expanduser() if settings.private_netrc else None
    if netrc is not None and not netrc.is_file():
        _say_missing(str(netrc))
    if netrc is None:
        own = Path(os.path.expanduser("~/.netrc"))
        netrc = own if own.is_file() else None
    gitconfig = (Path(settings.private_gitconfig).expanduser()
                 if settings.private_gitconfig else None)
    return Private(settings.private, settings.private_insecure, netrc, gitconfig, direct)


@lru_cache(maxsize=8)
def _say_missing(path: str) -> None:
    """Once per process: the go command and git would only say they could not ask for a
    password, which points nowhere near the missing mount."""
    log.warning("DEPOT_PRIVATE_NETRC names %s, which is not a file: private repositories "
                "are asked without credentials", path)


def isolated_env(
    workdir: Path, goproxy: str, gosumdb: str, tiles: Path | None = None,
    modcache: Path | None = None, private: Private | None = None,
) -> dict[str, str]:
    """An environment for one `go` run confined to ``workdir``.

    ``tiles``: a directory where runs share what they read of the checksum database
    (see share_checksum_tiles); ``modcache``: a module cache to use instead of a new
    one in ``workdir`` (the validator's, app/pipeline/modcache.py); everything else
    stays private to the run. ``private``: DEPOT_PRIVATE's paths (see Private).
    """
    modcache = modcache or workdir / "modcache"
    env = {k: v for k, v in os.environ.items() if not k.startswith(_DROP_PREFIXES)}
    env.update(
        HOME=str(workdir / "home"),
        XDG_CONFIG_HOME=str(workdir / "home" / ".config"),
        GOMODCACHE=str(modcache),
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
    if private is not None:
        private.apply(env, workdir / "home")
    if tiles is not None and gosumdb.split() and gosumdb.strip() != "off":
        share_checksum_tiles(workdir, tiles, gosumdb, modcache)
    return env


def fetching_env(settings: Settings, workdir: Path, goproxy: str,
                 modcache: Path | None = None) -> dict[str, str]:
    """The environment of a go run that fetches from ``goproxy`` (the upstream, or the
    relay in front of it): the settings' checksum database and shared tiles, and their
    private paths straight from version control."""
    return isolated_env(workdir, goproxy, settings.gosumdb, settings.checksum_tiles,
                        modcache, private_access(settings))


def share_checksum_tiles(workdir: Path, tiles: Path, gosumdb: str,
                         modcache: Path | None = None) -> None:
    """Point the run's checksum-database caches at ``tiles``, kept per database (its
    name and key: the first word of GOSUMDB; the URL that reaches it does not matter).

    Why: a fresh module cache re-reads the same tiles of the database's tree for every
    module it verifies (about 70 requests per process job on real build lists, most of
    the upstream traffic). Sharing them is safe: the go command checks every tile
    against a signed tree head with a Merkle proof, only ever moves the remembered head
    forward, and locks these files for concurrent go commands (a shared GOMODCACHE is
    its normal case). Module files themselves stay private to the run, so drift checks
    still download afresh.
    """
    shared = checksum_cache(tiles, gosumdb)
    for link, target in (
        ((modcache or workdir / "modcache") / "cache" / "download" / "sumdb",
         shared / "tiles"),
        (workdir / "gopath" / "pkg" / "sumdb", shared / "heads"),
    ):
        target.mkdir(parents=True, exist_ok=True)
        link.parent.mkdir(parents=True, exist_ok=True)
        if not link.is_symlink():
            link.symlink_to(target, target_is_directory=True)


def checksum_cache(tiles: Path, gosumdb: str) -> Path:
    """The shared folder of one checksum database (its name and key: the first word of
    GOSUMDB); ``tiles``/``lookup`` files the go commands fetched live under
    ``<it>/tiles/<name>/``, as the database serves them."""
    database = gosumdb.split()[0]
    return tiles / hashlib.sha256(database.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class GoRun:
    returncode: int
    stdout: str
    stderr: str


class GoCommand(Protocol):
    """``go(*args)``: the toolchain run with these arguments in a prepared consumer."""

    def __call__(self, *args: str) -> GoRun: ...


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
    # What it says names the upstream, not the relay it reached it through.
    return GoRun(done.returncode, relay.restore(done.stdout), relay.restore(done.stderr))


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

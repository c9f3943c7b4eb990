"""Offline bundles: a published version's whole build list as a GOPROXY tree in a tar.gz.

What goes in is decided by the real toolchain: a throw-away consumer of the version
downloads its build list and loads its packages through a private GOPROXY of
Depot's published view (app/bundle/served.py) with an empty module cache; every file
the go command asked for is bundled, including the go.mod files of versions that
module graph loading reads but does not select. So a consumer built from the
unpacked bundle with ``GOPROXY=file://…`` alone finds what it needs, by construction.

The tar is deterministic (sorted names, the version's publication time as every
mtime, no owners, gzip without a name or time), so the same version gives the same
bytes, and a built bundle is cached in the data dir: a published version never changes.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import shutil
import tarfile
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.bundle.served import graph_mod_row, lookup, serving, why_not
from app.config import depot_version
from app.fetch.download import go_directive, write_consumer
from app.fetch.gotool import GoRun, GoTimeout, isolated_env, parse_json_stream, run_go
from app.gomod import paths, versions
from app.gomod.errors import GoModError
from app.locks import LockTimeout, key_lock
from app.models import Artifact, BuildListMember, Module, ModuleVersion, VersionState
from app.pipeline.buildlist import excerpt, packages_of, write_imports
from app.resources import Services
from app.store import StoreError, artifact_key
from app.store.base import list_key
from app.workdirs import work_folder

# Bumped when the bundle's layout changes (part of the cache key and the manifest).
FORMAT = 1
CHUNK = 1 << 20
# Seconds a second request waits for the build another one started.
LOCK_WAIT = 900.0

USAGE = (
    "Unpack anywhere, then build with this bundle as the only module source:\n\n"
    "    export GOPROXY=file://$PWD/{top}/goproxy GOSUMDB=off GOFLAGS=-mod=mod\n"
    "    go build ./...\n\n"
    "go.sum holds the h1: checksums of every module in the bundle (append its lines to\n"
    "your project's go.sum to keep verifying); SHA256SUMS lists every other file\n"
    "(check with `sha256sum -c SHA256SUMS` inside {top}/). manifest.json says what is\n"
    "inside. The tree is a plain GOPROXY: any static web server can serve goproxy/ too.\n"
)


class BundleError(Exception):
    """A bundle cannot be made; ``kind`` is ``invalid`` (bad input), ``unavailable``
    (unknown, not published, not redistributable, incomplete) or ``failed`` (the
    toolchain failed or took too long, or another build holds the lock)."""

    def __init__(self, kind: str, reason: str) -> None:
        super().__init__(reason)
        self.kind = kind
        self.reason = reason


@dataclass(frozen=True)
class Built:
    """A bundle in the cache: its file and the description the API shows."""

    path: Path
    description: dict[str, Any]

    @property
    def file_name(self) -> str:
        return str(self.description["file_name"])

    @property
    def sha256(self) -> str:
        return str(self.description["sha256"])


def top_dir(module: str, version: str) -> str:
    """The folder the tar unpacks into: readable, one path element, no case surprises."""
    return f"{paths.escape_path(module).replace('/', '_')}@{paths.escape_version(version)}"


def file_name(module: str, version: str) -> str:
    return f"{top_dir(module, version)}.bundle.tar.gz"


# -- which version -----------------------------------------------------------------------


def resolve(services: Services, module: str, query: str) -> str:
    """``module@query`` (a canonical version or ``latest``) → a version to bundle."""
    try:
        paths.check_module_path(module)
    except GoModError as exc:
        raise BundleError("invalid", str(exc)) from exc
    if query == "latest":
        with services.db.session() as session:
            found = session.scalars(
                select(ModuleVersion.version).join(Module).where(
                    Module.path == module, ModuleVersion.state == VersionState.published,
                    ModuleVersion.redistributable.is_(True))
            ).all()
        if not found:
            raise BundleError("unavailable", f"{module} has no published version in Depot")
        tagged = [v for v in found if not versions.is_pseudo(v)]
        return versions.sort_versions(tagged or list(found))[-1]
    if not versions.is_canonical(query):
        raise BundleError("invalid", f"{query!r} is not a canonical version such as v1.2.3 "
                                     "(or latest)")
    return query


# -- what goes in ------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    """Files of the bundle: (module, version, kind) with their size, sha256 and h1."""

    module: str
    version: str
    published_at: datetime
    files: dict[tuple[str, str, str], tuple[int, str, str]]
    build_list: set[tuple[str, str]]
    go_version: str


def _stored_facts(services: Services, keys: set[tuple[str, str]]
                  ) -> dict[tuple[str, str, str], tuple[int, str, str]]:
    facts: dict[tuple[str, str, str], tuple[int, str, str]] = {}
    with services.db.session() as session:
        for path, ver in keys:
            rows = session.execute(
                select(Artifact.kind, Artifact.size, Artifact.sha256, Artifact.h1)
                .join(ModuleVersion, Artifact.version_id == ModuleVersion.id)
                .join(Module).where(Module.path == path, ModuleVersion.version == ver)
            ).all()
            for kind, size, sha, h1 in rows:
                facts[(path, ver, kind.value)] = (size, sha, h1)
            if (path, ver, "mod") not in facts:
                graph = graph_mod_row(session, path, ver)
                if graph is not None:
                    facts[(path, ver, "mod")] = (graph.size, graph.sha256, graph.h1)
    return facts


def plan(services: Services, module: str, version: str) -> Plan:
    """Ask the toolchain what a consumer of module@version reads; raise BundleError."""
    found = lookup(services, module, version)
    if found is None or not found.ok:
        raise BundleError("unavailable", "only published, redistributable versions are "
                                         "bundled: " + why_not(module, version, found))
    settings = services.settings
    with services.db.session() as session:
        row = session.scalars(select(ModuleVersion).join(Module).where(
            Module.path == module, ModuleVersion.version == version)).one()
        published_at = row.published_at or row.updated_at
        members = session.scalars(
            select(BuildListMember).where(BuildListMember.version_id == row.id)).all()
        build_list = {(module, version)} | {(m.path, m.member_version) for m in members}
        # Versions other consumers select instead (BuildListMember.selected).
        also = sorted(f"{m.path}@{m.member_version}" for m in members if not m.selected)
    with work_folder(services.work_dir, "bundle-") as workdir:
        with serving(services) as (url, record):
            env = isolated_env(workdir, url, "off")
            lang = go_directive(settings, workdir)
            consumer = write_consumer(workdir, module, version, lang, [])

            def go(*args: str) -> GoRun:
                return run_go(settings.go_bin, list(args), env, consumer,
                              settings.fetch_timeout)

            try:
                done = go("mod", "download", "-json", "all")
                entries = parse_json_stream(done.stdout) if done.stdout.strip() else []
                errors = [str(e["Error"]) for e in entries if e.get("Error")]
                if done.returncode == 0 and not errors:
                    # Loading the packages reads what a real build reads (a go.mod it
                    # needs only to settle an import), without compiling anything.
                    importable, commands = packages_of(go, [module])
                    if importable or commands:
                        go("list", "-deps", "-e", *importable, *commands)
                    # Then what `go mod tidy` reads (the modules the tests of dependencies
                    # import), bundled where Depot holds it: only a version someone asked
                    # for has a tidied build list (docs/pipeline.md), so what else tidy
                    # misses is no reason to refuse the bundle.
                    before = set(record.refused)
                    if importable:
                        write_imports(consumer, importable)
                        go("mod", "tidy", "-e")
                    go("mod", "download", "all", *also)
                    for key in set(record.refused) - before - build_list:
                        del record.refused[key]
            except GoTimeout as exc:
                raise BundleError("failed", str(exc)) from exc
    if record.refused:
        missing = "; ".join(sorted(record.refused.values()))
        raise BundleError("unavailable", f"cannot bundle {module}@{version}: {missing}")
    if done.returncode != 0 or errors:
        detail = "; ".join(errors) or done.stderr
        raise BundleError("failed", "go mod download all: " + excerpt(detail))
    zipped = {(p, v) for p, v, kind in record.served if kind == "zip"}
    if not build_list <= zipped:
        lacking = ", ".join(f"{p}@{v}" for p, v in sorted(build_list - zipped))
        raise BundleError("unavailable", f"the build list names {lacking}, which the "
                                         "toolchain did not download")
    facts = _stored_facts(services, {(p, v) for p, v, _ in record.served})
    for entry in entries:  # what the fresh cache computed must be what Depot recorded
        key = (entry.get("Path", ""), entry.get("Version", ""))
        for kind, field in (("zip", "Sum"), ("mod", "GoModSum")):
            want = facts.get((*key, kind), (0, "", ""))[2]
            if entry.get(field) and entry[field] != want:
                raise BundleError("failed", f"checksum mismatch for {key[0]}@{key[1]} "
                                            f"({kind}): Depot has {want}, go computed "
                                            f"{entry[field]}")
    files = {k: facts[k] for k in sorted(record.served) if k in facts}
    # Every served version keeps its .info: a consumer's `go get m@v` asks for it.
    for p, v, _ in list(files):
        if (p, v, "info") not in files and (p, v, "info") in facts:
            files[(p, v, "info")] = facts[(p, v, "info")]
    return Plan(module, version, published_at, dict(sorted(files.items())), build_list,
                lang)


# -- the tar -----------------------------------------------------------------------------


def go_sum(files: dict[tuple[str, str, str], tuple[int, str, str]]) -> str:
    """go.sum lines as the go command writes them: per version, the zip then go.mod."""
    lines = []
    keyed = sorted({(p, v) for p, v, _ in files},
                   key=lambda pv: (pv[0], versions.sort_key(pv[1])))
    for path, ver in keyed:
        if (path, ver, "zip") in files:
            lines.append(f"{path} {ver} {files[(path, ver, 'zip')][2]}")
        if (path, ver, "mod") in files:
            lines.append(f"{path} {ver}/go.mod {files[(path, ver, 'mod')][2]}")
    return "".join(f"{line}\n" for line in lines)


def _lists(p: Plan) -> dict[str, bytes]:
    """Each module's @v/list: its bundled versions a consumer may ask for by query."""
    tags: dict[str, list[str]] = {}
    for path, ver, kind in p.files:
        if kind == "zip" and not versions.is_pseudo(ver):
            tags.setdefault(path, []).append(ver)
    return {list_key(path): "".join(f"{v}\n" for v in versions.sort_versions(vs)).encode()
            for path, vs in tags.items()}


def manifest(p: Plan, lists: dict[str, bytes]) -> dict[str, Any]:
    members: dict[tuple[str, str], dict[str, Any]] = {}
    for (path, ver, kind), (size, _, _) in p.files.items():
        m = members.setdefault((path, ver), {
            "path": path, "version": ver, "main": (path, ver) == (p.module, p.version),
            "in_build_list": (path, ver) in p.build_list, "files": [], "bytes": 0})
        m["files"].append(kind)
        m["bytes"] += size
    listed = sum(len(b) for b in lists.values())
    ordered = sorted(members.values(), key=lambda m: (not m["main"], m["path"],
                                                      versions.sort_key(m["version"])))
    return {
        "format": FORMAT,
        "module": p.module,
        "version": p.version,
        # The version's publication time: a bundle's bytes depend only on the version.
        "created": p.published_at.isoformat(),
        "depot_version": depot_version(),
        "go_version": p.go_version,
        "usage": {"GOPROXY": f"file:///<unpacked>/{top_dir(p.module, p.version)}/goproxy",
                  "GOSUMDB": "off", "GOFLAGS": "-mod=mod"},
        "module_count": sum(1 for m in ordered if m["in_build_list"]),
        "go_mod_only": sum(1 for m in ordered if "zip" not in m["files"]),
        "file_count": len(p.files) + len(lists),
        "total_bytes": sum(s for s, _, _ in p.files.values()) + listed,
        "members": ordered,
    }


def _info(name: str, size: int, mtime: int) -> tarfile.TarInfo:
    ti = tarfile.TarInfo(name)
    ti.size, ti.mtime, ti.mode = size, mtime, 0o644
    ti.uid = ti.gid = 0
    ti.uname = ti.gname = ""
    return ti


class _Hashing:
    """Reads a stored file into the tar while checking its sha256 against the database."""

    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream
        self.digest = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        data = self.stream.read(size)
        self.digest.update(data)
        return data


def write_tar(services: Services, p: Plan, out: BinaryIO) -> dict[str, Any]:
    """Write the bundle to ``out``; returns its manifest. Same plan, same bytes."""
    top = top_dir(p.module, p.version)
    mtime = int(p.published_at.timestamp())
    lists = _lists(p)
    man = manifest(p, lists)
    small: dict[str, bytes] = {
        "manifest.json": (json.dumps(man, indent=2, sort_keys=True) + "\n").encode(),
        "go.sum": go_sum(p.files).encode(),
        "README.txt": (f"Offline bundle of {p.module}@{p.version} from Depot "
                       f"{man['depot_version']}: {man['module_count']} modules.\n\n"
                       + USAGE.format(top=top)).encode(),
        **{f"goproxy/{key}": body for key, body in lists.items()},
    }
    stored = {f"goproxy/{artifact_key(path, ver, kind)}": (path, ver, kind)
              for path, ver, kind in p.files}
    sums = {name: hashlib.sha256(body).hexdigest() for name, body in small.items()}
    sums.update({name: p.files[key][1] for name, key in stored.items()})
    small["SHA256SUMS"] = "".join(f"{sums[n]}  {n}\n" for n in sorted(sums)).encode()
    with gzip.GzipFile(filename="", mode="wb", fileobj=out, mtime=0) as gz, \
            tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name in sorted([*small, *stored]):
            if name in small:
                body = small[name]
                tar.addfile(_info(f"{top}/{name}", len(body), mtime), io.BytesIO(body))
                continue
            path, ver, kind = stored[name]
            size, sha, _ = p.files[stored[name]]
            try:
                with services.store.open(path, ver, kind) as fh:
                    reader = _Hashing(fh)
                    tar.addfile(_info(f"{top}/{name}", size, mtime), reader)
            except StoreError as exc:
                raise BundleError("unavailable", f"{path}@{ver}: store: {exc}") from exc
            except OSError as exc:  # tarfile's "unexpected end of data": a short file
                raise BundleError("failed", f"{path}@{ver} .{kind}: {exc}") from exc
            if reader.digest.hexdigest() != sha:
                raise BundleError("failed", f"{path}@{ver} .{kind} in the store does not "
                                            "match its recorded sha256")
    return man


# -- the cache ---------------------------------------------------------------------------


def cache_dir(services: Services) -> Path:
    path = services.settings.data_dir / "bundles"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _cache_key(module: str, version: str) -> str:
    ident = f"{FORMAT}|{depot_version()}|{module}@{version}"
    return hashlib.sha256(ident.encode()).hexdigest()[:40]


def cached(services: Services, module: str, version: str) -> Built | None:
    """The bundle if it was built before (touched, so eviction spares what is used)."""
    base = cache_dir(services) / _cache_key(module, version)
    try:
        description = json.loads(base.with_suffix(".json").read_text())
    except (OSError, ValueError):
        return None
    tar = base.with_suffix(".tar.gz")
    if not tar.is_file():
        return None
    now = datetime.now(UTC).timestamp()
    os.utime(tar, (now, now))
    return Built(tar, description)


def _evict(services: Services, keep: Path) -> None:
    """Oldest-used bundles go until the cache fits DEPOT_BUNDLE_CACHE_MB."""
    bound = services.settings.bundle_cache_mb * 1_000_000
    tars = []
    for tar in cache_dir(services).glob("*.tar.gz"):
        try:
            st = tar.stat()
        except FileNotFoundError:
            continue
        tars.append((st.st_mtime, st.st_size, tar))
    total = sum(size for _, size, _ in tars)
    for _, size, tar in sorted(tars):
        if total <= bound:
            break
        if tar == keep:
            continue
        tar.with_name(tar.name.removesuffix(".tar.gz") + ".json").unlink(missing_ok=True)
        tar.unlink(missing_ok=True)
        total -= size


@contextmanager
def _atomic(target: Path) -> Iterator[BinaryIO]:
    """A temporary file beside ``target`` renamed into place only when all went well."""
    fd, tmp = tempfile.mkstemp(prefix=".partial-", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _still_servable(services: Services, built: Built) -> bool:
    """Every member may still leave Depot (a license policy change can hold one back)."""
    for member in built.description["members"]:
        found = lookup(services, member["path"], member["version"])
        if found is None or not found.ok:
            return False
    return True


def build(services: Services, module: str, version: str,
          progress: Callable[[str], None] | None = None) -> Built:
    """The bundle of a published module@version, from the cache or built now (once,
    however many ask at the same time). A cached bundle holding a version Depot no
    longer serves is dropped and built again, which then says what is missing."""
    hit = cached(services, module, version)
    if hit is not None:
        if _still_servable(services, hit):
            return hit
        hit.path.with_name(hit.path.name.removesuffix(".tar.gz") + ".json").unlink(
            missing_ok=True)
        hit.path.unlink(missing_ok=True)
    key = _cache_key(module, version)
    try:
        with key_lock(services.lock_dir, "bundle:" + key, LOCK_WAIT):
            hit = cached(services, module, version)
            if hit is not None:
                return hit
            if progress:
                progress(f"resolving the build list of {module}@{version}")
            p = plan(services, module, version)
            if progress:
                progress(f"writing {len(p.files)} files")
            base = cache_dir(services) / key
            tar = base.with_suffix(".tar.gz")
            with _atomic(tar) as fh:
                man = write_tar(services, p, fh)
            digest = hashlib.sha256()
            with open(tar, "rb") as fh:
                while chunk := fh.read(CHUNK):
                    digest.update(chunk)
            description = {**man, "file_name": file_name(module, version),
                           "size": tar.stat().st_size, "sha256": digest.hexdigest()}
            with _atomic(base.with_suffix(".json")) as fh:
                fh.write(json.dumps(description, sort_keys=True).encode())
            _evict(services, tar)
            return Built(tar, description)
    except LockTimeout as exc:
        raise BundleError("failed", f"another build of this bundle is still running ({exc})"
                          ) from exc


def export(built: Built, dest: Path) -> None:
    """Copy a bundle out of the cache; ``dest`` appears whole or not at all."""
    dest = dest.resolve()
    with _atomic(dest) as out, open(built.path, "rb") as src:
        shutil.copyfileobj(src, out, CHUNK)
    os.chmod(dest, 0o644)


def estimate(session: Session, version_id: int) -> tuple[int, int]:
    """(modules, bytes) of a version's build list from the database: the page's figure
    before the bundle exists (the bundle adds only small go.mod and list files)."""
    members = (
        select(ModuleVersion.id)
        .join(Module, Module.id == ModuleVersion.module_id)
        .join(BuildListMember, (BuildListMember.path == Module.path)
              & (BuildListMember.member_version == ModuleVersion.version))
        .where(BuildListMember.version_id == version_id)
    )
    ids = [version_id, *session.scalars(members).all()]
    total = session.scalar(select(func.coalesce(func.sum(Artifact.size), 0))
                           .where(Artifact.version_id.in_(ids)))
    return len(ids), int(total or 0)




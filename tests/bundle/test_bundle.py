"""Offline bundles: `flask --app app bundle`, built from a Depot holding a dependency
chain of the fixture upstream, and a consumer built from the unpacked bundle with the
bundle as its only module source (the real go binary, no network, fresh caches)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tarfile
from pathlib import Path

import pytest
from sqlalchemy import select

from app.bundle import build
from app.models import Module, ModuleVersion, VersionState
from tests.conftest import GO
from tests.fixtures.upstream import write_consumer

TOP = "depot.test/chain/a"
VERSION = "v1.1.0"
CHAIN = {"depot.test/chain/a", "depot.test/chain/b", "depot.test/chain/c"}
# Unroutable: a go command that tried the network would fail, not quietly succeed.
NO_NETWORK = {"HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9",
              "NO_PROXY": ""}


def _cli(app, *args: str):  # type: ignore[no-untyped-def]
    return app.test_cli_runner().invoke(args=list(args))


@pytest.fixture
def chain_app(app):  # type: ignore[no-untyped-def]
    done = _cli(app, "ingest", f"{TOP}@{VERSION}", "--deps")
    assert done.exit_code == 0, done.output
    return app


@pytest.fixture
def bundle_file(chain_app, tmp_path: Path) -> Path:
    out = tmp_path / "out" / "a.tar.gz"
    out.parent.mkdir()
    done = _cli(chain_app, "bundle", f"{TOP}@{VERSION}", "-o", str(out))
    assert done.exit_code == 0, done.output
    assert "3 modules" in done.output
    return out


def unpack(bundle: Path, into: Path) -> Path:
    into.mkdir(parents=True, exist_ok=True)
    with tarfile.open(bundle) as tar:
        tar.extractall(into, filter="data")
    (top,) = list(into.iterdir())
    return top


def offline_env(tmp: Path, goproxy_dir: Path) -> dict[str, str]:
    """Fresh caches, the bundle as the only GOPROXY, no checksum database, no network."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GO", "CGO_"))}
    for name in ("GONOSUMDB", "GOPRIVATE", "GONOPROXY", "GONOSUMCHECK"):
        env.pop(name, None)
    env.update(NO_NETWORK)
    env.update(
        HOME=str(tmp / "home"), GOMODCACHE=str(tmp / "modcache"), GOPATH=str(tmp / "gopath"),
        GOCACHE=str(tmp / "gocache"), GOENV="off", GOTOOLCHAIN="local", GOWORK="off",
        GOPROXY=goproxy_dir.as_uri(), GOSUMDB="off", GOFLAGS="-mod=mod -modcacherw",
        CGO_ENABLED="0", GOTELEMETRY="off",
    )
    (tmp / "home").mkdir(parents=True, exist_ok=True)
    return env


def build_consumer(tmp: Path, top: Path) -> tuple[int, str, Path]:
    import subprocess

    consumer = write_consumer(tmp / "consumer", {TOP: VERSION})
    env = offline_env(tmp, top / "goproxy")
    done = subprocess.run([GO, "build", "-o", str(tmp / "app"), "."], cwd=consumer, env=env,
                          capture_output=True, text=True, timeout=300)
    return done.returncode, done.stderr, consumer


def sums_ok(top: Path) -> None:
    listed = {}
    for line in (top / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split("  ", 1)
        listed[name] = digest
    on_disk = {p.relative_to(top).as_posix() for p in top.rglob("*") if p.is_file()}
    assert set(listed) == on_disk - {"SHA256SUMS"}
    for name, digest in listed.items():
        assert hashlib.sha256((top / name).read_bytes()).hexdigest() == digest, name


def test_a_consumer_builds_from_the_bundle_alone(bundle_file: Path, tmp_path: Path):
    top = unpack(bundle_file, tmp_path / "unpacked")
    assert top.name == "depot.test_chain_a@v1.1.0"
    sums_ok(top)
    manifest = json.loads((top / "manifest.json").read_text())
    assert manifest["module"] == TOP and manifest["version"] == VERSION
    assert {m["path"] for m in manifest["members"] if m["in_build_list"]} == CHAIN
    assert manifest["members"][0]["main"] is True
    assert manifest["usage"]["GOSUMDB"] == "off"
    assert "GOPROXY=file://" in (top / "README.txt").read_text()
    for path in CHAIN:
        assert (top / "goproxy" / path / "@v" / "list").read_text().strip()

    code, err, consumer = build_consumer(tmp_path / "go", top)
    assert code == 0, err
    bundled = set((top / "go.sum").read_text().splitlines())
    built = set((consumer / "go.sum").read_text().splitlines())
    assert built == bundled, (built ^ bundled)  # the same lines, not just a subset
    # Every module of the chain is compiled in, so each one's zip hash is in both.
    assert {line.split()[0] for line in built if "/go.mod" not in line} == CHAIN
    import subprocess

    ran = subprocess.run([str(tmp_path / "go" / "app")], capture_output=True, text=True)
    assert ran.returncode == 0 and ran.stdout.strip(), ran


def test_a_missing_file_breaks_the_build(bundle_file: Path, tmp_path: Path):
    """The isolation is real: without one of the bundle's zips the build fails."""
    top = unpack(bundle_file, tmp_path / "unpacked")
    (top / "goproxy" / "depot.test" / "chain" / "c" / "@v" / "v1.0.0.zip").unlink()
    code, err, _ = build_consumer(tmp_path / "go", top)
    assert code != 0
    assert "depot.test/chain/c" in err


def test_same_bytes_twice(chain_app, bundle_file: Path, tmp_path: Path):
    svc = chain_app.extensions["depot"]
    shutil.rmtree(svc.settings.data_dir / "bundles")  # really build it again
    again = tmp_path / "again.tar.gz"
    done = _cli(chain_app, "bundle", f"{TOP}@{VERSION}", "-o", str(again))
    assert done.exit_code == 0, done.output
    assert again.read_bytes() == bundle_file.read_bytes()
    with tarfile.open(again) as tar:
        members = tar.getmembers()
    assert [m.name for m in members] == sorted(m.name for m in members)
    assert {(m.uid, m.gid, m.uname, m.gname) for m in members} == {(0, 0, "", "")}


def test_latest_and_bad_input(chain_app, tmp_path: Path):
    out = tmp_path / "latest.tar.gz"
    done = _cli(chain_app, "bundle", f"{TOP}@latest", "-o", str(out))
    assert done.exit_code == 0, done.output
    assert "depot.test/chain/a@v1.1.0" in done.output
    for target, code, words in [
        ("Not/A/Module@v1.0.0", 2, "malformed module path"),
        (f"{TOP}@yesterday", 2, "not a canonical version"),
        (TOP, 2, "MODULE@VERSION"),
        ("depot.test/nothing@v1.0.0", 1, "not in Depot"),
        (f"{TOP}@v9.9.9", 1, "not in Depot"),
    ]:
        bad = tmp_path / "bad.tar.gz"
        done = _cli(chain_app, "bundle", target, "-o", str(bad))
        assert done.exit_code == code, (target, done.output)
        assert words in done.output, (target, done.output)
        assert not bad.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".partial-")]


def _set_state(svc, path: str, state: VersionState, reason: str = "") -> None:  # type: ignore[no-untyped-def]
    with svc.db.session() as session:
        row = session.scalar(select(ModuleVersion).join(Module).where(
            Module.path == path, ModuleVersion.version == "v1.0.0"))
        row.state, row.reason = state, reason


def test_unpublished_dependency_is_named_and_nothing_is_written(chain_app, tmp_path: Path):
    svc = chain_app.extensions["depot"]
    _set_state(svc, "depot.test/chain/c", VersionState.validation_failed, "its own build")
    out = tmp_path / "no.tar.gz"
    done = _cli(chain_app, "bundle", f"{TOP}@{VERSION}", "-o", str(out))
    assert done.exit_code == 1, done.output
    assert "depot.test/chain/c@v1.0.0 is validation_failed, not published" in done.output
    assert not out.exists()
    assert not list((svc.settings.data_dir / "bundles").glob("*.tar.gz"))


def test_a_member_a_published_version_vouches_for_is_bundled(chain_app, tmp_path: Path):
    """Stored, through the gate, its own validation still to come: the published
    version's clean room used exactly these bytes (app/models.vouched)."""
    svc = chain_app.extensions["depot"]
    _set_state(svc, "depot.test/chain/c", VersionState.staged)
    out = tmp_path / "vouched.tar.gz"
    done = _cli(chain_app, "bundle", f"{TOP}@{VERSION}", "-o", str(out))
    assert done.exit_code == 0, done.output
    with tarfile.open(out) as tar:
        assert any(name.endswith("depot.test/chain/c/@v/v1.0.0.zip") for name in tar.getnames())


def test_the_cache_is_bounded(chain_app, tmp_path: Path):
    from dataclasses import replace

    svc = chain_app.extensions["depot"]
    svc.settings = replace(svc.settings, bundle_cache_mb=0)
    first = build(svc, TOP, VERSION)
    second = build(svc, "depot.test/chain/b", "v1.0.0")
    assert second.path.exists() and not first.path.exists()


def test_two_asking_at_once_build_once(chain_app, monkeypatch: pytest.MonkeyPatch):
    import threading

    from app.bundle import bundler as build_module

    svc = chain_app.extensions["depot"]
    calls = []
    real_plan = build_module.plan

    def counting_plan(*args):  # type: ignore[no-untyped-def]
        calls.append(args[1:])
        return real_plan(*args)

    monkeypatch.setattr(build_module, "plan", counting_plan)
    results = []
    threads = [threading.Thread(target=lambda: results.append(build(svc, TOP, VERSION)))
               for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert len(results) == 3 and len({r.sha256 for r in results}) == 1
    assert calls == [(TOP, VERSION)]


def test_a_cached_bundle_is_not_served_once_a_member_is_held_back(
        chain_app, bundle_file: Path, tmp_path: Path):
    svc = chain_app.extensions["depot"]
    with svc.db.session() as session:
        row = session.scalar(select(ModuleVersion).join(Module).where(
            Module.path == "depot.test/chain/b", ModuleVersion.version == "v1.0.0"))
        row.redistributable, row.reason = False, "license no longer allowed"
    out = tmp_path / "held.tar.gz"
    done = _cli(chain_app, "bundle", f"{TOP}@{VERSION}", "-o", str(out))
    assert done.exit_code == 1, done.output
    assert "depot.test/chain/b@v1.0.0 may not be redistributed" in done.output
    assert not out.exists()
    assert not list((svc.settings.data_dir / "bundles").glob("*.tar.gz"))

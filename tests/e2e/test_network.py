"""Against the real public upstream: ingest with checksum verification, then build through Depot.

Marked ``network``: they reach the toolchain's default Go module proxy (and its
checksum-database passthrough), nothing else.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest

from app.config import Settings, toolchain_default
from app.ingest import ingest
from app.models import RequestSource
from app.pipeline.requests import status, submit
from app.resources import Services
from tests.conftest import go_client_env, run_go, start_server
from tests.pipeline.queued import AsWorkers, NoCrawl

pytestmark = pytest.mark.network

# Small real modules with few dependencies (every member is validated with a build, so a
# module pulling in golang.org/x/tools would cost minutes): a mixed-case path, a module
# without go.mod (Depot and go synthesize it) and a plain one.
MODULES = {
    "github.com/google/uuid": "v1.6.0",
    "github.com/BurntSushi/toml": "v1.4.0",
    "github.com/pkg/errors": "v0.9.1",
}

MAIN = """package main

import (
\t"fmt"

\t"github.com/BurntSushi/toml"
\t"github.com/google/uuid"
\t"github.com/pkg/errors"
)

func main() {
\tvar v struct{ Name string }
\tif _, err := toml.Decode(`Name = "Depot"`, &v); err != nil {
\t\tpanic(errors.Wrap(err, "decoding"))
\t}
\tfmt.Println(v.Name)
\tfmt.Println(len(uuid.NewString()))
}
"""


@pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)
def test_real_modules_through_depot_with_sumdb(real_settings: Settings, tmp_path: Path):
    svc = Services.from_settings(real_settings)
    from app.migrate import upgrade

    upgrade(svc.db.engine)
    for path, version in MODULES.items():
        report = ingest(svc, path, version, deps=True)
        assert report.ok, report.outcomes
    assert svc.store.read_bytes("github.com/BurntSushi/toml", "v1.4.0", "mod").startswith(
        b"module github.com/BurntSushi/toml"
    )
    assert (svc.settings.data_dir / "store" / "github.com/!burnt!sushi/toml/@v/v1.4.0.zip").exists()

    server = start_server(real_settings, tmp_path)
    try:
        consumer = tmp_path / "consumer"
        consumer.mkdir()
        requires = "".join(f"\t{p} {v}\n" for p, v in MODULES.items())
        (consumer / "go.mod").write_text(
            f"module depot.test/netconsumer\n\ngo 1.22\n\nrequire (\n{requires})\n"
        )
        (consumer / "main.go").write_text(MAIN)
        # GOSUMDB stays the default: lookups must go through Depot's /sumdb/ passthrough.
        env = go_client_env(tmp_path / "client", server.url, real_settings.gosumdb)
        done = run_go(["run", "."], consumer, env)
        assert done.returncode == 0, done.stderr
        assert done.stdout.splitlines() == ["Depot", "36"]
        assert run_go(["mod", "verify"], consumer, env).returncode == 0
        # The lookups went through Depot's /sumdb/ passthrough (answered from what the
        # pipeline's go commands had read, or fetched and cached).
        name = re.escape(real_settings.sumdb_name)
        assert re.search(rf"GET /sumdb/{name}/lookup/github.com/google/uuid@v1.6.0 200",
                         server.log.read_text()), server.log.read_text()[-3000:]
    finally:
        server.stop()
        svc.db.dispose()


def test_lying_http_upstream_is_refused(settings: Settings, tmp_path: Path):
    """Depot in front of Depot: an upstream that serves altered bytes of a real module."""
    real = replace(
        settings,
        upstream=toolchain_default(settings.go_bin, "GOPROXY"),
        gosumdb=toolchain_default(settings.go_bin, "GOSUMDB"),
    )
    liar_dir = tmp_path / "liar"
    liar = replace(real, data_dir=liar_dir, store_url=(liar_dir / "store").as_uri(),
                   database_url=f"sqlite:///{liar_dir / 'db.sqlite3'}")
    liar_svc = Services.from_settings(liar)
    from app.migrate import upgrade

    upgrade(liar_svc.db.engine)
    assert ingest(liar_svc, "github.com/google/uuid", "v1.6.0").ok
    zip_path = liar_dir / "store/github.com/google/uuid/@v/v1.6.0.zip"
    zip_path.chmod(0o644)
    data = bytearray(zip_path.read_bytes())
    data[100] ^= 0xFF  # one flipped byte inside the first file's data
    zip_path.write_bytes(bytes(data))
    server = start_server(liar, tmp_path)
    try:
        victim = Services.from_settings(replace(real, upstream=server.url))
        upgrade(victim.db.engine)
        report = ingest(victim, "github.com/google/uuid", "v1.6.0")
        outcome = report.outcomes[0]
        assert outcome.status in ("rejected", "failed"), outcome
        assert not (real.data_dir / "store/github.com/google/uuid/@v/v1.6.0.zip").exists()
    finally:
        server.stop()
        liar_svc.db.dispose()


@pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)
def test_hey_installs_through_depot_alone(real_settings: Settings, tmp_path: Path):
    """rakyll/hey v0.1.4 (GoCenter's era): its build list holds a pre-module x/net
    pseudo-version and x/text v0.3.0, whose commands and some packages import modules
    their (missing) go.mod never required. Those are the modules' own defects; both
    must be published, or `go install` through Depot alone fails with a 404."""
    svc = Services.from_settings(real_settings)
    from app.migrate import upgrade

    upgrade(svc.db.engine)
    report = ingest(svc, "github.com/rakyll/hey", "v0.1.4", deps=True)
    assert report.ok, report.outcomes
    assert {o.path for o in report.outcomes} >= {"golang.org/x/net", "golang.org/x/text"}
    server = start_server(real_settings, tmp_path)
    try:
        env = go_client_env(tmp_path / "client", server.url, real_settings.gosumdb)
        done = run_go(["install", "github.com/rakyll/hey@v0.1.4"], tmp_path / "anywhere", env)
        assert done.returncode == 0, done.stderr
        assert (tmp_path / "client" / "gopath" / "bin" / "hey").is_file()
    finally:
        server.stop()
        svc.db.dispose()


GIN_MAIN = """package main

import (
\t"net/http/httptest"

\t"github.com/gin-gonic/gin"
)

func main() {
\tgin.SetMode(gin.ReleaseMode)
\tr := gin.New()
\tr.GET("/", func(c *gin.Context) { c.String(200, "depot") })
\tw := httptest.NewRecorder()
\tr.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
\tprintln(w.Body.String())
}
"""


@pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)
def test_gin_tidies_and_builds_through_depot_alone(real_settings: Settings, tmp_path: Path):
    """gin v1.10.0: bytedance/sonic, go-toml/v2 and others in its build list read go.mod
    files of versions they do not select (testify, objx); a consumer's `go mod tidy` and
    `go build` must find every one of them in Depot the moment gin's request ends
    published (taken as the workers take it: the members' own build lists come later)."""
    svc = Services.from_settings(real_settings)
    from app.migrate import upgrade

    upgrade(svc.db.engine)
    dispatcher = NoCrawl(svc)
    asked = submit(svc, dispatcher, "github.com/gin-gonic/gin", "v1.10.0", RequestSource.api)
    dispatcher.drain(AsWorkers(svc, dispatcher))
    final = status(svc, asked.request_id)
    assert final is not None and final["state"] == "published", final
    server = start_server(real_settings, tmp_path)
    try:
        consumer = tmp_path / "consumer"
        consumer.mkdir()
        (consumer / "go.mod").write_text("module depot.test/ginconsumer\n\ngo 1.22\n\n"
                                         "require github.com/gin-gonic/gin v1.10.0\n")
        (consumer / "main.go").write_text(GIN_MAIN)
        env = go_client_env(tmp_path / "client", server.url, real_settings.gosumdb)
        tidy = run_go(["mod", "tidy"], consumer, env)
        assert tidy.returncode == 0, tidy.stderr
        built = run_go(["run", "."], consumer, env)
        assert built.returncode == 0, built.stderr
        assert "depot" in built.stderr  # println writes to standard error
    finally:
        server.stop()
        svc.db.dispose()


UNTAGGED_MAIN = """package main

import (
\t_ "github.com/kardianos/osext"
\t_ "gopkg.in/mgo.v2/dbtest"
)

func main() {}
"""


@pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)
def test_imports_of_untagged_modules_resolve_through_depot_alone(
    real_settings: Settings, tmp_path: Path
):
    """gopkg.in/mgo.v2 (no go.mod) imports gopkg.in/tomb.v2, and kardianos/osext has no
    tag either: the upstream lists only pseudo-versions for them and answers their
    @latest 404. A fetch-mode Depot answered such a list 404, which ends the go
    command's search: `go mod tidy` failed through Depot alone and passed upstream."""
    fetching = replace(real_settings, on_miss="fetch")
    svc = Services.from_settings(fetching)
    from app.migrate import upgrade

    upgrade(svc.db.engine)
    server = start_server(fetching, tmp_path)
    try:
        consumer = tmp_path / "consumer"
        consumer.mkdir()
        (consumer / "go.mod").write_text("module depot.test/untagged\n\ngo 1.22\n")
        (consumer / "main.go").write_text(UNTAGGED_MAIN)
        env = go_client_env(tmp_path / "client", server.url, fetching.gosumdb)
        tidy = run_go(["mod", "tidy"], consumer, env)
        assert tidy.returncode == 0, tidy.stderr
        required = (consumer / "go.mod").read_text()
        assert "gopkg.in/tomb.v2 v2.0.0-" in required and "kardianos/osext v0.0.0-" in required
        built = run_go(["build", "-o", str(tmp_path / "consumer-bin"), "."], consumer, env)
        assert built.returncode == 0, built.stderr
    finally:
        server.stop()
        svc.db.dispose()


def test_partial_tiles_are_prefixes_of_full_tiles(real_settings: Settings):
    """What app/goproxy/sumdb.py relies on to cut a partial tile from a full one it
    holds, checked on the real checksum database with two partial tiles a cold walk
    of cobra v1.8.1 asked for (2026-12-04) and the full tiles they grew into. The
    database keeps the partial tiles of the tree heads it signed; one it no longer
    serves is a skip, not a pass."""
    import requests

    from app.fetch import upstream

    base = upstream.sumdb_base(real_settings, real_settings.sumdb_name)
    assert base, real_settings.gosumdb
    for tile, width in (("tile/8/0/x259/112", 126), ("tile/8/1/x001/012", 40)):
        full = requests.get(f"{base}/{tile}", timeout=30)
        part = requests.get(f"{base}/{tile}.p/{width}", timeout=30)
        assert full.status_code == 200, full.status_code
        if part.status_code == 404:
            pytest.skip(f"the database no longer serves {tile}.p/{width}")
        assert part.status_code == 200, part.status_code
        assert len(full.content) == 256 * 32
        assert part.content == full.content[:width * 32]

"""Flask commands: `flask --app app migrate | downgrade | ingest | bundle | discover | jobs |
reindex | render | docs | fsck | serve`, each a module-level command that create_app adds
(COMMANDS). The notifier's and the drift alarm's live beside their code (app/notify/cli.py,
app/drift/cli.py); `worker` is jobs/cli.py's, found through its entry point."""

from __future__ import annotations

import logging
import os
import sys
import time
from pathlib import Path
from typing import TextIO

import click
from flask.cli import AppGroup, with_appcontext
from redis import Redis
from sqlalchemy.exc import OperationalError

from app import migrate as migrations
from app.bundle import BundleError, build, export, resolve
from app.catalog.prepared import prepare_version, unrendered
from app.fetch.ahead import sweep_memory_loads
from app.fsck import check
from app.ingest import InvalidRequest, Outcome, ingest
from app.models import RequestSource, VersionState
from app.pipeline.requests import submit_many
from app.pkgdoc.kept import prepare_docs, undocumented
from app.queue import (
    RQDispatcher,
    connect,
    failed_jobs,
    retry_failed,
)
from app.redact import mask_url
from app.resources import Services
from app.search.documents import shown_counts
from app.search.fts import Fts5Search
from app.search.indexing import all_documents
from app.search.updates import index_of
from app.shorten import size
from app.store import StoreError
from app.wiring import depot
from app.workdirs import leftovers


def _describe(o: Outcome) -> str:
    line = f"{o.status:>10}  {o.path}@{o.version}"
    if o.sizes:
        line += f"  (zip {size(o.sizes.get('zip', 0))})"
    if o.reason:
        line += f"  — {o.reason}"
    return line


def parse_target(target: str) -> tuple[str, str]:
    """``module``, ``module@version`` or ``module@latest`` → (module, query)."""
    module, _, query = target.strip().partition("@")
    return module, query or "latest"


@click.command("migrate")
@click.option("--revision", default="head", show_default=True)
@with_appcontext
def migrate_cmd(revision: str) -> None:
    """Create or upgrade the database schema (and fill SQLite's search index the first
    time it is there while modules are already published)."""
    svc = depot()
    migrations.upgrade(svc.db.engine, revision)
    click.echo(f"database at revision {migrations.current(svc.db.engine)}")
    index = index_of(svc)
    if (revision == "head" and isinstance(index, Fts5Search) and index.count() == 0
            and svc.aggregates.mark()[0]):
        click.echo("the search index is empty: building it once")
        _rebuild_search_index(svc)

@click.command("downgrade")
@click.argument("revision")
@with_appcontext
def downgrade_cmd(revision: str) -> None:
    """Downgrade the database schema to REVISION (``base`` removes it)."""
    migrations.downgrade(depot().db.engine, revision)
    click.echo(f"database at revision {migrations.current(depot().db.engine)}")

@click.command("ingest")
@click.argument("target")
@click.option("--deps", is_flag=True, help="Also ingest the whole build list.")
@click.option(
    "--refetch", is_flag=True,
    help="Download again even if present and record drift if the upstream changed.",
)
@with_appcontext
def ingest_cmd(target: str, deps: bool, refetch: bool) -> None:
    """Run the pipeline for TARGET (MODULE, MODULE@VERSION or MODULE@latest) here."""
    svc = depot()
    module, query = parse_target(target)
    if svc.settings.sumdb_off:
        click.echo(
            "warning: DEPOT_GOSUMDB=off: downloads are NOT verified against a checksum "
            "database",
            err=True,
        )
    upstream = mask_url(svc.settings.upstream)
    if svc.settings.is_private(module):
        said = (f"ingesting {module}@{query} from its own repository (DEPOT_PRIVATE)"
                f"{f', its build list from {upstream}' if deps else ''}")
    else:
        said = f"ingesting {module}@{query}{' with its build list' if deps else ''} from {upstream}"
    click.echo(said, err=True)
    try:
        report = ingest(svc, module, query, deps=deps, refetch=refetch,
                        progress=lambda o: click.echo(_describe(o)))
    except InvalidRequest as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    ok = sum(o.ok for o in report.outcomes)
    click.echo(f"{ok}/{len(report.outcomes)} module versions available"
               f"{'' if report.upstream_called else ' (no upstream call)'}", err=True)
    if not report.ok:
        sys.exit(1)

@click.command("bundle")
@click.argument("target")
@click.option("-o", "--output", "output", required=True,
              type=click.Path(dir_okay=False, writable=True, path_type=Path),
              help="Where to write the .tar.gz (written whole or not at all).")
@with_appcontext
def bundle_cmd(target: str, output: Path) -> None:
    """Write an offline bundle of TARGET (MODULE@VERSION or MODULE@latest): its whole
    build list as a GOPROXY tree with go.sum, SHA256SUMS and a manifest."""
    svc = depot()
    module, query = parse_target(target)
    if "@" not in target:
        click.echo(f"error: give MODULE@VERSION (or {module}@latest)", err=True)
        sys.exit(2)
    try:
        version = resolve(svc, module, query)
        built = build(svc, module, version, progress=lambda line: click.echo(line, err=True))
        export(built, output)
    except BundleError as exc:
        click.echo(f"error: {exc.reason}", err=True)
        sys.exit(2 if exc.kind == "invalid" else 1)
    d = built.description
    click.echo(f"{output}: {module}@{version}, {d['module_count']} modules "
               f"({d['go_mod_only']} more go.mod files), {d['file_count']} files, "
               f"{size(d['size'])} (sha256 {d['sha256']})")

@click.command("discover")
@click.option("--from-file", "from_file", type=click.File("r"), required=True,
              help="One MODULE[@VERSION] a line; # starts a comment.")
@with_appcontext
def discover_cmd(from_file: TextIO) -> None:
    """Queue requests for a seed list (the workers do the rest)."""
    svc = depot()
    lines = [ln.split("#", 1)[0].strip() for ln in from_file]
    targets = [parse_target(ln) for ln in lines if ln]
    dispatcher = RQDispatcher(svc.settings, connect(svc.settings))
    with click.progressbar(length=len(targets), label="queueing", show_pos=True) as bar:
        done = submit_many(svc, dispatcher, targets, RequestSource.seed, bar.update)
    click.echo(f"{done.created} requests queued, {done.reused} already pending, "
               f"{len(done.refused)} refused")
    for module, query, why in done.refused:
        click.echo(f"refused: {module}@{query}: {why}", err=True)
    if done.refused:
        sys.exit(1)

@click.group("jobs", cls=AppGroup)
def jobs_group() -> None:
    """Inspect and retry failed jobs."""

@jobs_group.command("failed")
def jobs_failed() -> None:
    """List failed jobs of every queue."""
    rows = failed_jobs(_connection())
    for job in rows:
        click.echo(f"{job['id']}  {job['queue']:<9}  {job['description']}  — {job['error']}")
    click.echo(f"{len(rows)} failed job(s)", err=True)

@jobs_group.command("retry")
@click.argument("job_id", required=False)
@click.option("--all", "retry_all", is_flag=True, help="Retry every failed job.")
def jobs_retry(job_id: str | None, retry_all: bool) -> None:
    """Put failed job JOB_ID (or --all) back on its queue."""
    if not job_id and not retry_all:
        raise click.UsageError("give a JOB_ID or --all")
    count = retry_failed(_connection(), None if retry_all else job_id)
    if job_id and not count:
        click.echo(f"no failed job {job_id}", err=True)
        sys.exit(1)
    click.echo(f"{count} job(s) queued again")

@click.command("reindex")
@with_appcontext
def reindex_cmd() -> None:
    """Rebuild the search index from the catalogue: a new index is filled, then the
    alias is moved to it in one step (searches keep working meanwhile)."""
    svc = depot()
    if not _rebuild_search_index(svc):
        raise click.ClickException(
            "no search index here: with PostgreSQL and no ELASTICSEARCH_URL the database "
            "search reads the catalogue directly")

@click.command("render")
@with_appcontext
def render_cmd() -> None:
    """Render the README and synopsis of every published version that has none kept
    (versions published before rendering was kept, or by an older renderer)."""
    svc = depot()
    todo = unrendered(svc.db)
    for module, version in todo:
        prepare_version(svc.db, svc.store, module, version)
    click.echo(f"rendered {len(todo)} version{'' if len(todo) == 1 else 's'}")

@click.command("docs")
@click.argument("target", required=False)
@with_appcontext
def docs_cmd(target: str | None) -> None:
    """Document the packages of MODULE@VERSION, or of every published version that has no
    documentation kept (published before documentation was kept, or by an older revision)."""
    svc = depot()
    if target:
        module, at, version = target.partition("@")
        if not at or not version:
            raise click.BadParameter("give MODULE@VERSION", param_hint="TARGET")
        todo = [(module, version)]
    else:
        todo = undocumented(svc.db, [VersionState.published.value])
    for n, (module, version) in enumerate(todo, 1):
        click.echo(f"[{n}/{len(todo)}] {module}@{version}", err=True)
        if not prepare_docs(svc.db, svc.store, svc.doc_tools, module, version):
            raise click.ClickException(f"Depot has no {module}@{version}")
    click.echo(f"documented {len(todo)} version{'' if len(todo) == 1 else 's'}")

@click.command("fsck")
@click.option("--json", "as_json", is_flag=True, help="One JSON report on stdout.")
@click.option("--repair", is_flag=True,
              help="Remove temporary files older than --tmp-age and the work folders "
                   "of killed jobs (never one a live process uses), and rewrite @v/list "
                   "files from the database (never a file a row knows).")
@click.option("--tmp-age", default=600, show_default=True, type=click.IntRange(0),
              help="Seconds a temporary file must be old before --repair removes it.")
@click.option("--quick", is_flag=True, help="Compare sizes only, do not hash the bytes.")
@click.option("--examples", default=10, show_default=True, type=click.IntRange(0),
              help="Problems shown per kind in the summary.")
@with_appcontext
def fsck_cmd(as_json: bool, repair: bool, tmp_age: int, quick: bool, examples: int) -> None:
    """Check that the database and the store agree (exit 1 when they do not); report
    the work folders killed jobs left under the data dir."""
    svc = depot()
    try:
        report = check(svc, hash_files=not quick, repair=repair, tmp_age=tmp_age)
    except StoreError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(report.to_json() if as_json else report.summary(examples))
    if not report.ok:
        sys.exit(1)

@click.command("serve")
@click.option("--workers", "worker_count", default=1, show_default=True,
              help="Pipeline worker processes to run beside the web server.")
@with_appcontext
def serve_cmd(worker_count: int) -> None:
    """Run everything on this machine: embedded Redis (unless REDIS_URL is set),
    the web server (granian or gunicorn, DEPOT_HTTP_SERVER; GOPROXY and portal) and
    pipeline workers; a worker or
    the embedded Redis that dies is started again, and the web server dying ends
    serve with a non-zero status (app.lifecycle.Supervisor)."""
    svc = depot()
    try:
        migrated = migrations.current(svc.db.engine) is not None
    except OperationalError as exc:
        raise click.ClickException(f"the database is not reachable: {exc}") from exc
    if not migrated:
        # Else every worker dies on its first query, and is started again, forever.
        raise click.ClickException("the database has no schema yet: run "
                                   "`flask --app app migrate` first (`make run` does)")
    log = logging.getLogger("depot.serve")
    # Before any worker starts: what jobs killed with an earlier serve left (a module
    # cache each). A folder a live process of the host still uses keeps its owner
    # lock and is left alone (app/workdirs.py).
    swept = leftovers(svc.work_dir, remove=True)
    gone = [s for s in swept if s.removed]
    if gone:
        log.warning("removed %d work folder(s) of killed jobs (%s bytes): %s", len(gone),
                    f"{sum(s.size for s in gone):,}", ", ".join(s.name for s in gone))
    for stuck in [s for s in swept if not s.removed]:
        log.warning("could not remove the work folder %s of a killed job", stuck.name)
    loads = sweep_memory_loads()
    if loads:
        log.warning("removed %d graph load(s) ahead left in memory by killed processes",
                    loads)
    # What is left is supervision: it runs in a process of its own that imports no web
    # or pipeline code (app/supervise.py), which this one becomes (same pid, so a
    # signal meant for serve reaches it): the app loaded here would otherwise stay in
    # memory for nothing as long as `make run` runs.
    svc.db.dispose()
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, [sys.executable, "-m", "app.supervise",
                              "--workers", str(worker_count)])


def _rebuild_search_index(svc: Services) -> bool:
    """Rebuild the configured search index with a progress bar; False when there is none."""
    index = index_of(svc)
    if index is None:
        return False
    began = time.monotonic()
    used_by = shown_counts(svc.aggregates.used_by, svc.settings)
    total, documents = all_documents(svc.db, svc.store, used_by)
    try:
        with click.progressbar(length=total, label="indexing modules", show_pos=True,
                               file=sys.stderr) as bar:
            built = index.rebuild(documents, bar.update)
    except Exception as exc:  # the node's client raises many kinds; say which
        raise click.ClickException(
            f"the search index was not rebuilt ({type(exc).__name__}: {exc}); the previous "
            "index is still in use") from exc
    where = f"; {index.alias} now points to it" if hasattr(index, "alias") else ""
    click.echo(f"{total} module documents indexed into {built} in "
               f"{time.monotonic() - began:.1f} s{where}")
    return True


def _connection() -> Redis:
    return connect(depot().settings)


# What create_app adds to `flask --app app`, besides the notifier's and the drift alarm's.
COMMANDS = (migrate_cmd, downgrade_cmd, ingest_cmd, bundle_cmd, discover_cmd, jobs_group,
            reindex_cmd, render_cmd, docs_cmd, fsck_cmd, serve_cmd)

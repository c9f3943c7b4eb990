"""Flask commands: `flask --app app migrate | downgrade | ingest`."""

from __future__ import annotations

import sys

import click
from flask import Flask, current_app

from app import migrate as migrations
from app.ingest import InvalidRequest, Outcome, ingest
from app.services import Services


def _services() -> Services:
    return current_app.extensions["depot"]


def _size(n: int) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return str(n)


def _describe(o: Outcome) -> str:
    line = f"{o.status:>9}  {o.path}@{o.version}"
    if o.sizes:
        line += f"  (zip {_size(o.sizes.get('zip', 0))})"
    if o.reason:
        line += f"  — {o.reason}"
    return line


def register_commands(app: Flask) -> None:
    @app.cli.command("migrate")
    @click.option("--revision", default="head", show_default=True)
    def migrate_cmd(revision: str) -> None:
        """Create or upgrade the database schema."""
        migrations.upgrade(_services().db.engine, revision)
        click.echo(f"database at revision {migrations.current(_services().db.engine)}")

    @app.cli.command("downgrade")
    @click.argument("revision")
    def downgrade_cmd(revision: str) -> None:
        """Downgrade the database schema to REVISION (``base`` removes it)."""
        migrations.downgrade(_services().db.engine, revision)
        click.echo(f"database at revision {migrations.current(_services().db.engine)}")

    @app.cli.command("ingest")
    @click.argument("target")
    @click.option("--deps", is_flag=True, help="Also ingest the whole build list.")
    @click.option(
        "--refetch", is_flag=True,
        help="Download again even if present and record drift if the upstream changed.",
    )
    def ingest_cmd(target: str, deps: bool, refetch: bool) -> None:
        """Fetch TARGET (MODULE, MODULE@VERSION or MODULE@latest) into Depot."""
        svc = _services()
        module, _, query = target.partition("@")
        query = query or "latest"
        if svc.settings.sumdb_off:
            click.echo(
                "warning: DEPOT_GOSUMDB=off: downloads are NOT verified against a checksum "
                "database",
                err=True,
            )
        click.echo(f"ingesting {module}@{query}{' with its build list' if deps else ''} "
                   f"from {svc.settings.upstream}", err=True)
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

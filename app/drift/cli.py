"""`flask --app app drift check [MODULE[@VERSION]] [--sample N] [--json]`.

Runs the checks here (no worker needed) and prints one line per version. The exit
status lets a cron job or a CI step react: 0 all the same, 1 drift found (differs or
gone), 3 the upstream could not be asked for some version and no drift was found,
2 bad input.
"""

from __future__ import annotations

import json
import sys

import click
from flask.cli import AppGroup

from app.drift.check import CheckResult
from app.drift.sweep import check_module, sweep
from app.gomod import paths, versions
from app.gomod.errors import GoModError
from app.models import DriftOutcome
from app.resources import current_services

EXIT_DRIFT, EXIT_USAGE, EXIT_ERROR = 1, 2, 3


def result_json(r: CheckResult) -> dict:
    return {"module": r.module, "version": r.version, "outcome": r.outcome.value,
            "detail": r.detail,
            "files": [{"kind": f.kind, "stored_sha256": f.stored_sha256,
                       "upstream_sha256": f.upstream_sha256, "stored_h1": f.stored_h1,
                       "upstream_h1": f.upstream_h1} for f in r.files]}


def exit_code(results: list[CheckResult]) -> int:
    if any(r.drifted for r in results):
        return EXIT_DRIFT
    if any(r.outcome == DriftOutcome.error for r in results):
        return EXIT_ERROR
    return 0


def _line(r: CheckResult) -> str:
    return f"{r.outcome.value:>8}  {r.module}@{r.version}  — {r.detail}"


@click.group("drift", cls=AppGroup)
def drift() -> None:
    """The upstream drift alarm: compare published versions with their upstream."""

@drift.command("check")
@click.argument("target", required=False)
@click.option("--sample", type=click.IntRange(1, 100_000), default=None,
              help="Most versions to check (default DEPOT_DRIFT_SAMPLE).")
@click.option("--json", "as_json", is_flag=True, help="One JSON document on stdout.")
def check_cmd(target: str | None, sample: int | None, as_json: bool) -> None:
    """Check MODULE[@VERSION] now, or (no TARGET) run one sweep here.

    Exit status: 0 same, 1 drift found, 3 upstream errors only, 2 bad input.
    """
    svc = current_services()
    limit = sample or max(1, svc.settings.drift_sample)
    progress = None if as_json else (lambda r: click.echo(_line(r)))
    if target:
        module, _, version = target.strip().partition("@")
        try:
            paths.check_module_path(module)
        except GoModError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(EXIT_USAGE)
        if version and not versions.is_canonical(version):
            click.echo(f"error: {version!r} is not a canonical version such as v1.2.3",
                       err=True)
            sys.exit(EXIT_USAGE)
        results = check_module(svc, module, version or None, limit, "cli", progress)
        if not results:
            click.echo(f"error: Depot publishes no version of {target}", err=True)
            sys.exit(EXIT_USAGE)
    else:
        results = sweep(svc, limit, "cli", progress)
    if as_json:
        click.echo(json.dumps({"results": [result_json(r) for r in results]}, indent=2))
    else:
        counts: dict[str, int] = {}
        for r in results:
            counts[r.outcome.value] = counts.get(r.outcome.value, 0) + 1
        summary = ", ".join(f"{n} {k}" for k, n in sorted(counts.items())) or "nothing"
        click.echo(f"{len(results)} version(s) checked: {summary}", err=True)
    sys.exit(exit_code(results))



"""`flask --app app worker [QUEUE…]`: the process that runs the pipeline's jobs.

It lives with the jobs it hosts and reaches `flask` through the ``flask.commands`` entry
point of pyproject.toml, so the app never imports jobs/ (Flask finds the command in the
installed project's metadata; `make run` and `make test` install it in development mode).
"""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from app.queue import QUEUES, connect
from app.wiring import depot
from jobs.worker import run_worker


@click.command("worker")
@click.argument("queues", nargs=-1)
@click.option("--burst", is_flag=True, help="Stop when the queues are empty.")
@with_appcontext
def worker(queues: tuple[str, ...], burst: bool) -> None:
    """Run a worker on QUEUES (default: all of them, in the order of app.queue.QUEUES:
    discovery, asked, validate, process, index, notify, members, crawl)."""
    unknown = set(queues) - set(QUEUES)
    if unknown:
        raise click.BadParameter(f"unknown queue(s): {', '.join(sorted(unknown))}; "
                                 f"known: {', '.join(QUEUES)}")
    run_worker(connect(depot().settings), list(queues or QUEUES), burst=burst)

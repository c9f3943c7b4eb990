"""`flask --app app tokens create|list|revoke`: the operator's hand on who may use Depot.

A new token is printed once, on its own line on stdout (so a script can take it);
Depot keeps only its digest and cannot show it again.
"""

from __future__ import annotations

from datetime import datetime

import click
from flask.cli import AppGroup

from app.auth import tokens
from app.auth.roles import TOKEN_ROLES
from app.wiring import depot


@click.group("tokens", cls=AppGroup)
def tokens_group() -> None:
    """Tokens for the GOPROXY (HTTP Basic password), the API (Bearer) and the portal."""


@tokens_group.command("create")
@click.option("--role", required=True, type=click.Choice(list(TOKEN_ROLES)),
              help="reader: read; requester: and request modules, drift checks; "
                   "admin: everything.")
@click.option("--name", required=True, help="Who or what uses it (unique; kept after "
                                            "revocation).")
@click.option("--expires", "expires", type=click.IntRange(1, 3650), default=None,
              help="Days it is valid (default: until revoked).")
@click.option("--group", "groups", multiple=True,
              help="A group its holder belongs to, which DEPOT_PATH_RULES name (repeat "
                   "for several).")
def create_cmd(role: str, name: str, expires: int | None, groups: tuple[str, ...]) -> None:
    """Make a token and print it, once."""
    with depot().db.session() as session:
        try:
            row, token = tokens.create(session, name, role, expires, groups=groups)
        except tokens.TokenError as exc:
            raise click.ClickException(str(exc)) from exc
        until = row.expires_at.strftime("%Y-%m-%d %H:%M UTC") if row.expires_at else "revoked"
    click.echo(f"token {name!r} ({role}), valid until {until}; shown this once:", err=True)
    click.echo(token)


@tokens_group.command("list")
def list_cmd() -> None:
    """Every token: name, role, state, start, dates (never the token)."""
    with depot().db.session() as session:
        rows = tokens.listing(session)
        if not rows:
            click.echo("no tokens; make one with `tokens create --role ROLE --name NAME`")
            return
        click.echo(f"{'NAME':<24} {'ROLE':<10} {'STATE':<8} {'STARTS':<12} {'CREATED':<17} "
                   f"{'EXPIRES':<17} {'LAST USED':<17} GROUPS")
        for row in rows:
            click.echo(f"{row.name:<24} {row.role:<10} {tokens.state(row):<8} "
                       f"{row.hint + '…':<12} {_when(row.created_at):<17} "
                       f"{_when(row.expires_at):<17} {_when(row.last_used_at):<17} "
                       f"{row.groups or '-'}")


@tokens_group.command("revoke")
@click.argument("name")
def revoke_cmd(name: str) -> None:
    """Revoke the token NAME (every process stops taking it within 30 s)."""
    with depot().db.session() as session:
        try:
            row = tokens.revoke(session, name)
        except tokens.TokenError as exc:
            raise click.ClickException(str(exc)) from exc
        click.echo(f"token {row.name!r} revoked at {_when(row.revoked_at)}")


def _when(moment: object) -> str:
    return moment.strftime("%Y-%m-%d %H:%M") if isinstance(moment, datetime) else "-"

"""``hailong users``: staff accounts from the command line."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from ..extensions import db
from ..models import ROLES
from .services import UserInvalid, create_user


@click.group()
def users() -> None:
    """Staff accounts (centre managers, province analysts, admins)."""


@users.command("create")
@click.argument("username")
@click.option("--role", type=click.Choice(ROLES), required=True)
@click.option("--centre", "centres", multiple=True,
              help="Centre code a manager may see (repeat for several).")
@click.option("--name", "display_name", default=None, help="Full name shown in the users list.")
@click.password_option(help="At least 10 characters (prompted when not given).")
@with_appcontext
def create(username: str, role: str, centres: tuple[str, ...], display_name: str | None,
           password: str) -> None:
    """Create a staff account."""
    try:
        create_user(username, password, role, centres=centres, display_name=display_name)
    except UserInvalid as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from exc
    db.session.commit()
    click.echo(f"User {username} ({role}) created.")

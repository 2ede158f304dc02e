"""``hailong frame import FILE`` and ``hailong import paper FILE``."""

from __future__ import annotations

import getpass
from pathlib import Path

import click
from flask.cli import with_appcontext

from ..extensions import db
from . import ImportRejected
from .frame import import_frame_counts
from .paper import import_paper


def cli_actor() -> str:
    return f"cli:{getpass.getuser()}"


def _reject(exc: ImportRejected) -> None:
    db.session.rollback()
    for error in exc.errors:
        click.echo(str(error), err=True)
    raise click.ClickException(f"{len(exc.errors)} problem(s); nothing was imported")


@click.group("frame")
def frame() -> None:
    """Frame counts: dossiers completed per centre and month."""


@frame.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@with_appcontext
def frame_import(file: Path) -> None:
    """Import FILE (CSV or XLSX: centre, month YYYY-MM, dossiers); all rows or none."""
    try:
        result = import_frame_counts(file.name, file.read_bytes(), actor=cli_actor())
    except ImportRejected as exc:
        _reject(exc)
        return
    db.session.commit()
    click.echo(f"{result.rows} rows for {', '.join(result.months)}: {result.inserted} new, "
               f"{result.replaced} replaced, {result.removed} removed")


@click.group("import")
def import_() -> None:
    """Import responses collected outside hailong."""


@import_.command("paper")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@with_appcontext
def paper(file: Path) -> None:
    """Import paper/postal survey FILE (CSV or XLSX in item codes); all rows or none."""
    try:
        result = import_paper(file.name, file.read_bytes(), actor=cli_actor())
    except ImportRejected as exc:
        _reject(exc)
        return
    db.session.commit()
    click.echo(f"{result.rows} rows: {result.stored} stored, "
               f"{result.already_stored} were already stored")

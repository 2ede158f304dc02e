"""The ``hailong`` command: serve, db, demo, translate, score."""

from __future__ import annotations

import sys

import click
from flask import Flask
from flask.cli import FlaskGroup, with_appcontext

from .translate import translate


def _app_factory() -> Flask:
    from . import create_app

    return create_app()


@click.group(cls=FlaskGroup, create_app=_app_factory, add_version_option=False,
             add_default_commands=False)
def main() -> None:
    """hailong: citizen satisfaction with public administrative services."""


# The catalog workflow needs no app: it must work while a catalog is broken.
main.add_command(translate)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@with_appcontext
def serve(host: str, port: int) -> None:
    """Run the development server (use gunicorn in production; see README)."""
    from flask import current_app
    from werkzeug.serving import run_simple

    click.echo(f"hailong on http://{host}:{port}/  (kiosks: /kiosk/)")
    run_simple(host, port, current_app._get_current_object(), threaded=True)


@main.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True,
                                "help_option_names": []})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def score(args: tuple[str, ...]) -> None:
    """Score a CSV of ratings (see `hailong score --help`)."""
    from scoring.cli import main as score_main

    sys.exit(score_main(list(args)))


def register(app: Flask) -> None:
    """Commands that need the app are defined beside their features."""
    from .admin.cli import users
    from .demo import demo
    from .export.cli import export
    from .imports.cli import frame, import_

    app.cli.add_command(demo)
    app.cli.add_command(users)
    app.cli.add_command(export)
    app.cli.add_command(frame)
    app.cli.add_command(import_)

"""The ``hailong`` command: serve, db, demo, translate, score."""

from __future__ import annotations

import sys

import click
from flask import Flask
from flask.cli import FlaskGroup, ScriptInfo

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
@click.option("--production", is_flag=True,
              help="Run gunicorn with several worker processes instead of the development server.")
@click.option("--workers", type=int, default=None,
              help="gunicorn workers (default: 1 per core + 1).")
@click.option("--threads", type=int, default=None, help="Threads per worker (default: 4).")
@click.option("--access-log/--no-access-log", default=True, show_default=True,
              help="One line per request on stdout (off when a reverse proxy logs them).")
@click.pass_obj
def serve(info: ScriptInfo, host: str, port: int, production: bool,
          workers: int | None, threads: int | None, access_log: bool) -> None:
    """Run hailong: the development server, or gunicorn with --production."""
    from werkzeug.serving import run_simple

    if production:  # gunicorn loads the app itself: a restart builds it once, not twice
        from .ops import THREADS, default_workers, serve_production

        workers, threads = workers or default_workers(), threads or THREADS
        click.echo(f"hailong (gunicorn, {workers} workers × {threads} threads) "
                   f"on http://{host}:{port}/")
        serve_production(host, port, workers, threads=threads, access_log=access_log)
    click.echo(f"hailong on http://{host}:{port}/  (kiosks: /kiosk/)")
    run_simple(host, port, info.load_app(), threaded=True)


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
    from .ops import backup, restore

    app.cli.add_command(demo)
    app.cli.add_command(users)
    app.cli.add_command(export)
    app.cli.add_command(frame)
    app.cli.add_command(import_)
    app.cli.add_command(backup)
    app.cli.add_command(restore)

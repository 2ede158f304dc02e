"""Running hailong in production: gunicorn workers, backups and restores.

* ``hailong serve --production`` replaces itself with gunicorn running
  ``survey:create_app()`` (preloaded) in one threaded worker process per
  core plus one. On one box SQLite in
  WAL mode with a busy timeout (survey/__init__.py) serves them; several
  boxes or heavy load want PostgreSQL (``HAILONG_DATABASE_URL``).
* A rating is acknowledged (201/200) only after its transaction committed,
  so ``kill -9`` of a worker right after the answer loses nothing.
* ``hailong backup FILE`` / ``hailong restore FILE``: SQLite through its
  online backup API (consistent while kiosks keep submitting); PostgreSQL
  through ``pg_dump --format=custom`` / ``pg_restore --clean``.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy.engine import make_url

from .extensions import db


def default_workers() -> int:
    """One process per core, plus one to cover a worker busy in a long request."""
    return (os.cpu_count() or 1) + 1


#: Threads per worker: a request spends part of its time waiting on the
#: database, so a few threads keep a core busy. SQLAlchemy's default pool
#: (5 connections + 10 overflow per process) covers them.
THREADS = 4
#: Seconds an idle keep-alive connection stays open: a kiosk sending its
#: queue (or a proxy in front) reuses one connection instead of a new one each time.
KEEPALIVE = 15


def gunicorn_argv(host: str, port: int, workers: int, *, threads: int = THREADS,
                  access_log: bool = True, timeout: int = 30) -> list[str]:
    argv = [
        sys.executable, "-m", "gunicorn",
        "--workers", str(workers),
        # Threaded workers keep idle keep-alive connections without tying up
        # a thread, unlike sync workers, which close every connection.
        "--worker-class", "gthread", "--threads", str(threads),
        "--keep-alive", str(KEEPALIVE),
        # Load the app once in the master, then fork: a (re)start takes one
        # import, not one per worker. create_app opens no database
        # connection, so no socket is shared between processes.
        "--preload",
        "--config", "python:survey.gunicorn_hooks",
        "--bind", f"{host}:{port}",
        "--timeout", str(timeout),
        # Finish requests in flight on SIGTERM before a worker exits.
        "--graceful-timeout", "20",
    ]
    if access_log:
        argv += ["--access-logfile", "-"]
    return [*argv, "survey:create_app()"]


def serve_production(host: str, port: int, workers: int, *, threads: int = THREADS,
                     access_log: bool = True) -> None:
    """Replace this process by gunicorn (signals then reach gunicorn directly)."""
    argv = gunicorn_argv(host, port, workers, threads=threads, access_log=access_log)
    os.execv(argv[0], argv)  # noqa: S606 -- our own interpreter, fixed arguments


#: How every pg_dump --format=custom archive begins.
PG_DUMP_HEADER = b"PGDMP"


def _sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise click.ClickException("backup needs an SQLite file or a PostgreSQL database")
    return Path(database)


def _libpq_url(url: str) -> str:
    """The SQLAlchemy URL as libpq understands it (no ``+psycopg`` driver part)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise click.ClickException(f"{name} not found: install the PostgreSQL client tools")
    return found


def _run(argv: list[str], failed: str) -> None:
    """Run a PostgreSQL client tool; it explains on stderr what went wrong."""
    try:
        # An argument list, no shell: the URL and path cannot inject commands.
        subprocess.run(argv, check=True)  # noqa: S603
    except subprocess.CalledProcessError as error:
        raise click.ClickException(
            f"{Path(argv[0]).name} failed (exit status {error.returncode}): {failed}") from error


def backup_database(url: str, target: Path) -> None:
    """Write a consistent copy of the database at ``url`` to ``target``."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if url.startswith("sqlite"):
        source = sqlite3.connect(_sqlite_path(url))
        copy = sqlite3.connect(target)
        try:
            with copy:
                source.backup(copy)
        finally:
            copy.close()
            source.close()
        return
    _run([_tool("pg_dump"), "--format=custom", "--no-owner", "--file", str(target),
          "--dbname", _libpq_url(url)], "the backup file is not usable")


def restore_database(url: str, source: Path) -> None:
    """Replace the database at ``url`` by the backup ``source``."""
    if not source.is_file():
        raise click.ClickException(f"{source} is not a backup file")
    if url.startswith("sqlite"):
        backup = sqlite3.connect(source)
        try:
            # Before the live database is touched: an empty file opens as an
            # empty database, and copying it would delete every row.
            backup.execute("SELECT version_num FROM alembic_version").fetchone()
        except sqlite3.DatabaseError as error:
            backup.close()
            raise click.ClickException(
                f"{source} is not a backup of a hailong SQLite database ({error})") from error
        live = sqlite3.connect(_sqlite_path(url))
        try:
            with live:
                backup.backup(live)
        finally:
            live.close()
            backup.close()
        return
    with source.open("rb") as file:
        if file.read(len(PG_DUMP_HEADER)) != PG_DUMP_HEADER:
            raise click.ClickException(
                f"{source} is not a backup of a PostgreSQL database (pg_dump --format=custom)")
    _run([_tool("pg_restore"), "--clean", "--if-exists", "--no-owner", "--single-transaction",
          "--dbname", _libpq_url(url), str(source)], "the database is unchanged")


@click.command()
@click.argument("target", type=click.Path(dir_okay=False, path_type=Path))
@with_appcontext
def backup(target: Path) -> None:
    """Copy the whole database to TARGET (safe while kiosks submit)."""
    backup_database(current_app.config["SQLALCHEMY_DATABASE_URI"], target)
    click.echo(f"Backed up to {target}")


@click.command()
@click.argument("source", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--yes", is_flag=True, help="Do not ask before replacing the database.")
@with_appcontext
def restore(source: Path, yes: bool) -> None:
    """Replace the whole database by the backup SOURCE."""
    url = current_app.config["SQLALCHEMY_DATABASE_URI"]
    if not yes:
        click.confirm(f"Replace every row of {make_url(url).database} by {source}?",
                      abort=True)
    db.session.remove()
    db.engine.dispose()  # no pooled connection may hold the old pages
    restore_database(url, source)
    click.echo(f"Restored from {source}")

"""A benchmark's own PostgreSQL schema, dropped afterwards, with its centres."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import quote

import sqlalchemy as sa

from survey.config import sqlalchemy_url


def engine(database: str) -> sa.Engine:
    """An engine without a pool, for the benchmark's own few statements."""
    return sa.create_engine(sqlalchemy_url(database), poolclass=sa.pool.NullPool)


def execute(database: str, statement: str, **parameters: object) -> sa.CursorResult:
    with engine(database).begin() as connection:
        return connection.execute(sa.text(statement), parameters)


@contextmanager
def scratch_schema(database: str, prefix: str, *, keep: bool = False
                   ) -> Iterator[tuple[str, str]]:
    """A fresh schema in ``database``: yields its name and the app's URL using it."""
    schema = f"{prefix}_{secrets.token_hex(4)}"
    execute(database, f'CREATE SCHEMA "{schema}"')
    try:
        yield schema, f"{database}?options={quote(f'-csearch_path={schema}')}"
    finally:
        if not keep:
            execute(database, f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def add_centres(codes: list[str]) -> None:
    """Tables and ``codes`` active kiosk-quick centres, in the current app's database."""
    from survey.extensions import db

    db.create_all()
    db.session.execute(sa.text(
        "INSERT INTO admin_unit (code, name, kind) VALUES ('B', 'Bench', 'commune')"))
    db.session.execute(sa.text(
        "INSERT INTO centre (code, name, unit_id, questionnaire_id, questionnaire_version, "
        "active) VALUES (:c, :c, 1, 'kiosk-quick', 1, true)"), [{"c": c} for c in codes])
    db.session.commit()

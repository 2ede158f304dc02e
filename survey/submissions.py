"""Validating and storing a citizen's submission (HTML kiosk and JSON API alike).

Every submission is checked against the exact questionnaire version it
claims; nothing is stored unless all of it is valid, and a repeated
``submission_id`` returns the response already stored.
"""

from __future__ import annotations

import json
import threading
import time
import unicodedata
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from itertools import chain
from typing import Any

from flask import Flask, current_app, has_app_context
from flask_babel import gettext as _
from sqlalchemy import Connection, Insert, Table, bindparam, event, select
from sqlalchemy.dialects import sqlite
from sqlalchemy.orm import Session

from .database import pinging, submit_engine
from .extensions import db
from .integrity import (
    BURST,
    NEAR_IDENTICAL_ITEMS,
    NEIGHBOURS,
    answer_pattern,
    clean_text,
    device_key,
    is_burst,
)
from .models import CHANNELS, Answer, Centre, Response, utcnow
from .questionnaires import Questionnaire

#: A submission may be queued offline for a while, but not come from the future.
CLOCK_SKEW = timedelta(minutes=10)
MAX_AGE = timedelta(days=60)


@dataclass(frozen=True, slots=True)
class FieldError:
    field: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message}


@dataclass(frozen=True, slots=True)
class CentreRef:
    """What a submission needs of its (active) centre."""

    id: int
    code: str
    questionnaire_id: str
    questionnaire_version: int


_ACTIVE_CENTRES = select(Centre.code, Centre.id, Centre.questionnaire_id,
                         Centre.questionnaire_version).where(Centre.active)
_ACTIVE_CENTRE = _ACTIVE_CENTRES.where(Centre.code == bindparam("code"))


class CentreCache:
    """Every active centre by code, read at once and kept ``ttl`` seconds
    (one app, one process): one query per worker per ``ttl``, not one per
    centre — and none per submission.

    A centre changed through this process's session is forgotten at once
    (:func:`_forget_changed_centres`); one changed by another worker or
    another program is seen after at most ``ttl`` seconds: a centre
    deactivated (or moved to another questionnaire) may still take
    submissions for that long. A code missing from the snapshot is looked up
    on its own, so a centre created meanwhile is found at once. While one
    thread reads the table again the others go on with the old snapshot.
    """

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._centres: dict[str, CentreRef] | None = None
        self._expires = 0.0
        self._reading = threading.Lock()
        self._generation = 0  # bumped by clear(): a read begun before stays expired

    def _read(self, blocking: bool) -> None:
        if not self._reading.acquire(blocking=blocking):
            return  # another thread is reading; the old snapshot serves meanwhile
        try:
            started, generation = time.monotonic(), self._generation
            with db.engine.connect() as connection:
                rows = connection.execute(_ACTIVE_CENTRES).all()
            self._centres = {row.code: CentreRef(row.id, row.code, row.questionnaire_id,
                                                 row.questionnaire_version) for row in rows}
            if generation == self._generation:
                self._expires = started + self.ttl
        finally:
            self._reading.release()

    def get(self, code: str) -> CentreRef | None:
        if time.monotonic() >= self._expires:
            self._read(blocking=self._centres is None)
        centre = (self._centres or {}).get(code)
        if centre is not None:
            return centre
        with db.engine.connect() as connection:
            row = connection.execute(_ACTIVE_CENTRE, {"code": code}).first()
        return None if row is None else CentreRef(row.id, row.code, row.questionnaire_id,
                                                  row.questionnaire_version)

    def clear(self) -> None:
        self._generation += 1
        self._expires = 0.0


def centre_cache(app: Flask) -> CentreCache:
    cache = app.extensions.get("hailong_centre_cache")
    if cache is None:
        cache = app.extensions["hailong_centre_cache"] = CentreCache(
            float(app.config["CENTRE_CACHE_SECONDS"]))
    return cache


@event.listens_for(Session, "after_flush")
def _forget_changed_centres(session: Session, _context: Any) -> None:
    if has_app_context() and any(isinstance(obj, Centre) for obj in
                                 chain(session.new, session.dirty, session.deleted)):
        centre_cache(current_app._get_current_object()).clear()  # type: ignore[attr-defined]


class SubmissionInvalid(Exception):
    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in errors))
        self.errors = errors


@dataclass(slots=True)
class Submission:
    submission_id: uuid.UUID
    centre: CentreRef
    questionnaire: Questionnaire
    language: str
    channel: str
    started_at: datetime | None
    submitted_at: datetime
    answers: dict[str, int | None]
    demographics: dict[str, str | None] = field(default_factory=dict)
    comment: str | None = None


def parse_time(value: Any, name: str, errors: list[FieldError]) -> datetime | None:
    """An ISO 8601 time with its UTC offset, in UTC."""
    if value is None:
        return None
    if not isinstance(value, str):
        errors.append(FieldError(name, _("Must be an ISO 8601 date and time.")))
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        errors.append(FieldError(name, _("Must be an ISO 8601 date and time.")))
        return None
    if parsed.tzinfo is None:
        errors.append(FieldError(name, _("The time must include its UTC offset.")))
        return None
    try:
        return parsed.astimezone(UTC)
    except OverflowError:  # e.g. 0001-01-01T00:00+00:01 is before year 1 in UTC
        errors.append(FieldError(name, _("The time is not plausible.")))
        return None


def on_server_clock(sent_at: datetime | None, *times: datetime | None
                    ) -> tuple[datetime | None, ...]:
    """``times`` read on a client's clock, moved onto the server's by
    (server now - ``sent_at``, the client's clock when it sent them): how long
    before sending each was, which a wrong but running clock measures
    correctly. Unchanged without ``sent_at``. OverflowError if a moved time
    leaves the calendar (years 1-9999)."""
    if sent_at is None:
        return times
    shift = utcnow() - sent_at
    return tuple(None if time is None else time + shift for time in times)


def _device_times(payload: Mapping[str, Any], errors: list[FieldError]
                  ) -> tuple[datetime | None, datetime]:
    """``started_at`` and ``submitted_at`` on the server's clock.

    A kiosk's clock may be wrong by hours or years (no network time, a flat
    clock battery), and a rating may wait in its offline queue for days: a
    client that also sends ``sent_at`` has them moved by
    :func:`on_server_clock`. Either way they must then lie between
    ``MAX_AGE`` ago and ``CLOCK_SKEW`` ahead.
    """
    now = utcnow()
    started_at = parse_time(payload.get("started_at"), "started_at", errors)
    submitted_at = parse_time(payload.get("submitted_at"), "submitted_at", errors)
    sent_at = parse_time(payload.get("sent_at"), "sent_at", errors)
    if sent_at is not None and submitted_at is not None and submitted_at > sent_at:
        errors.append(FieldError("submitted_at", _("The submission is after it was sent.")))
        return None, now
    try:
        started_at, submitted_at = on_server_clock(sent_at, started_at, submitted_at)
    except OverflowError:
        errors.append(FieldError("sent_at", _("The time is not plausible.")))
        return None, now
    implausible = [name for name, value in (("started_at", started_at),
                                            ("submitted_at", submitted_at))
                   if value is not None and not now - MAX_AGE <= value <= now + CLOCK_SKEW]
    errors.extend(FieldError(name, _("The time is not plausible.")) for name in implausible)
    if implausible:
        return None, now
    return started_at, submitted_at or now


def validate(payload: Mapping[str, Any], *, languages: frozenset[str]) -> Submission:
    """Check a submission completely; raise :class:`SubmissionInvalid` with every problem."""
    from . import registry  # the app's loaded questionnaires

    errors: list[FieldError] = []
    known = {"submission_id", "centre", "questionnaire", "version", "language", "channel",
             "started_at", "submitted_at", "sent_at", "answers", "demographics", "comment"}
    for name in sorted(set(payload) - known):
        errors.append(FieldError(name, _("Unknown field.")))

    submission_id = None
    raw_id = payload.get("submission_id")
    try:
        if not isinstance(raw_id, str):
            raise ValueError
        submission_id = uuid.UUID(raw_id)
    except ValueError:
        errors.append(FieldError("submission_id", _("Must be a UUID.")))

    centre = None
    code = payload.get("centre")
    if not isinstance(code, str) or not code:
        errors.append(FieldError("centre", _("This field is required.")))
    else:
        centre = centre_cache(current_app._get_current_object()).get(code)  # type: ignore[attr-defined]
        if centre is None:
            errors.append(FieldError("centre", _("Unknown service centre.")))

    questionnaire = None
    qid, version = payload.get("questionnaire"), payload.get("version")
    if not isinstance(qid, str) or not isinstance(version, int) or isinstance(version, bool):
        errors.append(FieldError("questionnaire", _("A questionnaire id and an integer version "
                                                    "are required.")))
    else:
        questionnaire = registry().get(qid, version)
        if questionnaire is None:
            errors.append(FieldError("questionnaire", _("Unknown questionnaire version.")))
        elif centre is not None and (centre.questionnaire_id, centre.questionnaire_version) != (
            qid, version
        ):
            errors.append(FieldError("questionnaire",
                                     _("This centre does not use that questionnaire.")))

    language = payload.get("language", current_app.config["DEFAULT_LOCALE"])
    if not isinstance(language, str) or language not in languages:
        errors.append(FieldError("language", _("Unsupported language.")))
    channel = payload.get("channel")
    if channel not in CHANNELS:
        errors.append(FieldError("channel", _("Must be one of: %(choices)s.",
                                              choices=", ".join(CHANNELS))))

    started_at, submitted_at = _device_times(payload, errors)
    if started_at and started_at > submitted_at:
        errors.append(FieldError("started_at", _("The start is after the submission.")))

    answers: dict[str, int | None] = {}
    raw_answers = payload.get("answers")
    if not isinstance(raw_answers, dict):
        errors.append(FieldError("answers", _("Must be an object of item codes to ratings.")))
        raw_answers = {}
    if questionnaire is not None:
        scale = questionnaire.scale.values
        rating_codes = questionnaire.rating_codes  # built on each access
        for code_, value in raw_answers.items():
            if code_ not in rating_codes:
                errors.append(FieldError(f"answers.{code_}", _("Unknown question.")))
            elif value is not None and (not isinstance(value, int) or isinstance(value, bool)):
                errors.append(FieldError(f"answers.{code_}", _("Must be a whole number.")))
            elif value is not None and value not in scale:
                errors.append(FieldError(f"answers.{code_}",
                                         _("Must be between %(low)d and %(high)d.",
                                           low=min(scale), high=max(scale))))
        for item in questionnaire.rating_items:
            value = raw_answers.get(item.code)
            if item.required and value is None:
                errors.append(FieldError(f"answers.{item.code}",
                                         _("Please answer this question.")))
            answers[item.code] = value if isinstance(value, int) else None
        if raw_answers and all(v is None for v in answers.values()) and not any(
            e.field.startswith("answers.") for e in errors
        ):
            errors.append(FieldError("answers", _("Please answer at least one question.")))
        elif not raw_answers:
            errors.append(FieldError("answers", _("Please answer at least one question.")))

    demographics: dict[str, str | None] = {}
    raw_demo = payload.get("demographics") or {}
    if not isinstance(raw_demo, dict):
        errors.append(FieldError("demographics", _("Must be an object.")))
        raw_demo = {}
    if questionnaire is not None:
        for code_, value in raw_demo.items():
            item = questionnaire.demographic(code_)
            if item is None:
                errors.append(FieldError(f"demographics.{code_}", _("Unknown question.")))
            elif value is not None and (not isinstance(value, str)
                                        or value not in item.option_codes):
                errors.append(FieldError(f"demographics.{code_}", _("Not a valid choice.")))
            else:
                demographics[code_] = value
        for item in questionnaire.demographics:
            if item.required and demographics.get(item.code) is None:
                errors.append(FieldError(f"demographics.{item.code}",
                                         _("Please answer this question.")))

    comment = payload.get("comment")
    if comment is not None:
        if not isinstance(comment, str):
            errors.append(FieldError("comment", _("Must be text.")))
            comment = None
        else:
            comment = clean_text(comment) or None
            # NUL and other control characters: PostgreSQL refuses NUL in text,
            # and nobody types them.
            if comment and any(unicodedata.category(c) == "Cc" and c not in "\t\n\r"
                               for c in comment):
                errors.append(FieldError("comment", _("Contains characters that are not "
                                                        "allowed.")))
                comment = None
            limit = (questionnaire.comment.max_length
                     if questionnaire is not None and questionnaire.comment
                     else current_app.config["MAX_COMMENT_LENGTH"])
            if questionnaire is not None and questionnaire.comment is None and comment:
                errors.append(FieldError("comment", _("This questionnaire takes no comment.")))
            elif comment and len(comment) > limit:
                errors.append(FieldError("comment", _("At most %(max)d characters.", max=limit)))

    if errors or submission_id is None or centre is None or questionnaire is None:
        raise SubmissionInvalid(errors)
    return Submission(
        submission_id=submission_id, centre=centre, questionnaire=questionnaire,
        language=language, channel=channel, started_at=started_at, submitted_at=submitted_at,
        answers=answers, demographics=demographics, comment=comment,
    )


@dataclass(frozen=True, slots=True)
class Stored:
    """A stored response: its row id and the client's submission id."""

    id: int
    submission_id: uuid.UUID


#: Core tables: their INSERTs skip the ORM's per-value bookkeeping.
RESPONSE: Table = Response.__table__  # type: ignore[assignment]
ANSWER: Table = Answer.__table__  # type: ignore[assignment]

_STORED_ID = select(RESPONSE.c.id).where(RESPONSE.c.submission_id == bindparam("submission_id"))


@cache
def _sqlite_statements() -> tuple[Insert, Insert]:
    """SQLite's two INSERTs of :func:`store`, built once (values are bound at
    execution, so each request skips building and keying them)."""
    insert = sqlite.insert
    response = (insert(RESPONSE).on_conflict_do_nothing(index_elements=[RESPONSE.c.submission_id])
                .returning(RESPONSE.c.id))
    # RETURNING makes SQLAlchemy batch the rows into one INSERT ... VALUES
    # (insertmanyvalues) instead of one statement per answer.
    answers = insert(ANSWER).returning(ANSWER.c.item_code)
    return response, answers


#: PostgreSQL: the burst check, the response and its answers in one statement
#: (one round trip; in autocommit mode also its own transaction). The burst
#: rule is :func:`survey.integrity.is_burst`'s: a neighbour (same device,
#: centre and questionnaire version, at most 20 within the window) whose
#: answer pattern differs in at most ``near`` items.
_POSTGRESQL_STORE = """
WITH mine (item_code, value) AS MATERIALIZED (
    SELECT key, value::smallint FROM jsonb_each_text(%(answers)s::jsonb)
), neighbour AS (
    SELECT answer_pattern FROM response
    WHERE device_key = %(device_key)s AND centre_id = %(centre_id)s
      AND submitted_at BETWEEN %(low)s AND %(high)s
      AND questionnaire_id = %(questionnaire_id)s
      AND questionnaire_version = %(questionnaire_version)s
      AND length(answer_pattern) = length(%(answer_pattern)s::text)
    LIMIT %(neighbours)s
), new AS (
    INSERT INTO response (submission_id, centre_id, questionnaire_id, questionnaire_version,
                          language, channel, started_at, submitted_at, received_at, sex,
                          age_group, ethnic_group, comment, device_key, answer_pattern,
                          integrity_flag, excluded)
    VALUES (%(submission_id)s, %(centre_id)s, %(questionnaire_id)s, %(questionnaire_version)s,
            %(language)s, %(channel)s, %(started_at)s, %(submitted_at)s, %(received_at)s,
            %(sex)s, %(age_group)s, %(ethnic_group)s, %(comment)s, %(device_key)s,
            %(answer_pattern)s,
            CASE WHEN EXISTS (
                SELECT FROM neighbour n
                WHERE (SELECT count(*) FROM generate_series(1, length(n.answer_pattern)) AS i
                       WHERE substr(n.answer_pattern, i, 1)
                             <> substr(%(answer_pattern)s::text, i, 1)) <= %(near)s
            ) THEN %(burst)s END,
            false)
    ON CONFLICT (submission_id) DO NOTHING
    RETURNING id
), answers AS (
    INSERT INTO answer (response_id, item_code, value)
    SELECT new.id, mine.item_code, mine.value FROM new, mine
)
SELECT id FROM new
"""


_POSTGRESQL_STORED_ID = "SELECT id FROM response WHERE submission_id = %(submission_id)s"


def _row(submission: Submission, device: str | None) -> dict[str, Any]:
    return {
        "submission_id": submission.submission_id,
        "centre_id": submission.centre.id,
        "questionnaire_id": submission.questionnaire.id,
        "questionnaire_version": submission.questionnaire.version,
        "language": submission.language,
        "channel": submission.channel,
        "started_at": submission.started_at,
        "submitted_at": submission.submitted_at,
        "received_at": utcnow(),
        "sex": submission.demographics.get("sex"),
        "age_group": submission.demographics.get("age_group"),
        "ethnic_group": submission.demographics.get("ethnic_group"),
        "comment": submission.comment,
        "device_key": device,
        "answer_pattern": answer_pattern(submission.answers),
        "excluded": False,
    }


def _postgresql_parameters(submission: Submission) -> dict[str, Any]:
    window = timedelta(seconds=current_app.config["INTEGRITY_BURST_SECONDS"])
    row = _row(submission, device_key())
    # One JSON text, not two arrays: psycopg dumps arrays element by element in Python.
    row.update(answers=json.dumps(submission.answers),
               low=submission.submitted_at - window, high=submission.submitted_at + window,
               near=NEAR_IDENTICAL_ITEMS, neighbours=NEIGHBOURS, burst=BURST)
    return row


def _store_sqlite(connection: Connection, submission: Submission) -> int | None:
    insert_response, insert_answers = _sqlite_statements()
    answers = submission.answers
    row = _row(submission, device_key())
    questionnaire = (submission.questionnaire.id, submission.questionnaire.version)
    row["integrity_flag"] = BURST if is_burst(row["device_key"], submission.centre.id,
                                              questionnaire, submission.submitted_at,
                                              row["answer_pattern"]) else None
    new_id = connection.execute(insert_response, row).scalar()
    if new_id is not None:
        connection.execute(insert_answers, [
            {"response_id": new_id, "item_code": code, "value": value}
            for code, value in answers.items()
        ])
    return new_id


def _stored(submission_id: uuid.UUID, existing: Any) -> tuple[Stored, bool]:
    """The answer to a repeated submission: the row stored before."""
    if existing is None:  # cannot happen: the conflicting row is committed
        raise RuntimeError(f"submission {submission_id} neither new nor stored")
    return Stored(existing[0], submission_id), False


def _store_postgresql(driver: Any, submission_id: uuid.UUID, parameters: dict[str, Any]
                      ) -> tuple[Stored, bool]:
    """The one statement on a psycopg connection (the session's or the submit pool's)."""
    new = driver.execute(_POSTGRESQL_STORE, parameters).fetchone()
    if new is not None:
        return Stored(new[0], submission_id), True
    return _stored(submission_id, driver.execute(_POSTGRESQL_STORED_ID, parameters).fetchone())


def store(submission: Submission) -> tuple[Stored, bool]:
    """Store a valid submission once, in the session's transaction; return it
    and whether it is new. The caller commits.

    ``INSERT ... ON CONFLICT (submission_id) DO NOTHING`` decides atomically:
    a concurrent duplicate waits for the first one's transaction and then
    inserts nothing, so only then is the stored id looked up. A new rating
    costs one statement on PostgreSQL (burst check, response and answers
    together) and three on SQLite.
    """
    connection = db.session.connection()
    if connection.dialect.name == "postgresql":
        return _store_postgresql(connection.connection.driver_connection,
                                 submission.submission_id, _postgresql_parameters(submission))
    new_id = _store_sqlite(connection, submission)
    if new_id is not None:
        return Stored(new_id, submission.submission_id), True
    return _stored(submission.submission_id, connection.execute(
        _STORED_ID, {"submission_id": submission.submission_id}).first())


def save(submission: Submission) -> tuple[Stored, bool]:
    """Store a valid submission once and commit it (the kiosk and the API).

    On PostgreSQL this is the hot path of every kiosk: one statement on a
    pooled psycopg connection in autocommit mode — one round trip, its own
    transaction, committed before this returns — without SQLAlchemy's
    execution layer. A connection that broke while pooled (a database
    restart) is dropped and the statement sent once more on a fresh one:
    the statement is idempotent on ``submission_id``.
    """
    if db.engine.dialect.name != "postgresql":
        stored = store(submission)
        db.session.commit()
        return stored
    parameters = _postgresql_parameters(submission)
    try:
        return _save_postgresql(submission.submission_id, parameters)
    except _Disconnected:
        with pinging():  # the database restarted: every pooled connection may be dead
            return _save_postgresql(submission.submission_id, parameters)


class _Disconnected(Exception):
    """The pooled connection broke (the statement may or may not have committed)."""


def _save_postgresql(submission_id: uuid.UUID, parameters: dict[str, Any]
                     ) -> tuple[Stored, bool]:
    pooled = submit_engine().raw_connection()  # in autocommit mode
    driver = pooled.driver_connection
    try:
        return _store_postgresql(driver, submission_id, parameters)
    except Exception as exc:
        pooled.invalidate()  # broken or in an unknown state: not back into the pool
        if driver.broken:
            raise _Disconnected from exc
        raise
    finally:
        pooled.close()

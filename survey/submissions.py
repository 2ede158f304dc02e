"""Validating and storing a citizen's submission (HTML kiosk and JSON API alike).

Every submission is checked against the exact questionnaire version it
claims; nothing is stored unless all of it is valid, and a repeated
``submission_id`` returns the response already stored.
"""

from __future__ import annotations

import unicodedata
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from .extensions import db
from .integrity import BURST, clean_text, device_key, is_burst
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


class SubmissionInvalid(Exception):
    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in errors))
        self.errors = errors


@dataclass(slots=True)
class Submission:
    submission_id: uuid.UUID
    centre: Centre
    questionnaire: Questionnaire
    language: str
    channel: str
    started_at: datetime | None
    submitted_at: datetime
    answers: dict[str, int | None]
    demographics: dict[str, str | None] = field(default_factory=dict)
    comment: str | None = None


def _parse_time(value: Any, name: str, errors: list[FieldError]) -> datetime | None:
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
        parsed = parsed.astimezone(UTC)
    except OverflowError:  # e.g. 0001-01-01T00:00+00:01 is before year 1 in UTC
        errors.append(FieldError(name, _("The time is not plausible.")))
        return None
    now = utcnow()
    if parsed > now + CLOCK_SKEW or parsed < now - MAX_AGE:
        errors.append(FieldError(name, _("The time is not plausible.")))
        return None
    return parsed


def validate(payload: Mapping[str, Any], *, languages: frozenset[str]) -> Submission:
    """Check a submission completely; raise :class:`SubmissionInvalid` with every problem."""
    from . import registry  # the app's loaded questionnaires

    errors: list[FieldError] = []
    known = {"submission_id", "centre", "questionnaire", "version", "language", "channel",
             "started_at", "submitted_at", "answers", "demographics", "comment"}
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
        centre = db.session.scalar(select(Centre).where(Centre.code == code, Centre.active))
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

    started_at = _parse_time(payload.get("started_at"), "started_at", errors)
    submitted_at = _parse_time(payload.get("submitted_at"), "submitted_at", errors) or utcnow()
    if started_at and started_at > submitted_at:
        errors.append(FieldError("started_at", _("The start is after the submission.")))

    answers: dict[str, int | None] = {}
    raw_answers = payload.get("answers")
    if not isinstance(raw_answers, dict):
        errors.append(FieldError("answers", _("Must be an object of item codes to ratings.")))
        raw_answers = {}
    if questionnaire is not None:
        scale = questionnaire.scale.values
        for code_, value in raw_answers.items():
            if code_ not in questionnaire.rating_codes:
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


def find(submission_id: uuid.UUID) -> Response | None:
    return db.session.scalar(select(Response).where(Response.submission_id == submission_id))


def store(submission: Submission) -> tuple[Response, bool]:
    """Store a valid submission once; return it and whether it is new.

    The caller commits. A concurrent duplicate loses the unique constraint race
    inside a savepoint and the stored one is returned.
    """
    existing = find(submission.submission_id)
    if existing is not None:
        return existing, False
    response = Response(
        submission_id=submission.submission_id,
        centre_id=submission.centre.id,
        questionnaire_id=submission.questionnaire.id,
        questionnaire_version=submission.questionnaire.version,
        language=submission.language,
        channel=submission.channel,
        started_at=submission.started_at,
        submitted_at=submission.submitted_at,
        received_at=utcnow(),
        sex=submission.demographics.get("sex"),
        age_group=submission.demographics.get("age_group"),
        ethnic_group=submission.demographics.get("ethnic_group"),
        comment=submission.comment,
        device_key=device_key(),
        answers=[Answer(item_code=c, value=v) for c, v in submission.answers.items()],
    )
    if is_burst(response):
        response.integrity_flag = BURST
    try:
        with db.session.begin_nested():
            db.session.add(response)
            db.session.flush()
    except IntegrityError:
        existing = find(submission.submission_id)
        if existing is None:
            raise
        return existing, False
    return response, True

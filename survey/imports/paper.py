"""Paper and postal surveys: responses typed in from forms, channel ``paper``.

File columns (CSV or XLSX, header row first): ``centre`` (code), ``date``
(``YYYY-MM-DD`` the form was filled in, or a date cell), one column per item
code of the centre's questionnaire (1..5; blank = no answer), and optionally
``sex``, ``age_group``, ``ethnic_group`` (option codes), ``comment``,
``language`` and ``submission_id`` (a UUID; without it one is derived from
the file's content and the line, so importing the same file twice stores
nothing twice).

Each row is checked by :func:`survey.submissions.validate` against the
centre's questionnaire — the same rules as the kiosk — and stored with
:func:`survey.submissions.store`; one bad row and nothing is stored.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from .. import registry
from ..extensions import db
from ..i18n import languages
from ..models import AuditLog, Centre
from ..questionnaires import DEMOGRAPHIC_CODES
from ..submissions import SubmissionInvalid, store, validate
from . import ImportRejected, RowError, cell, read_upload

FIXED = ("centre", "date", "submission_id", "language", "comment", *DEMOGRAPHIC_CODES)
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
#: Namespace of submission ids derived from file content and line.
PAPER_NAMESPACE = uuid.UUID("6f1d0c1e-39a4-4b8e-9d55-0a8f4f2b7c11")


@dataclass(frozen=True, slots=True)
class PaperImportResult:
    rows: int
    stored: int
    already_stored: int


def _date(value: object) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str) and _DATE.match(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            return None
    return None


def _rating(value: object) -> Any:
    """Numbers as int (XLSX gives 4.0); text of digits as int; anything else as is."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return value


def import_paper(filename: str, data: bytes, *, actor: str) -> PaperImportResult:
    """Validate every row like a kiosk submission, then store them all."""
    header, rows = read_upload(filename, data)
    lowered = [h.lower() for h in header]
    known_items = {code for q in registry() for code in q.rating_codes}
    errors: list[RowError] = []
    for name in ("centre", "date"):
        if name not in lowered:
            errors.append(RowError(1, name, _("Missing column.")))
    for name in lowered:
        if name and name not in FIXED and name not in known_items:
            errors.append(RowError(1, name, _("Unknown column.")))
    if not rows:
        errors.append(RowError(2, "", _("The file has no data rows.")))
    if errors:
        raise ImportRejected(errors)

    pos = {name: lowered.index(name) for name in lowered if name}
    item_columns = [name for name in pos if name in known_items]
    centres = {c.code: c for c in db.session.scalars(select(Centre))}
    digest = hashlib.sha256(data).hexdigest()
    zone = ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])
    today = datetime.now(zone).date()
    codes = languages().codes
    valid = []
    seen_ids: dict[str, int] = {}
    for line, row in rows:
        code = cell(row, pos["centre"])
        centre = centres.get(str(code)) if code is not None else None
        payload: dict[str, Any] = {
            "submission_id": str(cell(row, pos.get("submission_id"))
                                 or uuid.uuid5(PAPER_NAMESPACE, f"{digest}:{line}")),
            "centre": str(code) if code is not None else None,
            "language": cell(row, pos.get("language")) or current_app.config["DEFAULT_LOCALE"],
            "channel": "paper",
            "answers": {name: _rating(cell(row, pos[name])) for name in item_columns},
        }
        if centre is not None:
            questionnaire = registry().get(centre.questionnaire_id, centre.questionnaire_version)
            payload["questionnaire"] = centre.questionnaire_id
            payload["version"] = centre.questionnaire_version
            if questionnaire is not None:
                # Columns of other questionnaires' items are simply not on this form.
                payload["answers"] = {k: v for k, v in payload["answers"].items()
                                      if k in questionnaire.rating_codes or v is not None}
        # A blank demographic column is fine for a questionnaire that does not ask it.
        demographics = {name: cell(row, pos[name]) for name in DEMOGRAPHIC_CODES
                        if name in pos and cell(row, pos[name]) is not None}
        if demographics:
            payload["demographics"] = {k: str(v) if v is not None else None
                                       for k, v in demographics.items()}
        comment = cell(row, pos.get("comment"))
        if comment is not None:
            payload["comment"] = str(comment)
        row_errors: list[RowError] = []
        filled = _date(cell(row, pos["date"]))
        if filled is None:
            row_errors.append(RowError(line, "date", _("The date must be written YYYY-MM-DD.")))
        elif filled > today or filled.year < 2000:
            row_errors.append(RowError(line, "date", _("The date is not plausible.")))
        first = seen_ids.setdefault(payload["submission_id"], line)
        if first != line:
            row_errors.append(RowError(line, "submission_id", _(
                "The same submission id is already on line %(first)d.", first=first)))
        try:
            submission = validate(payload, languages=codes)
        except SubmissionInvalid as exc:
            row_errors.extend(RowError(line, e.field, e.message) for e in exc.errors)
            submission = None
        if row_errors or submission is None or filled is None:
            errors.extend(row_errors)
            continue
        # Noon local time on the day the form was filled in: the right local day and month.
        local_noon = datetime.combine(filled, time(12), tzinfo=zone)
        submission.submitted_at = local_noon.astimezone(UTC)
        valid.append(submission)
    if errors:
        raise ImportRejected(errors)
    created = 0
    for submission in valid:
        _response, new = store(submission)
        created += new
    db.session.add(AuditLog(actor=actor, action="paper.import", details={
        "file": filename, "sha256": digest, "rows": len(valid), "stored": created,
        "already_stored": len(valid) - created,
    }))
    db.session.flush()
    return PaperImportResult(rows=len(valid), stored=created,
                             already_stored=len(valid) - created)

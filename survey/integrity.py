"""Hostile or suspicious input: clean free text, recognise bursts, decide exclusions.

A burst is a run of near-identical ratings from one device within seconds —
more than one citizen cannot fill in a form that fast. Such ratings are
stored with ``integrity_flag = "burst"``, never dropped: only an analyst's
explicit decision (:func:`decide_exclusion`, written to the audit log)
takes a rating out of the indices (``Response.excluded``).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import unicodedata
import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta

from flask import current_app, has_request_context, request
from sqlalchemy import bindparam, select

from .extensions import db
from .models import AuditLog, Response, UTCDateTime

log = logging.getLogger(__name__)

BURST = "burst"
#: Ratings of one device differing in at most this many items are "near-identical".
NEAR_IDENTICAL_ITEMS = 1
KIOSK_HEADER = "X-Kiosk-Id"
_KIOSK_ID = re.compile(r"^[A-Za-z0-9-]{8,64}$")

#: Invisible characters that can reorder or hide text when a comment is shown:
#: bidirectional embeddings, overrides and isolates (the "Trojan Source" set),
#: zero-width space, word joiner and the byte-order mark. ZWJ and ZWNJ stay:
#: emoji sequences and several scripts need them.
_INVISIBLE = dict.fromkeys(map(ord, (
    "\u061c\u200b\u200e\u200f\u202a\u202b\u202c\u202d\u202e"
    "\u2060\u2066\u2067\u2068\u2069\ufeff"
)))


def clean_text(text: str) -> str:
    """NFC, without bidi controls or invisible characters, trimmed.

    Control codes are left for the validator to refuse; the result is still
    shown escaped, never as HTML.
    """
    return unicodedata.normalize("NFC", text).translate(_INVISIBLE).strip()


def device_key() -> str | None:
    """Keyed hash of the submitting device: its kiosk id, else its address.

    The hash (HMAC with the secret key) lets bursts from one device be found
    without keeping an address or an id that could be looked up elsewhere.
    """
    if not has_request_context():
        return None
    kiosk = request.headers.get(KIOSK_HEADER, "")
    source = f"kiosk:{kiosk}" if _KIOSK_ID.match(kiosk) else f"addr:{request.remote_addr}"
    secret = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(secret, source.encode(), hashlib.sha256).hexdigest()[:32]


#: Ratings of one device at one centre in a time window compared with a new
#: one: at most this many (found through ``ix_response_device_centre_submitted``).
NEIGHBOURS = 20


def answer_pattern(answers: Mapping[str, int | None]) -> str:
    """The answers, in questionnaire order, as one character each ("-": no answer)."""
    return "".join("-" if value is None else str(value) for value in answers.values())


def near_identical(pattern: str, other: str) -> bool:
    """Two patterns of one questionnaire version differing in at most
    :data:`NEAR_IDENTICAL_ITEMS` items (an item answered in one and not in
    the other differs)."""
    return len(pattern) == len(other) and sum(
        a != b for a, b in zip(pattern, other, strict=True)) <= NEAR_IDENTICAL_ITEMS


_NEIGHBOUR_PATTERNS = (
    select(Response.answer_pattern)
    .where(
        Response.device_key == bindparam("device"),
        Response.centre_id == bindparam("centre"),
        Response.submitted_at.between(bindparam("low", type_=UTCDateTime),
                                      bindparam("high", type_=UTCDateTime)),
        Response.questionnaire_id == bindparam("questionnaire"),
        Response.questionnaire_version == bindparam("version"),
        Response.answer_pattern.is_not(None),
    )
    .limit(NEIGHBOURS)
)


def is_burst(device: str | None, centre_id: int, questionnaire: tuple[str, int],
             submitted_at: datetime, pattern: str) -> bool:
    """Whether another rating of the same device, centre and questionnaire
    version, submitted within ``INTEGRITY_BURST_SECONDS`` of ``submitted_at``,
    is near-identical (one query: the patterns of at most 20 such neighbours).

    PostgreSQL runs the same rule inside its single submit statement
    (``survey.submissions``); both are tested on the same cases.
    """
    if device is None:
        return False
    window = timedelta(seconds=current_app.config["INTEGRITY_BURST_SECONDS"])
    neighbours = db.session.connection().execute(_NEIGHBOUR_PATTERNS, {
        "device": device, "centre": centre_id,
        "questionnaire": questionnaire[0], "version": questionnaire[1],
        "low": submitted_at - window, "high": submitted_at + window,
    }).scalars()
    return any(near_identical(pattern, other) for other in neighbours)


def decide_exclusion(submission_id: uuid.UUID, *, exclude: bool, actor: str,
                     reason: str) -> Response:
    """Exclude a rating from (or return it to) the indices, with an audit entry."""
    if not reason.strip():
        raise ValueError("an exclusion decision needs a reason")
    response = db.session.scalar(select(Response).where(Response.submission_id == submission_id))
    if response is None:
        raise LookupError(f"no rating with submission id {submission_id}")
    response.excluded = exclude
    action = "response.exclude" if exclude else "response.include"
    db.session.add(AuditLog(actor=actor, action=action, details={
        "submission_id": str(submission_id), "response_id": response.id,
        "centre_id": response.centre_id, "integrity_flag": response.integrity_flag,
        "reason": reason.strip(),
    }))
    db.session.flush()
    log.warning("%s: %s rating %s (flag %s): %s", actor, action, submission_id,
                response.integrity_flag, reason.strip())
    return response

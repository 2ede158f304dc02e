"""survey.ratings.load_ratings returns exactly what the ORM holds (SQLite and PostgreSQL)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import sqlalchemy as sa
from flask import Flask
from numpy.testing import assert_array_equal

from survey.extensions import db
from survey.models import Answer, Response
from survey.ratings import RatingFrame, load_ratings

FORMS = Path(__file__).resolve().parents[2] / "forms"
V1 = ("q_access", "q_procedure", "q_staff", "q_result", "q_feedback", "overall")
#: Version 2 retires q_feedback and adds q_complaint and q_wait.
V2 = ("q_access", "q_procedure", "q_staff", "q_result", "q_complaint", "q_wait", "overall")
T0 = datetime(2025, 3, 1, 12, 0, 0, 700_000, tzinfo=UTC)


@pytest.fixture
def app_config(tmp_path: Path) -> dict[str, Any]:
    """The real forms plus a kiosk-quick version 2 with changed items."""
    forms = tmp_path / "forms"
    shutil.copytree(FORMS, forms)
    text = (forms / "kiosk-quick" / "v1.toml").read_text(encoding="utf-8")
    text = text.replace("version = 1", "version = 2").replace('code = "q_feedback"',
                                                              'code = "q_complaint"')
    text = text.replace("[overall]", '[[items]]\ncode = "q_wait"\nelement = "access"\n'
                        'text = "Thời gian chờ"\n\n[overall]')
    (forms / "kiosk-quick" / "v2.toml").write_text(text, encoding="utf-8")
    return {"FORMS_DIR": str(forms)}


@pytest.fixture
def stored(app: Flask, make_centre: Callable[..., Any],
           make_response: Callable[..., Any]) -> dict[str, Any]:
    """Responses on both versions, interleaved, with skipped items, flags and an exclusion."""
    one = make_centre("ONE", version=1)
    two = make_centre("TWO", version=2)
    rng = np.random.default_rng(3)
    for k in range(40):
        centre, items = (one, V1) if k % 3 else (two, V2)
        values = rng.integers(0, 6, len(items))
        answers = {code: (int(v) if v else None) for code, v in zip(items, values, strict=True)}
        make_response(centre, answers, submitted_at=T0 + timedelta(hours=7 * k, seconds=k),
                      sex=(None, "female", "male")[k % 3], age_group=("18-29", None)[k % 2],
                      channel=("kiosk", "qr", "paper")[k % 3],
                      integrity_flag="burst" if k % 11 == 0 else None, excluded=k == 5)
    with app.app_context():
        ids = db.session.scalars(sa.select(Response.id).order_by(Response.id)).all()
        # A response missing answer rows (read by item code, not by position).
        db.session.execute(sa.delete(Answer).where(Answer.response_id == ids[4],
                                                   Answer.item_code.in_(["q_staff", "overall"])))
        # A response without any answer row.
        db.session.execute(sa.delete(Answer).where(Answer.response_id == ids[7]))
        db.session.commit()
    return {"one": one.id, "two": two.id, "ids": ids}


def _orm(items: tuple[str, ...], *, excluded: bool = False,
         where: tuple[Any, ...] = ()) -> dict[str, Any]:
    """The expected frame, row by row through the ORM."""
    responses = db.session.scalars(
        sa.select(Response).where(*where, *(() if excluded else (~Response.excluded,)))
        .order_by(Response.id)).all()
    ratings = np.full((len(responses), len(items)), np.nan, dtype=np.float32)
    for i, response in enumerate(responses):
        for answer in response.answers:
            if answer.item_code in items and answer.value is not None:
                ratings[i, items.index(answer.item_code)] = answer.value
    return {"responses": responses, "ratings": ratings}


def _assert_frame(frame: RatingFrame, expected: dict[str, Any]) -> None:
    responses = expected["responses"]
    assert frame.n == len(responses)
    assert_array_equal(frame.response_id, [r.id for r in responses])
    assert_array_equal(frame.centre_id, [r.centre_id for r in responses])
    assert_array_equal(frame.version, [r.questionnaire_version for r in responses])
    assert_array_equal(frame.submitted_at, [int(r.submitted_at.timestamp()) for r in responses])
    assert_array_equal(frame.excluded, [r.excluded for r in responses])
    for name in ("questionnaire_id", "sex", "age_group", "ethnic_group", "channel",
                 "integrity_flag"):
        labels = getattr(frame, name)
        assert [labels.levels[c] for c in labels.codes] == [getattr(r, name) for r in responses]
    assert frame.ratings.dtype == np.float32
    assert_array_equal(frame.ratings, expected["ratings"])  # NaN where NaN, values elsewhere


@pytest.mark.usefixtures("stored")
def test_frame_equals_the_orm_across_versions(app: Flask) -> None:
    with app.app_context():
        frame = load_ratings("kiosk-quick")
        # Latest version's items in questionnaire order, then the retired item.
        assert frame.items == (*V2, "q_feedback")
        _assert_frame(frame, _orm(frame.items))
        assert 2 in frame.version
        assert 1 in frame.version
        on_v1 = frame.version == 1
        assert np.isnan(frame.ratings[on_v1][:, frame.items.index("q_wait")]).all()
        assert np.isnan(frame.ratings[~on_v1][:, frame.items.index("q_feedback")]).all()
        assert not np.isnan(frame.ratings).all(axis=0).any()
        assert frame.sex.strings("unknown").tolist() == [
            r.sex or "unknown" for r in _orm(frame.items)["responses"]]


def test_missing_answer_rows_and_exclusions(app: Flask, stored: dict[str, Any]) -> None:
    ids = stored["ids"]
    with app.app_context():
        counted = load_ratings("kiosk-quick")
        everything = load_ratings("kiosk-quick", excluded=True)
        _assert_frame(everything, _orm(everything.items, excluded=True))
    assert ids[5] not in counted.response_id
    assert ids[5] in everything.response_id
    assert everything.excluded.sum() == 1
    partial = counted.ratings[counted.response_id == ids[4]][0]
    assert np.isnan(partial[[counted.items.index("q_staff"), counted.items.index("overall")]]).all()
    assert np.isnan(counted.ratings[counted.response_id == ids[7]]).all()


def test_filters_and_chosen_items(app: Flask, stored: dict[str, Any]) -> None:
    start, end = T0 + timedelta(hours=30), T0 + timedelta(hours=150)
    items = ("overall", "q_wait", "q_access")
    with app.app_context():
        frame = load_ratings("kiosk-quick", centre_ids=[stored["two"]], start=start, end=end,
                             items=items)
        assert frame.items == items
        _assert_frame(frame, _orm(items, where=(Response.centre_id == stored["two"],
                                               Response.submitted_at >= start,
                                               Response.submitted_at < end)))
        assert frame.n > 0
        assert load_ratings("sipas-service").n == 0
        assert load_ratings().n == load_ratings("kiosk-quick").n
        empty = load_ratings("kiosk-quick", start=end, end=start)
    assert empty.items == ()
    assert empty.ratings.shape == (0, 0)
    assert empty.sex.strings().shape == (0,)


def test_unknown_version_is_refused(app: Flask, make_centre: Callable[..., Any],
                                    make_response: Callable[..., Any]) -> None:
    make_response(make_centre("OLD", version=1), {"overall": 3})
    with app.app_context():
        db.session.execute(sa.update(Response).values(questionnaire_version=9))
        db.session.commit()
        with pytest.raises(LookupError, match="version 9"):
            load_ratings("kiosk-quick")

"""``hailong demo``: a demo province with centres and a year of synthetic ratings.

The ratings are synthetic but shaped like real kiosk data: centres differ,
elements differ (feedback handling is usually the weakest), Mondays and the
weeks before Tết are busier and a little less satisfied, and some citizens
skip items or demographics. Generation is vectorised; inserts are batched.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import click
import numpy as np
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import func, insert, select, text

from . import registry
from .extensions import db
from .models import AdminUnit, Answer, Centre, Response, User
from .questionnaires import Questionnaire


@dataclass(frozen=True, slots=True)
class DemoCentre:
    code: str
    name: str
    unit_code: str
    unit_name: str
    unit_kind: str
    questionnaire: str
    #: Latent satisfaction shift of this centre (0 = province average).
    quality: float
    #: Relative number of visitors.
    traffic: float


PROVINCE = ("LCU", "Tỉnh Lai Châu")
DEMO_CENTRES = (
    DemoCentre("LCU-TTHC", "Trung tâm Phục vụ hành chính công tỉnh Lai Châu", "LCU-SNV",
               "Các sở, ngành tỉnh", "agency", "sipas-service", 0.35, 1.6),
    DemoCentre("DOANKET", "Bộ phận một cửa phường Đoàn Kết", "P-DOANKET", "Phường Đoàn Kết",
               "ward", "sipas-service", 0.15, 1.3),
    DemoCentre("TANPHONG", "Bộ phận một cửa phường Tân Phong", "P-TANPHONG",
               "Phường Tân Phong", "ward", "sipas-service", 0.05, 1.2),
    DemoCentre("TAMDUONG", "Bộ phận một cửa xã Tam Đường", "X-TAMDUONG", "Xã Tam Đường",
               "commune", "kiosk-quick", 0.0, 0.9),
    DemoCentre("SINHO", "Bộ phận một cửa xã Sìn Hồ", "X-SINHO", "Xã Sìn Hồ", "commune",
               "kiosk-quick", -0.25, 0.7),
    DemoCentre("PHONGTHO", "Bộ phận một cửa xã Phong Thổ", "X-PHONGTHO", "Xã Phong Thổ",
               "commune", "sipas-service", -0.1, 0.8),
    DemoCentre("MUONGTE", "Bộ phận một cửa xã Mường Tè", "X-MUONGTE", "Xã Mường Tè",
               "commune", "kiosk-quick", -0.45, 0.5),
    DemoCentre("THANUYEN", "Bộ phận một cửa xã Than Uyên", "X-THANUYEN", "Xã Than Uyên",
               "commune", "sipas-service", 0.1, 0.9),
)

#: Element shifts: what citizens usually rate lower (DOMAIN.md, SIPAS reports).
ELEMENT_SHIFT = {"access": 0.1, "procedure": 0.0, "staff": 0.2, "result": 0.1,
                 "feedback": -0.35}
#: Ordered-probit cut points on the latent scale → ratings 1..5.
CUTS = np.array([-2.3, -1.5, -0.55, 1.0])


def ensure_centres() -> list[Centre]:
    """Create the demo province and its centres if they are not there yet."""
    province = db.session.scalar(select(AdminUnit).where(AdminUnit.code == PROVINCE[0]))
    if province is None:
        province = AdminUnit(code=PROVINCE[0], name=PROVINCE[1], kind="province")
        db.session.add(province)
    centres = []
    for spec in DEMO_CENTRES:
        centre = db.session.scalar(select(Centre).where(Centre.code == spec.code))
        if centre is None:
            unit = db.session.scalar(select(AdminUnit).where(AdminUnit.code == spec.unit_code))
            if unit is None:
                unit = AdminUnit(code=spec.unit_code, name=spec.unit_name, kind=spec.unit_kind,
                                 parent=province)
            questionnaire = registry().latest(spec.questionnaire)
            if questionnaire is None:
                raise click.ClickException(f"questionnaire {spec.questionnaire} is missing")
            centre = Centre(code=spec.code, name=spec.name, unit=unit,
                            questionnaire_id=questionnaire.id,
                            questionnaire_version=questionnaire.version)
            db.session.add(centre)
        centres.append(centre)
    db.session.flush()
    return centres


def synthetic_ratings(questionnaire: Questionnaire, n: int, quality: float, year: int,
                      rng: np.random.Generator) -> dict[str, np.ndarray]:
    """``n`` synthetic responses to one questionnaire over one year (vectorised)."""
    start = datetime(year, 1, 1, tzinfo=UTC)
    days = (datetime(year + 1, 1, 1, tzinfo=UTC) - start).days
    today = datetime.now(UTC)
    if start <= today < start + timedelta(days=days):
        days = max((today - start).days + 1, 1)  # the current year: up to today
    day = rng.integers(0, days, n)
    dates = np.datetime64(date(year, 1, 1)) + day.astype("timedelta64[D]")
    weekday = (dates.astype("datetime64[D]").view("int64") + 3) % 7  # 0 = Monday
    month = dates.astype("datetime64[M]").astype(int) % 12
    # Office hours, Vietnam time (UTC+7): 7:30–17:00 local → 0:30–10:00 UTC.
    seconds = rng.integers(1800, 36000, n)
    person = rng.normal(0.0, 0.7, n)
    latent_base = (quality + person - 0.25 * (weekday == 0) - 0.3 * (month == 0)
                   + 0.15 * np.sin(2 * np.pi * day / days))
    columns: dict[str, np.ndarray] = {"day": day, "seconds": seconds}
    for item in questionnaire.rating_items:
        shift = ELEMENT_SHIFT.get(item.element or "", 0.0)
        latent = latent_base + shift + rng.normal(0.0, 0.6, n)
        rating = (np.searchsorted(CUTS, latent) + 1).astype(float)
        skip = 0.12 if item.element == "feedback" else 0.03
        rating[rng.random(n) < skip] = np.nan
        columns[item.code] = rating
    return columns


@click.command()
@click.option("--year", type=int, default=None, help="Year of the ratings (default: this year).")
@click.option("--responses", type=click.IntRange(0, 200_000), default=6000, show_default=True,
              help="Synthetic ratings per centre.")
@click.option("--seed", type=int, default=2026, show_default=True)
@with_appcontext
def demo(year: int | None, responses: int, seed: int) -> None:
    """Create the demo province, its centres and a year of synthetic ratings."""
    year = year or datetime.now(UTC).year
    centres = ensure_centres()
    ids = [c.id for c in centres]
    existing = db.session.scalar(
        select(func.count()).select_from(Response).where(Response.centre_id.in_(ids))
    )
    accounts = ensure_demo_accounts()
    if existing:
        db.session.commit()
        click.echo(f"Demo centres present; {existing} ratings already stored, none added.")
        _echo_accounts(accounts)
        return
    rng = np.random.default_rng(seed)
    next_id = (db.session.scalar(select(func.max(Response.id))) or 0) + 1
    sexes = np.array(["female", "male", "other"])
    ages = np.array(["18-24", "25-34", "35-44", "45-59", "60+"])
    total = 0
    for spec, centre in zip(DEMO_CENTRES, centres, strict=True):
        questionnaire = registry().get(centre.questionnaire_id, centre.questionnaire_version)
        assert questionnaire is not None  # noqa: S101 -- ensure_centres checked it
        n = int(responses * spec.traffic / max(s.traffic for s in DEMO_CENTRES))
        if n == 0:
            continue
        cols = synthetic_ratings(questionnaire, n, spec.quality, year, rng)
        base = datetime(year, 1, 1, tzinfo=UTC)
        submitted = [base + timedelta(days=int(d), seconds=int(s))
                     for d, s in zip(cols["day"], cols["seconds"], strict=True)]
        durations = rng.integers(25, 240, n)
        sex = np.where(rng.random(n) < 0.15, None, sexes[rng.choice(3, n, p=[.52, .46, .02])])
        age = np.where(rng.random(n) < 0.2, None, ages[rng.choice(5, n,
                                                                   p=[.1, .25, .27, .25, .13])])
        ethnic = np.where(rng.random(n) < 0.2, None,
                          np.where(rng.random(n) < 0.45, "kinh", "other"))
        rows = [
            {"id": next_id + i, "submission_id": uuid.UUID(bytes=rng.bytes(16), version=4),
             "centre_id": centre.id, "questionnaire_id": questionnaire.id,
             "questionnaire_version": questionnaire.version, "language": "vi",
             "channel": "kiosk", "started_at": submitted[i] - timedelta(seconds=int(durations[i])),
             "submitted_at": submitted[i], "received_at": submitted[i],
             "sex": sex[i], "age_group": age[i], "ethnic_group": ethnic[i], "comment": None}
            for i in range(n)
        ]
        for i in rng.choice(n, size=max(n // 40, 1), replace=False):
            rows[i]["comment"] = DEMO_COMMENTS[int(i) % len(DEMO_COMMENTS)]
        answers = [
            {"response_id": next_id + i, "item_code": item.code,
             "value": None if np.isnan(v) else int(v)}
            for item in questionnaire.rating_items
            for i, v in enumerate(cols[item.code])
        ]
        db.session.execute(insert(Response), rows)
        db.session.execute(insert(Answer), answers)
        next_id += n
        total += n
    if db.engine.dialect.name == "postgresql":
        # Explicit ids were inserted: move the sequence past them.
        db.session.execute(text(
            "SELECT setval(pg_get_serial_sequence('response', 'id'), "
            "(SELECT COALESCE(MAX(id), 1) FROM response))"))
    db.session.commit()
    _cache_dashboard_days()
    click.echo(f"Demo province ready: {len(centres)} centres, {total} ratings in {year}.")
    click.echo(f"Database: {current_app.config['DATABASE_URL']}")
    _echo_accounts(accounts)


def _cache_dashboard_days() -> None:
    """Count every finished day the dashboard can show (two years back), so its
    first page does not build a year of cache on the fly."""
    from .dashboard import queries, services

    today = queries.local_today()
    services.build_day_cache(today - 2 * max(services.PERIOD_CHOICES), today)
    db.session.commit()


#: One demo account per role (demo only: the passwords are printed and public).
DEMO_ACCOUNTS = (
    ("quanly", "manager", "quanly-demo-2026", ("DOANKET", "TANPHONG")),
    ("sonoivu", "analyst", "sonoivu-demo-2026", ()),
    ("admin", "admin", "admin-demo-2026", ()),
)


def ensure_demo_accounts() -> list[tuple[str, str, str]]:
    """Create the demo staff accounts that do not exist yet; (username, role, password)."""
    from .admin.services import create_user

    created = []
    for username, role, password, centres in DEMO_ACCOUNTS:
        if db.session.scalar(select(User).where(User.username == username)) is None:
            create_user(username, password, role, centres=centres)
            created.append((username, role, password))
    return created


def _echo_accounts(accounts: list[tuple[str, str, str]]) -> None:
    for username, role, password in accounts:
        click.echo(f"Demo login ({role}): {username} / {password}")


#: Comments as citizens write them, including the personal data the dashboard masks.
DEMO_COMMENTS = (
    "Cán bộ hướng dẫn rất nhiệt tình, cảm ơn!",
    "Phải chờ lâu quá, nên có thêm quầy tiếp nhận vào thứ Hai.",
    "Máy lấy số bị hỏng, không biết xếp hàng thế nào.",
    "Nhân viên lịch sự. Đề nghị có thêm ghế ngồi chờ.",
    "Tôi phải đi lại hai lần vì thiếu giấy tờ, lần đầu không được hướng dẫn đủ.",
    "Có việc gì xin gọi lại cho tôi: 0912 345 678.",
    "Trả kết quả đúng hẹn, rất hài lòng.",
    "Không có chỗ để xe, trời mưa rất bất tiện.",
)

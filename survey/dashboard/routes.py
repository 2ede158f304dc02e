"""Staff pages: a centre's dashboard and the province overview."""

from __future__ import annotations

import math
import re
from functools import lru_cache
from urllib.parse import urlencode

from babel import Locale, dates, numbers
from flask import (
    Blueprint,
    abort,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required
from markupsafe import Markup, escape
from werkzeug.wrappers import Response as WerkzeugResponse

from ..admin.access import may_see_centre, roles_required, sees_province
from ..extensions import db
from ..i18n import languages
from ..models import AdminUnit, utcnow
from . import queries, services
from .chart import geometry

bp = Blueprint("dashboard", __name__, url_prefix="/dashboard", template_folder="templates")

STAFF_ROLES = ("manager", "analyst", "admin")

#: Runs of at least nine digits, spaces/dots/dashes between them allowed:
#: phone numbers (10 digits, +84...) and national ID numbers (9 or 12 digits).
_LONG_NUMBER = re.compile(r"\+?\d(?:[\s.\-]?\d){8,}")
_EMAIL = re.compile(r"[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)+")


def mask_personal_data(text: str) -> str:
    """The comment with e-mail addresses and long numbers (phones, IDs) masked."""
    text = _EMAIL.sub("•••@•••", text)
    return _LONG_NUMBER.sub(lambda m: re.sub(r"\d", "•", m.group(0)), text)


@bp.before_app_request
def _remember_language() -> None:
    wanted = request.args.get("lang")
    if wanted in languages().codes and request.blueprint in ("dashboard", "admin"):
        session["lang"] = wanted


@bp.app_context_processor
def _helpers() -> dict[str, object]:
    def lang_query(code: str) -> str:
        args = {k: v for k, v in request.args.items() if k != "lang"}
        return urlencode({**args, "lang": code})

    return {"lang_query": lang_query, "now": utcnow}


@lru_cache(maxsize=64)
def _symbols(locale: str) -> dict[int, str]:
    """The locale's decimal and group symbols, as a ``str.translate`` table."""
    parsed = Locale.parse(locale)
    return {ord("."): numbers.get_decimal_symbol(parsed),
            ord(","): numbers.get_group_symbol(parsed)}


def _decimal(value: float, places: int) -> str:
    """``value`` with ``places`` decimals and grouped thousands in the request's
    locale (Babel's ``#,##0.0`` pattern without a Babel call per number: a
    year's chart table formats a few thousand)."""
    return f"{value:,.{places}f}".translate(_symbols(str(get_locale())))


@bp.app_template_filter("pct")
def _pct(value: float) -> str:
    if value is None or not math.isfinite(value):
        return "–"
    return _decimal(value * 100, 1)


@bp.app_template_filter("points")
def _points(value: float) -> float:
    """A change as shown: percentage points to one decimal (-0.0004 is 0.0, not -0.0)."""
    return round(value * 100, 1) + 0.0


@bp.app_template_filter("signed_pct")
def _signed_pct(value: float) -> str:
    if value is None or not math.isfinite(value):
        return "–"
    points = _points(value)
    sign = "+" if points > 0 else ("−" if points < 0 else "±")
    return sign + _decimal(abs(points), 1)


@bp.app_template_filter("number")
def _number(value: int) -> str:
    return _decimal(value, 0)


@lru_cache(maxsize=4096)
def _formatted_day(day: int, style: str, locale: str) -> str:
    return dates.format_date(queries.day_date(day), format=style, locale=locale)


@bp.app_template_filter("day")
def _day(day: int, style: str = "medium") -> str:
    return _formatted_day(int(day), style, str(get_locale()))


@bp.app_template_filter("masked")
def _masked(text: str) -> Markup:
    return escape(mask_personal_data(text))


def _choice(name: str, allowed: tuple[int, ...], default: int) -> int:
    value = request.args.get(name, type=int)
    return value if value in allowed else default


@bp.get("/")
@login_required
def home() -> WerkzeugResponse:
    if sees_province(current_user):
        return redirect(url_for("dashboard.overview"))
    centres = queries.visible_centres(current_user)
    if not centres:
        abort(403)
    return redirect(url_for("dashboard.centre", code=centres[0].code))


@bp.get("/centre/<code>")
@roles_required(*STAFF_ROLES)
def centre(code: str) -> str:
    centre = queries.centre_by_code(code)
    if centre is None:
        abort(404)
    if not may_see_centre(current_user, centre):
        abort(403)
    period = _choice("period", services.PERIOD_CHOICES, 30)
    chart_days = _choice("chart", services.CHART_CHOICES, 30)
    today = queries.local_today()
    numbers = services.centre_dashboard(centre, today, period, chart_days)
    questionnaire = services.questionnaire_of(centre)
    db.session.commit()
    series, reference = numbers.series, numbers.reference
    chart = geometry(series, reference.estimate if reference.reportable else None,
                     lambda d: _day(d, "d/M"))
    return render_template(
        "dashboard/centre.html", centre=centre, questionnaire=questionnaire,
        headline=numbers.headline, series=series, chart=chart, chart_days=chart_days,
        reference=reference, alert=numbers.alert, table=numbers.table, period=period,
        today=today,
        comments=queries.latest_comments(centre.id), periods=services.PERIOD_CHOICES,
        chart_choices=services.CHART_CHOICES, min_n=services._min_n(),
        centres=queries.visible_centres(current_user))


SORT_KEYS = ("name", "index", "n", "change", "alert")


@bp.get("/overview")
@roles_required("analyst", "admin")
def overview() -> str:
    period = _choice("period", services.PERIOD_CHOICES, 30)
    unit_id = request.args.get("unit", type=int)
    unit = db.session.get(AdminUnit, unit_id) if unit_id else None
    centres = queries.visible_centres(current_user, unit.id if unit else None)
    today = queries.local_today()
    summaries, province = services.overview(centres, today, period)
    db.session.commit()
    sort = request.args.get("sort", "index")
    sort = sort if sort in SORT_KEYS else "index"
    descending = request.args.get("dir") == "desc"

    def key(s: services.CentreSummary) -> tuple[bool, object]:
        values = {"name": s.centre.name, "index": s.current.estimate, "n": s.current.n,
                  "change": s.change, "alert": float(bool(s.alert and s.alert.flagged))}
        value = values[sort]
        missing = isinstance(value, float) and not math.isfinite(value)
        return (missing, 0.0 if missing else value)

    summaries.sort(key=key, reverse=descending)
    if descending:  # keep "no data" rows last either way
        summaries.sort(key=lambda s: key(s)[0])
    return render_template(
        "dashboard/overview.html", summaries=summaries, province=province, period=period,
        periods=services.PERIOD_CHOICES, unit=unit, units=queries.units_with_centres(),
        sort=sort, descending=descending, today=today, min_n=services._min_n(),
        heading=_("Province overview"))

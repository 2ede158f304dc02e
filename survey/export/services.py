"""Making an export: settings → data → report → file, and the audit log entry.

Callers (CLI, web download) commit; these functions only add and flush.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import IO
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import func, select

from .. import registry
from ..extensions import db
from ..i18n import languages
from ..models import AuditLog, Response, WeightingSettings
from ..questionnaires import Questionnaire
from .queries import frame_counts, load_year, questionnaire_counts, year_bounds
from .report import ExportError, Report, build_report
from .settings import ExportSettings
from .writers import FORMATS, write_report


def zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])


def stored_settings(year: int) -> ExportSettings:
    """The year's saved weighting settings, or the defaults."""
    row = db.session.get(WeightingSettings, year)
    if row is None:
        return ExportSettings(year=year, min_n=current_app.config["MIN_REPORTABLE_N"])
    return ExportSettings.from_dict({**row.settings, "year": year})


def save_settings(settings: ExportSettings, *, actor: str) -> None:
    row = db.session.get(WeightingSettings, settings.year)
    if row is None:
        row = WeightingSettings(year=settings.year, settings={}, updated_by=actor)
        db.session.add(row)
    row.settings = settings.as_dict()
    row.updated_by = actor
    db.session.add(AuditLog(actor=actor, action="settings.save", details=settings.as_dict()))
    db.session.flush()


def _questionnaire_versions(qid: str, year: int) -> list[Questionnaire]:
    start, end = year_bounds(year, zone())
    versions = db.session.scalars(
        select(Response.questionnaire_version).where(
            Response.questionnaire_id == qid, Response.submitted_at >= start,
            Response.submitted_at < end, Response.excluded.is_(False))
        .group_by(Response.questionnaire_version)
        .order_by(func.min(Response.questionnaire_version))).all()
    found = [registry().get(qid, v) for v in sorted(versions)]
    missing = [v for v, q in zip(sorted(versions), found, strict=True) if q is None]
    if missing:
        raise ExportError(f"questionnaire {qid!r} version {missing[0]} is not under forms/")
    return [q for q in found if q is not None]


def chosen_questionnaire(settings: ExportSettings) -> tuple[str, list[Questionnaire]]:
    """The year's questionnaire and its versions found; ExportError if there is nothing
    to export (cheap: callers check this before they start a download)."""
    qid = settings.questionnaire
    if qid is None:
        counts = questionnaire_counts(settings.year, zone())
        if not counts:
            raise ExportError(f"no ratings in {settings.year}")
        qid = counts.most_common(1)[0][0]
    questionnaires = _questionnaire_versions(qid, settings.year)
    if not questionnaires:
        raise ExportError(f"no ratings for questionnaire {qid!r} in {settings.year}")
    return qid, questionnaires


def make_report(settings: ExportSettings) -> Report:
    """Compute the year's report (all numbers from :mod:`scoring`)."""
    tz = zone()
    qid, questionnaires = chosen_questionnaire(settings)
    items: list[str] = []
    for q in reversed(questionnaires):  # latest version's order first, then retired items
        items.extend(code for code in (i.code for i in q.rating_items) if code not in items)
    data = load_year(settings.year, qid, tuple(items), tz)
    return build_report(data, questionnaires, settings, frame_counts(settings.year), tz)


def translator(lang: str) -> Callable[[str], str]:
    """Questionnaire texts (Vietnamese msgids) in ``lang`` via the catalogs."""
    if lang == "vi":
        return lambda text: text
    catalog = languages().get(lang).translations
    return catalog.gettext


def export(settings: ExportSettings, fmt: str, out: IO[bytes], *, lang: str,
           actor: str) -> Report:
    """Write the year's export to ``out`` and log who made it with which settings."""
    if fmt not in FORMATS:
        raise ExportError(f"format must be one of {', '.join(FORMATS)}; got {fmt!r}")
    report = make_report(settings)
    write_report(report, fmt, out, lang=lang, translate=translator(lang))
    log_export(report, fmt, lang, actor=actor)
    return report


def log_export(report: Report, fmt: str, lang: str, *, actor: str) -> AuditLog:
    entry = AuditLog(actor=actor, action="export", details={
        "year": report.settings.year, "format": fmt, "language": lang,
        "questionnaire": report.questionnaire.id, "versions": list(report.versions),
        "responses": report.n, "index": report.overall.share,
        "settings": report.settings.as_dict(),
    })
    db.session.add(entry)
    db.session.flush()
    return entry

"""Export page for province analysts: download, weighting settings, imports, audit log."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from datetime import datetime

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response as WerkzeugResponse

from ..admin.access import roles_required
from ..extensions import db
from ..imports import ImportRejected, RowError
from ..imports.frame import import_frame_counts
from ..imports.paper import import_paper
from .forms import ExportForm, SettingsForm, UploadForm
from .queries import recent_exports
from .report import ExportError
from .services import chosen_questionnaire, export, save_settings, stored_settings, zone
from .settings import ExportSettings, MarginTotal, SettingsError
from .writers import EXTENSIONS, MEDIA_TYPES

bp = Blueprint("export", __name__, url_prefix="/export", template_folder="templates")

#: Uploads may be larger than the kiosk's request limit (a year of frame counts).
UPLOAD_MAX_BYTES = 20 * 1024 * 1024
#: Exports are spooled to disk above this size and streamed from there.
SPOOL_BYTES = 8 * 1024 * 1024
CHUNK_BYTES = 64 * 1024
ANALYSTS = ("analyst", "admin")


def _actor() -> str:
    return current_user.username


def _page(*, errors: list[RowError] | None = None, status: int = 200,
          settings_form: SettingsForm | None = None, year: int | None = None) -> tuple[str, int]:
    year = year or request.args.get("year", type=int) or datetime.now(zone()).year - 1
    settings = stored_settings(year)
    if settings_form is None:
        settings_form = SettingsForm(formdata=None, data={
            "year": year, "strata": settings.strata, "weighting": settings.weighting,
            "cluster": settings.cluster, "ci": settings.ci, "min_n": settings.min_n,
            "par_max": settings.par_max,
            "trim_low": settings.trim[0] if settings.trim else None,
            "trim_high": settings.trim[1] if settings.trim else None,
            "margins": "\n".join(f"{m.variable},{m.level},{m.total:g}"
                                 for m in settings.margins)})
    return render_template(
        "export/index.html", export_form=ExportForm(formdata=None, data={"year": year}),
        settings_form=settings_form, upload_form=UploadForm(formdata=None), errors=errors,
        exports=recent_exports(), year=year), status


@bp.get("/")
@roles_required(*ANALYSTS)
def index() -> tuple[str, int]:
    return _page()


@bp.post("/download")
@roles_required(*ANALYSTS)
def download() -> Response | tuple[str, int]:
    """Stream the export: headers at once, the file when it is computed.

    A year that cannot be exported is refused before the download starts;
    the computation (up to a minute for a province's year) then runs inside
    the response body, so the browser and any proxy see the response begin
    immediately. The audit log entry is committed with the finished file.
    """
    form = ExportForm()
    if not form.validate_on_submit():
        return _page(status=400)
    year, fmt, lang = form.year.data, form.format.data, form.lang.data
    settings = stored_settings(year)
    try:
        chosen_questionnaire(settings)
    except ExportError as exc:
        db.session.rollback()
        flash(_("The export could not be made: %(reason)s", reason=str(exc)))
        return _page(status=422, year=year)
    name = f"hailong-{year}-{lang}.{EXTENSIONS[fmt]}"
    body = _export_body(settings, fmt, lang, _actor())
    return Response(stream_with_context(body), mimetype=MEDIA_TYPES[fmt], headers={
        "Content-Disposition": f'attachment; filename="{name}"',
        "Cache-Control": "no-store"})


def _export_body(settings: ExportSettings, fmt: str, lang: str, actor: str) -> Iterator[bytes]:
    # An empty first chunk makes the server send the headers now (it writes no body).
    yield b""
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES) as spool:
        try:
            export(settings, fmt, spool, lang=lang, actor=actor)
        except Exception:
            db.session.rollback()
            current_app.logger.exception("export of %s failed after the download began",
                                         settings.year)
            raise
        db.session.commit()
        spool.seek(0)
        while chunk := spool.read(CHUNK_BYTES):
            yield chunk


@bp.post("/settings")
@roles_required(*ANALYSTS)
def settings() -> WerkzeugResponse | tuple[str, int]:
    form = SettingsForm()
    if not form.validate_on_submit():
        return _page(settings_form=form, status=400, year=form.year.data)
    try:
        margins = _margins(form.margins.data or "")
        trim = None
        if form.trim_low.data is not None or form.trim_high.data is not None:
            trim = (float(form.trim_low.data or 0), float(form.trim_high.data or 100))
        chosen = ExportSettings(
            year=form.year.data, strata=form.strata.data, weighting=form.weighting.data,
            cluster=form.cluster.data, ci=form.ci.data, min_n=form.min_n.data,
            par_max=float(form.par_max.data), trim=trim, margins=margins)
    except SettingsError as exc:
        form.margins.errors = [str(exc)]
        return _page(settings_form=form, status=400, year=form.year.data)
    save_settings(chosen, actor=_actor())
    db.session.commit()
    flash(_("Weighting settings for %(year)s saved.", year=chosen.year))
    return redirect(url_for("export.index", year=chosen.year))


def _margins(text: str) -> tuple[MarginTotal, ...]:
    out = []
    for k, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        parts = [p.strip() for p in line.split(",")]
        try:
            variable, level, total = parts
            out.append(MarginTotal(variable=variable, level=level, total=float(total)))
        except ValueError as exc:
            raise SettingsError(_("Margin line %(line)d: write variable,level,total.",
                                  line=k)) from exc
    return tuple(out)


def _upload(importer: str) -> WerkzeugResponse | tuple[str, int]:
    request.max_content_length = UPLOAD_MAX_BYTES
    form = UploadForm()
    if not form.validate_on_submit():
        return _page(status=400)
    upload = form.file.data
    data = upload.read()
    try:
        if importer == "frame":
            result = import_frame_counts(upload.filename or "upload.csv", data, actor=_actor())
            message = _("%(rows)d frame counts imported (%(months)s): %(new)d new, "
                        "%(replaced)d replaced, %(removed)d removed.", rows=result.rows,
                        months=", ".join(result.months), new=result.inserted,
                        replaced=result.replaced, removed=result.removed)
        else:
            paper = import_paper(upload.filename or "upload.csv", data, actor=_actor())
            message = _("%(rows)d paper responses imported (%(new)d new).", rows=paper.rows,
                        new=paper.stored)
    except ImportRejected as exc:
        db.session.rollback()
        current_app.logger.info("import rejected: %d problems", len(exc.errors))
        return _page(errors=exc.errors, status=422)
    db.session.commit()
    flash(message)
    return redirect(url_for("export.index"))


@bp.post("/frame")
@roles_required(*ANALYSTS)
def frame_upload() -> WerkzeugResponse | tuple[str, int]:
    return _upload("frame")


@bp.post("/paper")
@roles_required(*ANALYSTS)
def paper_upload() -> WerkzeugResponse | tuple[str, int]:
    return _upload("paper")

"""Forms of the export page (CSRF through Flask-WTF)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from wtforms import DecimalField, IntegerField, SelectChoice, SelectField, TextAreaField
from wtforms.validators import InputRequired, NumberRange, Optional

from ..wtforms_messages import TranslatedForm
from .settings import CI_METHODS
from .writers import FORMATS

FORMAT_LABELS = {"xlsx": _l("Workbook (XLSX)"), "csv": _l("CSV tables (ZIP)"),
                 "json": "JSON", "pdf": _l("Printable report (PDF)")}


class ExportForm(TranslatedForm):
    year = IntegerField(_l("Year"), validators=[InputRequired(), NumberRange(2000, 2100)])
    format = SelectField(_l("Format"), choices=[SelectChoice(f, FORMAT_LABELS[f])
                                                for f in FORMATS])
    lang = SelectField(_l("Language"), choices=[SelectChoice("vi", "Tiếng Việt"),
                                                SelectChoice("en", "English")])


class SettingsForm(TranslatedForm):
    year = IntegerField(_l("Year"), validators=[InputRequired(), NumberRange(2000, 2100)])
    strata = SelectField(_l("Strata"), choices=[
        SelectChoice("centre", _l("Centre")),
        SelectChoice("centre-quarter", _l("Centre × quarter")),
        SelectChoice("centre-month", _l("Centre × month"))])
    weighting = SelectField(_l("Design weights"), choices=[
        SelectChoice("frame", _l("Dossiers ÷ ratings in the stratum")),
        SelectChoice("none", _l("Equal weights"))])
    cluster = SelectField(_l("Clusters"), choices=[
        SelectChoice("respondent", _l("Respondent")),
        SelectChoice("centre-day", _l("Centre × day"))])
    ci = SelectField(_l("Confidence interval"), choices=[SelectChoice(c, c) for c in CI_METHODS])
    min_n = IntegerField(_l("Minimum n"), validators=[InputRequired(), NumberRange(1, 10_000)])
    par_max = DecimalField(_l("PAR INDEX maximum points"),
                           validators=[InputRequired(), NumberRange(0.01, 1000)])
    trim_low = DecimalField(_l("Trimming: lowest g"), validators=[Optional(), NumberRange(0, 1)])
    trim_high = DecimalField(_l("Trimming: highest g"),
                             validators=[Optional(), NumberRange(1, 100)])
    margins = TextAreaField(_l("Raking margins, one per line: variable,level,total"),
                            validators=[Optional()])


class UploadForm(TranslatedForm):
    file = FileField(_l("CSV or XLSX file"), validators=[FileRequired()])

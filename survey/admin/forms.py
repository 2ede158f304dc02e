"""Login and user forms (CSRF through Flask-WTF)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    HiddenField,
    PasswordField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
)
from wtforms.validators import AnyOf, DataRequired, Length, Optional, Regexp

from ..models import ROLES
from ..wtforms_messages import TranslatedForm

ROLE_LABELS = {
    "manager": _l("Centre manager"),
    "analyst": _l("Province analyst"),
    "admin": _l("Administrator"),
}


class LoginForm(TranslatedForm):
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=64)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=256)])


class UserForm(TranslatedForm):
    username = StringField(_l("Username"), validators=[
        DataRequired(), Length(min=2, max=64),
        Regexp(r"^[A-Za-z0-9_.-]+$", message=_l("Letters, digits, dot, dash, underscore."))])
    display_name = StringField(_l("Name"), validators=[Optional(), Length(max=200)])
    role = SelectField(_l("Role"), choices=[SelectChoice(r, ROLE_LABELS[r]) for r in ROLES])
    centres = SelectMultipleField(_l("Centres (managers only)"), coerce=int)
    password = PasswordField(_l("New password"), validators=[Optional(), Length(min=10, max=256)])
    active = BooleanField(_l("Active"), default=True)


class CentreForm(TranslatedForm):
    """A service centre and the questionnaire its kiosks show."""

    code = StringField(_l("Code"), validators=[
        DataRequired(), Length(min=2, max=32),
        Regexp(r"^[A-Z0-9][A-Z0-9_-]*$",
               message=_l("Capital letters, digits, dash, underscore."))])
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    unit = SelectField(_l("Administrative unit"), coerce=int)
    questionnaire = SelectField(_l("Questionnaire shown on its kiosks"))
    active = BooleanField(_l("Active"), default=True)


class ExclusionForm(TranslatedForm):
    """An analyst's decision on a flagged rating: keep it in the indices or not."""

    submission_id = HiddenField(validators=[DataRequired()])
    exclude = HiddenField(validators=[DataRequired(), AnyOf(("0", "1"))])
    reason = StringField(_l("Reason"), validators=[DataRequired(), Length(max=500)])

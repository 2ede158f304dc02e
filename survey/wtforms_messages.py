"""WTForms in hailong's languages.

WTForms and Flask-WTF ship no Vietnamese catalog, so their validation
messages go through hailong's catalogs instead: :class:`CatalogTranslations`
answers WTForms' translations protocol from the chosen language (with the
Vietnamese fallback), and :class:`TranslatedForm`, the ``FlaskForm`` every
hailong form derives from, uses it. :data:`MESSAGES` lists the messages those
fields and validators can show, so ``hailong translate extract`` puts them in
``messages.pot``.

Those the kiosk form can show carry the translator comment ``i18n: kiosk``,
so they count towards the kiosk coverage rule (:func:`survey.i18n.kiosk_keys`).
"""

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext as _ln
from flask_wtf import FlaskForm

from .i18n import current_language

MESSAGES = (
    # i18n: WTForms, required fields (DataRequired, InputRequired, FileRequired).
    _l("This field is required."),
    # i18n: kiosk — WTForms, a value outside a select or radio list (a tampered form).
    _l("Not a valid choice."),
    _l("Invalid Choice: could not coerce."),
    _l("Invalid choice(s): one or more data inputs could not be coerced."),
    _ln("'%(value)s' is not a valid choice for this field.",
        "'%(value)s' are not valid choices for this field.", 2),
    _ln("Field must be at least %(min)d character long.",
        "Field must be at least %(min)d characters long.", 2),
    # i18n: kiosk — WTForms, the comment is longer than allowed (seen without JavaScript).
    _ln("Field cannot be longer than %(max)d character.",
        "Field cannot be longer than %(max)d characters.", 2),
    _ln("Field must be exactly %(max)d character long.",
        "Field must be exactly %(max)d characters long.", 2),
    _l("Field must be between %(min)d and %(max)d characters long."),
    _l("Number must be at least %(min)s."),
    _l("Number must be at most %(max)s."),
    _l("Number must be between %(min)s and %(max)s."),
    _l("Date must be at least %(min)s."),
    _l("Date must be at most %(max)s."),
    _l("Date must be between %(min)s and %(max)s."),
    # i18n: WTForms, a text that does not match the expected pattern (Regexp).
    _l("Invalid input."),
    _l("Invalid email address."),
    _l("Invalid UUID."),
    # i18n: WTForms, e.g. "new password" and "repeat password" differ.
    _l("Field must be equal to %(other_name)s."),
    _l("Invalid value, must be one of: %(values)s."),
    _l("Invalid value, can't be any of: %(values)s."),
    _l("This field cannot be edited."),
    _l("This field is disabled and cannot have a value."),
    _l("Not a valid integer value."),
    _l("Not a valid decimal value."),
    _l("Not a valid float value."),
    _l("Not a valid date value."),
    _l("Not a valid time value."),
    _l("Not a valid datetime value."),
    _l("Not a valid week value."),
    # i18n: Flask-WTF FileAllowed; {extensions} is a list such as "csv, xlsx".
    _l("File does not have an approved extension: {extensions}"),
    _l("File does not have an approved extension."),
)


class CatalogTranslations:
    """WTForms' translations protocol answered from hailong's catalogs."""

    def gettext(self, string: str) -> str:
        return current_language().translations.gettext(string)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return current_language().translations.ngettext(singular, plural, n)


class TranslatedForm(FlaskForm):
    """A ``FlaskForm`` whose WTForms messages come from hailong's catalogs."""

    class Meta:
        def get_translations(self, form: Any) -> CatalogTranslations:  # noqa: ARG002
            return CatalogTranslations()

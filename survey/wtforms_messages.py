"""WTForms' own messages that the kiosk form can show, so the extractor finds them.

WTForms ships no Vietnamese catalog; ``survey.kiosk.forms.KioskTranslations``
routes its messages through hailong's catalogs instead. These count towards
the kiosk coverage rule (:func:`survey.i18n.kiosk_sources`).
"""

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext as _ln

MESSAGES = (
    # i18n: WTForms, a radio button whose value was tampered with.
    _l("Not a valid choice."),
    _l("This field is required."),
    # i18n: WTForms, a comment longer than allowed.
    _ln("Field cannot be longer than %(max)d character.",
        "Field cannot be longer than %(max)d characters.", 2),
)

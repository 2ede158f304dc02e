"""WTForms' own messages that the kiosk can show, so the extractor finds them.

WTForms ships no Vietnamese catalog; :class:`KioskTranslations` routes
its messages through hailong's catalogs instead.
"""

from flask_babel import lazy_gettext as _l

MESSAGES = (
    # i18n: WTForms, a radio button whose value was tampered with.
    _l("Not a valid choice."),
    _l("This field is required."),
    # i18n: WTForms, the form's anti-forgery token is missing or stale.
    _l("The CSRF token is missing."),
    _l("The CSRF token has expired."),
    _l("The CSRF token is invalid."),
    _l("The CSRF session token is missing."),
)

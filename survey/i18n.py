"""Languages: which catalogs exist, how complete they are, and how a request
gets its translations.

Vietnamese is the source and the fallback. A language unknown to CLDR (Dao
``ium``, Tày ``tyz``, Nùng ``nut``) is added as data alone: a catalog plus a
``language.toml`` giving its name in that language; its numbers and dates
are formatted as Vietnamese.
"""

from __future__ import annotations

import io
import tomllib
from dataclasses import dataclass
from pathlib import Path

from babel import Locale, UnknownLocaleError
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations
from flask import current_app, g, has_request_context
from flask_babel import Domain

SOURCE_LANGUAGE = "vi"
#: Catalog entries whose source locations are shown on the kiosk.
_KIOSK_SOURCES = ("kiosk/", "forms/", "survey/submissions.py", "survey/wtforms_messages.py")


@dataclass(frozen=True, slots=True)
class Language:
    code: str
    #: The language's name in itself (endonym), shown on the language chooser.
    name: str
    #: Locale used for number and date formats.
    format_locale: str
    #: Share of kiosk strings translated (0..1).
    kiosk_coverage: float
    translations: NullTranslations


def _cldr(code: str) -> Locale | None:
    try:
        return Locale.parse(code)
    except (UnknownLocaleError, ValueError):
        return None


def _load_language(directory: Path) -> Language:
    code = directory.name
    po_path = directory / "LC_MESSAGES" / "messages.po"
    with po_path.open("rb") as fp:
        catalog = read_po(fp, locale=None)
    kiosk = [m for m in catalog if m.id and any(
        loc.startswith(_KIOSK_SOURCES) or f"/{_KIOSK_SOURCES[0]}" in loc
        for loc, _ in m.locations
    )]
    done = [m for m in kiosk if m.string and not m.fuzzy and (
        all(m.string) if isinstance(m.string, tuple) else True)]
    coverage = len(done) / len(kiosk) if kiosk else 0.0
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    translations = Translations(fp=buffer)

    locale = _cldr(code)
    meta_path = directory / "language.toml"
    meta = tomllib.loads(meta_path.read_text(encoding="utf-8")) if meta_path.exists() else {}
    name = meta.get("name") or (locale.get_display_name(code) if locale else None)
    if not name:
        raise ValueError(f"{meta_path}: CLDR does not know {code!r}; give its name as `name = ...`")
    return Language(
        code=code,
        name=name[0].upper() + name[1:],
        format_locale=code if locale else SOURCE_LANGUAGE,
        kiosk_coverage=1.0 if code == SOURCE_LANGUAGE else coverage,
        translations=translations,
    )


class Languages:
    """Every catalog under ``translations/``, loaded once at start-up."""

    def __init__(self, directory: Path, kiosk_threshold: float) -> None:
        found = {
            d.name: _load_language(d)
            for d in sorted(directory.iterdir())
            if (d / "LC_MESSAGES" / "messages.po").is_file()
        }
        if SOURCE_LANGUAGE not in found:
            raise ValueError(f"{directory}: the Vietnamese catalog (vi) is missing")
        source = found[SOURCE_LANGUAGE].translations
        for code, language in found.items():
            if code != SOURCE_LANGUAGE:
                # Untranslated strings show in Vietnamese, never as English msgids.
                language.translations.add_fallback(source)
        self.by_code = found
        self.threshold = kiosk_threshold

    @property
    def codes(self) -> frozenset[str]:
        return frozenset(self.by_code)

    def kiosk(self) -> list[Language]:
        """Languages complete enough for the kiosk, Vietnamese first."""
        chosen = [lang for lang in self.by_code.values()
                  if lang.kiosk_coverage >= self.threshold]
        return sorted(chosen, key=lambda lang: (lang.code != SOURCE_LANGUAGE, lang.code))

    def get(self, code: str | None) -> Language:
        return self.by_code.get(code or "", self.by_code[SOURCE_LANGUAGE])


def languages() -> Languages:
    return current_app.extensions["hailong_languages"]


def current_language() -> Language:
    code = g.get("language") if has_request_context() else None
    return languages().get(code)


def select_format_locale() -> str:
    """Flask-Babel's locale selector: formats follow the chosen language (or vi)."""
    return current_language().format_locale


class HailongDomain(Domain):
    """Translations by the chosen language, not the (format) locale."""

    def get_translations(self) -> NullTranslations:
        if not has_request_context():
            return NullTranslations()
        return current_language().translations

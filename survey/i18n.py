"""Languages: which catalogs exist, how complete they are, and how a request
gets its translations.

Vietnamese is the source and the fallback: a string missing from a catalog
shows in Vietnamese, never as the English msgid, and :func:`text_language`
tells a template which language a text is really in so it can mark it
(``lang="vi"``). A language is offered on the kiosk only when its catalog
covers the share ``KIOSK_LANGUAGE_COVERAGE`` of the strings the kiosk shows
(:func:`kiosk_keys`), measured against the Vietnamese catalog, which holds
every msgid of ``messages.pot``.

A language unknown to CLDR (Dao ``ium``, Tày ``tyz``, Nùng ``nut``) is added
as data alone: ``translations/<code>/LC_MESSAGES/messages.po`` plus
``translations/<code>/language.toml`` with ``name = "<its name in itself>"``;
its numbers and dates are formatted as Vietnamese.
"""

from __future__ import annotations

import io
import tomllib
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Protocol, TypeVar

from babel import Locale, UnknownLocaleError
from babel.messages.catalog import Catalog, Message
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations
from flask import current_app, g, has_app_context
from flask_babel import Domain
from jinja2 import Environment, FileSystemLoader, meta

SOURCE_LANGUAGE = "vi"
PACKAGE_DIR = Path(__file__).resolve().parent
#: Source files (relative to the project, as catalogs name them) whose strings
#: the kiosk shows besides its own blueprint and the templates those use.
_KIOSK_EXTRA_SOURCES = ("forms/", "survey/submissions.py")
#: A translator comment marking a string from elsewhere that the kiosk shows
#: (``# i18n: kiosk — ...`` above the call), e.g. a WTForms message.
KIOSK_COMMENT = "i18n: kiosk"


@cache
def kiosk_sources() -> tuple[str, ...]:
    """Where the strings the kiosk shows come from, as catalog locations.

    The kiosk blueprint (``survey/kiosk/``), every template its templates
    extend, include or import (found by parsing them, so a shared partial such
    as the offline sync state counts and a staff-only template does not), the
    questionnaire texts, and the validation messages a submission can get.
    """
    project = PACKAGE_DIR.parent
    folders = [PACKAGE_DIR / "templates", *sorted(PACKAGE_DIR.glob("*/templates"))]
    env = Environment(loader=FileSystemLoader(folders), autoescape=True,
                      extensions=["jinja2.ext.i18n"])
    kiosk_dir = PACKAGE_DIR / "kiosk"
    pending = [p.relative_to(kiosk_dir / "templates").as_posix()
               for p in sorted((kiosk_dir / "templates").rglob("*.html"))]
    files: dict[str, Path] = {}
    while pending:
        name = pending.pop()
        if name in files:
            continue
        source, filename, _uptodate = env.loader.get_source(env, name)
        files[name] = Path(filename)
        pending.extend(n for n in meta.find_referenced_templates(env.parse(source)) if n)
    templates = {path.relative_to(project).as_posix() for path in files.values()}
    return (kiosk_dir.relative_to(project).as_posix() + "/", *sorted(templates),
            *_KIOSK_EXTRA_SOURCES)


def message_key(message: Message) -> str:
    """The msgid gettext looks up (the singular one for plural entries)."""
    return message.id[0] if isinstance(message.id, tuple) else message.id


def is_translated(message: Message) -> bool:
    """Whether an entry has a usable translation: every form filled, not fuzzy."""
    strings = message.string if isinstance(message.string, tuple) else (message.string,)
    return bool(message.id) and not message.fuzzy and all(strings)


def kiosk_keys(catalog: Iterable[Message]) -> frozenset[str]:
    """The msgids of a catalog (or template) that the kiosk shows."""
    return frozenset(
        message_key(m) for m in catalog
        if m.id and (
            any(location.startswith(kiosk_sources()) for location, _line in m.locations)
            or any(comment.startswith(KIOSK_COMMENT) for comment in m.auto_comments)
        )
    )


@dataclass(frozen=True, slots=True)
class Language:
    code: str
    #: The language's name in itself (endonym), shown on the language chooser.
    name: str
    #: CLDR locale used for number and date formats (Vietnamese when CLDR
    #: does not know the language).
    format_locale: str
    #: Share of the kiosk's strings this catalog translates (0..1).
    kiosk_coverage: float
    #: msgids this catalog translates itself (the rest fall back to Vietnamese).
    translated: frozenset[str]
    translations: NullTranslations


def _cldr(code: str) -> Locale | None:
    try:
        return Locale.parse(code)
    except (UnknownLocaleError, ValueError):
        return None


def _read_catalog(po_path: Path) -> Catalog:
    """A parsed catalog; parsed once per file version (catalogs are only read)."""
    stat = po_path.stat()
    return _parse_catalog(po_path.resolve(), stat.st_mtime_ns, stat.st_size)


@cache
def _parse_catalog(po_path: Path, _mtime_ns: int, _size: int) -> Catalog:
    with po_path.open("rb") as fp:
        return read_po(fp)


class _MoSource(list[Message]):
    """What :func:`write_mo` reads from a catalog: its messages, header first, and charset."""

    charset = "utf-8"


def _translations(catalog: Catalog) -> Translations:
    """Compile a catalog in memory, leaving out untranslated and fuzzy entries.

    The header is written here because Babel omits ``Plural-Forms`` for a
    locale CLDR does not know; the catalog read from the file still has it.
    """
    header = Message("", "Content-Type: text/plain; charset=utf-8\n"
                         f"Plural-Forms: {catalog.plural_forms}\n")
    buffer = io.BytesIO()
    write_mo(buffer, _MoSource([header, *filter(is_translated, catalog)]))  # type: ignore[arg-type]
    buffer.seek(0)
    return Translations(fp=buffer)


def _load_language(directory: Path, kiosk: frozenset[str]) -> Language:
    code = directory.name
    catalog = _read_catalog(directory / "LC_MESSAGES" / "messages.po")
    translated = frozenset(message_key(m) for m in catalog if is_translated(m))
    locale = _cldr(code)
    about_path = directory / "language.toml"
    about = tomllib.loads(about_path.read_text(encoding="utf-8")) if about_path.exists() else {}
    name = about.get("name")
    if not name:
        if locale is None:
            raise ValueError(f"{about_path}: CLDR does not know {code!r}; "
                             "give its name in that language as `name = \"...\"`")
        cldr_name = locale.get_display_name(code) or code
        name = cldr_name[0].upper() + cldr_name[1:]
    if code == SOURCE_LANGUAGE:
        coverage = 1.0
    else:
        coverage = len(kiosk & translated) / len(kiosk) if kiosk else 0.0
    return Language(
        code=code,
        name=name,
        format_locale=code if locale else SOURCE_LANGUAGE,
        kiosk_coverage=coverage,
        translated=translated,
        translations=_translations(catalog),
    )


class Languages:
    """Every catalog under ``translations/``, loaded once at start-up."""

    def __init__(self, directory: Path, kiosk_threshold: float) -> None:
        source_po = directory / SOURCE_LANGUAGE / "LC_MESSAGES" / "messages.po"
        if not source_po.is_file():
            raise ValueError(f"{directory}: the Vietnamese catalog ({source_po}) is missing")
        #: What the kiosk shows, from the source catalog (every msgid of messages.pot).
        self.kiosk_keys = kiosk_keys(_read_catalog(source_po))
        found = {
            d.name: _load_language(d, self.kiosk_keys)
            for d in sorted(directory.iterdir())
            if (d / "LC_MESSAGES" / "messages.po").is_file()
        }
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
    """The language chosen for this request (``g.language``), else Vietnamese."""
    code = g.get("language") if has_app_context() else None
    return languages().get(code)


def text_language(msgid: str) -> str:
    """The language ``_(msgid)`` is shown in: the chosen one, or Vietnamese if missing.

    Templates mark fallback text with it: ``<h2 lang="{{ text_language(m) }}">``.
    """
    language = current_language()
    return language.code if msgid in language.translated else SOURCE_LANGUAGE


def select_format_locale() -> str:
    """Flask-Babel's locale selector: formats follow the chosen language (or vi)."""
    return current_language().format_locale


class HailongDomain(Domain):
    """Translations by the chosen language, not the (format) locale."""

    def get_translations(self) -> NullTranslations:
        if not has_app_context():
            return NullTranslations()
        return current_language().translations


# --- Vietnamese alphabetical order -------------------------------------------------

#: Marks that make a letter of their own, in the alphabet's order:
#: a < ă < â, e < ê, o < ô < ơ, u < ư, and d < đ (đ does not decompose).
_LETTER_MARKS = {"\u0306": 1, "\u0302": 2, "\u031b": 3}
#: Tones, in dictionary order after the level tone: huyền, hỏi, ngã, sắc, nặng.
_TONES = {"\u0300": 1, "\u0309": 2, "\u0303": 3, "\u0301": 4, "\u0323": 5}

NameKey = tuple[tuple[tuple[str, int], ...], tuple[int, ...], str]


class _HasName(Protocol):
    @property
    def name(self) -> str: ...


_Named = TypeVar("_Named", bound=_HasName)


def vietnamese_key(text: str) -> NameKey:
    """Sort key for Vietnamese names: letters first (Đoàn before Thử, Ân
    after An and Ăn), then tones, then the text itself. Codepoint order (and
    an SQLite or C-collated ``ORDER BY``) puts every Đ after Z."""
    letters: list[tuple[str, int]] = []
    tones: list[int] = []
    for char in unicodedata.normalize("NFD", text.casefold()):
        if char in _LETTER_MARKS and letters:
            letters[-1] = (letters[-1][0], _LETTER_MARKS[char])
        elif char in _TONES and tones:
            tones[-1] = _TONES[char]
        elif not unicodedata.combining(char):
            letters.append(("d", 4) if char == "đ" else (char, 0))
            tones.append(0)
    return tuple(letters), tuple(tones), text


def by_name(rows: Iterable[_Named]) -> list[_Named]:
    """``rows`` (centres, administrative units…) in Vietnamese order of ``.name``."""
    return sorted(rows, key=lambda row: vietnamese_key(row.name))

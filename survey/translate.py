"""``hailong translate extract|update|compile``: the catalog workflow (wraps pybabel).

Questionnaire texts in ``forms/`` reach ``messages.pot`` through
:func:`extract_questionnaire`, the Babel extractor named in ``babel.cfg``.
"""

from __future__ import annotations

import io
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import click
from babel import Locale, UnknownLocaleError
from babel.messages.pofile import read_po, write_po

from .config import PROJECT_ROOT
from .questionnaires import load_questionnaire, load_scales

TRANSLATIONS = PROJECT_ROOT / "translations"
POT = TRANSLATIONS / "messages.pot"
#: Plural rule of a new catalog when CLDR does not know the language: the
#: minority languages of the northern provinces (Tai, Hmong-Mien) do not
#: inflect nouns for number, like Vietnamese.
DEFAULT_PLURAL_FORMS = "nplurals=1; plural=0;"
_PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]|\{(\w+)\}")

SCALES_FILE = "scales.toml"
#: Gettext functions besides Babel's defaults (``_``, ``gettext``, ``ngettext``…).
KEYWORDS = ("_l", "lazy_gettext", "_ln:1,2", "lazy_ngettext:1,2")

Extracted = tuple[int, str | None, str, list[str]]


def extract_questionnaire(fileobj: IO[bytes], keywords: Any, comment_tags: Any,
                          options: dict[str, Any]) -> Iterator[Extracted]:  # noqa: ARG001
    """Babel extractor: every text of a questionnaire or scales file.

    The file is read by the questionnaire loader itself, so the msgids are
    exactly the (NFC, stripped) texts the kiosk and the API translate.
    """
    path = Path(fileobj.name)
    lines = fileobj.read().decode("utf-8").splitlines()
    if path.name == SCALES_FILE:
        texts = [text for scale in load_scales(path).values()
                 for text in (scale.missing, *(point.text for point in scale.points))]
    else:
        questionnaire = load_questionnaire(path, load_scales(path.parent.parent / SCALES_FILE))
        # The scale's texts are extracted from scales.toml, where they are written.
        scale = questionnaire.scale
        own = {scale.missing, *(point.text for point in scale.points)}
        texts = [text for text in questionnaire.texts() if text not in own]

    def line_of(text: str) -> int:
        quoted = f'"{text}"'
        return next((n for n, line in enumerate(lines, 1) if quoted in line), 0)

    for text in dict.fromkeys(texts):
        yield line_of(text), None, text, ["i18n: questionnaire text (forms/)"]


def _pybabel(*args: str) -> None:
    result = subprocess.run(  # noqa: S603 -- a fixed argument list, no shell
        [sys.executable, "-m", "babel.messages.frontend", *args], cwd=PROJECT_ROOT, check=False)
    if result.returncode:
        raise click.ClickException(f"pybabel {args[0]} failed (exit status {result.returncode})")


def _placeholders(text: str) -> set[str]:
    return {a or b for a, b in _PLACEHOLDER.findall(text)}


def placeholder_problems(po_path: Path) -> list[str]:
    """Translations whose ``%(name)s`` / ``{name}`` placeholders differ from the source.

    A translation may not use a placeholder its source lacks (that raises at
    run time) nor drop one. Plural forms are checked together: a singular
    form may leave out the count (``one second``) if another form has it.
    """
    with po_path.open("rb") as fp:
        catalog = read_po(fp)
    problems = []
    for message in catalog:
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if not message.id or message.fuzzy or not any(strings):
            continue  # untranslated or fuzzy entries are never used
        wanted = set().union(*map(_placeholders, ids))
        used = set().union(*(_placeholders(s) for s in strings if s))
        if used != wanted:
            shown = " | ".join(strings)
            problems.append(f"{po_path}: {ids[0]!r}: placeholders differ in {shown!r}")
    return problems


@click.group()
def translate() -> None:
    """Extract, update and compile the translation catalogs."""


@translate.command()
def extract() -> None:
    """Extract every UI and questionnaire string into translations/messages.pot."""
    keywords = [arg for keyword in KEYWORDS for arg in ("-k", keyword)]
    _pybabel("extract", "-F", "babel.cfg", *keywords, "--add-comments", "i18n:",
             "--sort-by-file", "--no-wrap", "--project", "hailong",
             "--copyright-holder", "hailong contributors", "-o", str(POT), ".")


@translate.command()
def update() -> None:
    """Merge messages.pot into every catalog."""
    catalogs = sorted(TRANSLATIONS.glob("*/LC_MESSAGES/messages.po"))
    headers = {po: plural_forms_header(po.read_text(encoding="utf-8")) for po in catalogs}
    _pybabel("update", "-i", str(POT), "-d", "translations", "--no-wrap", "--ignore-obsolete")
    for po, header in headers.items():
        po.write_text(with_plural_forms(po.read_text(encoding="utf-8"), header),
                      encoding="utf-8")


_PLURAL_FORMS = re.compile(r'^"Plural-Forms: [^"]*\\n"\n', re.MULTILINE)
_LANGUAGE = re.compile(r'^"Language: [^"]*\\n"\n', re.MULTILINE)


def plural_forms_header(po_text: str) -> str | None:
    """The ``Plural-Forms`` header line of a catalog, if it has one."""
    match = _PLURAL_FORMS.search(po_text)
    return match.group(0) if match else None


def with_plural_forms(po_text: str, header: str | None) -> str:
    """Put back a ``Plural-Forms`` line that ``pybabel update`` dropped.

    Babel writes the header only for locales CLDR knows, so a Dao, Tày or Nùng
    catalog would silently fall back to two plural forms after an update.
    """
    if header is None or _PLURAL_FORMS.search(po_text):
        return po_text
    return _LANGUAGE.sub(lambda match: match.group(0) + header, po_text, count=1)


@translate.command(name="compile")
def compile_() -> None:
    """Compile every catalog to .mo and check placeholder parity."""
    problems = [p for po in sorted(TRANSLATIONS.glob("*/LC_MESSAGES/*.po"))
                for p in placeholder_problems(po)]
    if problems:
        raise click.ClickException("\n".join(problems))
    _pybabel("compile", "-d", "translations", "--statistics")


def init_catalog(directory: Path, code: str, *, name: str | None = None,
                 plural_forms: str = DEFAULT_PLURAL_FORMS) -> Path:
    """Start ``<directory>/<code>/LC_MESSAGES/messages.po`` from ``messages.pot``.

    Unlike ``pybabel init`` this works for a language CLDR does not know (Dao
    ``ium``, Tày ``tyz``, Nùng ``nut``): it then needs ``name`` (the language's
    name in itself, written to ``language.toml``) and uses ``plural_forms``.
    """
    po_path = directory / code / "LC_MESSAGES" / "messages.po"
    if po_path.exists():
        raise click.ClickException(f"{po_path} exists; use `hailong translate update`")
    try:
        Locale.parse(code)
    except (UnknownLocaleError, ValueError):
        known = False
    else:
        known = True
    if not known and not name:
        raise click.ClickException(f"CLDR does not know {code!r}: give its name with --name")
    with (directory / "messages.pot").open("rb") as fp:
        catalog = read_po(fp)
    catalog.locale = code  # an unknown code is kept as the Language header
    catalog.fuzzy = False
    buffer = io.BytesIO()
    write_po(buffer, catalog, width=0, sort_by_file=True)
    text = buffer.getvalue().decode("utf-8")
    if not known:
        text = with_plural_forms(text, f'"Plural-Forms: {plural_forms}\\n"\n')
    po_path.parent.mkdir(parents=True)
    po_path.write_text(text, encoding="utf-8")
    if name:
        escaped = name.replace("\\", "\\\\").replace('"', '\\"')
        (directory / code / "language.toml").write_text(
            f'# The language\'s name in itself, shown on the kiosk\'s language choice.\n'
            f'name = "{escaped}"\n', encoding="utf-8")
    return po_path


@translate.command()
@click.argument("code")
@click.option("--name", help="The language's name in itself (required if CLDR does not know it).")
@click.option("--plural-forms", default=DEFAULT_PLURAL_FORMS, show_default=True,
              help="Plural rule when CLDR does not know the language.")
def init(code: str, name: str | None, plural_forms: str) -> None:
    """Start the catalog of a new language (also one CLDR does not know)."""
    path = init_catalog(TRANSLATIONS, code, name=name, plural_forms=plural_forms)
    click.echo(f"{path}: translate it; the kiosk offers it from "
               "KIOSK_LANGUAGE_COVERAGE of the kiosk's strings.")

"""``hailong translate extract|update|compile``: the catalog workflow (wraps pybabel).

Questionnaire texts in ``forms/`` reach ``messages.pot`` through
:func:`extract_questionnaire`, the Babel extractor named in ``babel.cfg``.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import click
from babel.messages.pofile import read_po

from .config import PROJECT_ROOT

POT = PROJECT_ROOT / "translations" / "messages.pot"
_PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]|\{(\w+)\}")

Extracted = tuple[int, str | None, str, list[str]]


def extract_questionnaire(fileobj: IO[bytes], keywords: Any, comment_tags: Any,
                          options: dict[str, Any]) -> Iterator[Extracted]:  # noqa: ARG001
    """Babel extractor: every text of a questionnaire or scales file."""
    source = fileobj.read().decode("utf-8")
    data = tomllib.loads(source)
    lines = source.splitlines()

    def line_of(text: str) -> int:
        return next((n for n, line in enumerate(lines, 1) if text in line), 0)

    def walk(value: Any, key: str = "") -> Iterator[str]:
        if isinstance(value, dict):
            for k, v in value.items():
                yield from walk(v, k)
        elif isinstance(value, list):
            for v in value:
                yield from walk(v, key)
        elif isinstance(value, str) and key in {"title", "intro", "text", "name", "missing"}:
            yield value

    for text in walk(data):
        yield line_of(text), None, text, ["i18n: questionnaire text (forms/)"]


def _pybabel(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", *args],
                   check=True, cwd=PROJECT_ROOT)


def placeholder_problems(po_path: Path) -> list[str]:
    """Translations whose ``%(name)s`` / ``{name}`` placeholders differ from the source."""
    with po_path.open("rb") as fp:
        catalog = read_po(fp)
    problems = []
    for message in catalog:
        if not message.id or not message.string:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        wanted = {m for i in ids for m in _PLACEHOLDER.findall(i)}
        for s in strings:
            if s and {m for m in _PLACEHOLDER.findall(s)} != wanted:
                problems.append(f"{po_path}: {ids[0]!r}: placeholders differ in {s!r}")
    return problems


@click.group()
def translate() -> None:
    """Extract, update and compile the translation catalogs."""


@translate.command()
def extract() -> None:
    """Extract every UI and questionnaire string into translations/messages.pot."""
    _pybabel("extract", "-F", "babel.cfg", "-k", "_l", "-k", "lazy_gettext",
             "-k", "_ln:1,2", "-k", "lazy_ngettext:1,2", "--add-comments", "i18n:",
             "--sort-by-file", "--no-wrap", "--project", "hailong",
             "--copyright-holder", "hailong contributors", "-o", str(POT), ".")


@translate.command()
def update() -> None:
    """Merge messages.pot into every catalog."""
    _pybabel("update", "-i", str(POT), "-d", "translations", "--no-wrap", "--ignore-obsolete")


@translate.command(name="compile")
def compile_() -> None:
    """Compile every catalog to .mo and check placeholder parity."""
    problems = [p for po in sorted((PROJECT_ROOT / "translations").glob("*/LC_MESSAGES/*.po"))
                for p in placeholder_problems(po)]
    if problems:
        raise click.ClickException("\n".join(problems))
    _pybabel("compile", "-d", "translations", "--statistics")

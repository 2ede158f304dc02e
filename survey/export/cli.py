"""``hailong export --year 2025 --format xlsx|csv|json|pdf [--lang vi|en] -o FILE``."""

from __future__ import annotations

import json
from pathlib import Path

import click
from flask.cli import with_appcontext

from ..extensions import db
from ..imports.cli import cli_actor
from .report import ExportError
from .services import export as make_export
from .services import stored_settings
from .settings import ExportSettings, SettingsError
from .vocabulary import REPORT_LANGUAGES
from .writers import FORMATS


@click.command("export")
@click.option("--year", type=int, required=True, help="Survey year (local calendar year).")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="xlsx", show_default=True)
@click.option("--lang", type=click.Choice(REPORT_LANGUAGES), default="vi", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--settings", "settings_file", type=click.Path(exists=True, dir_okay=False,
                                                            path_type=Path),
              help="JSON weighting settings (default: the year's saved settings).")
def export(year: int, fmt: str, lang: str, output: Path, settings_file: Path | None) -> None:
    """Write the yearly index workbook, CSV tables (ZIP), JSON or PDF report."""
    _run(year, fmt, lang, output, settings_file)


@with_appcontext
def _run(year: int, fmt: str, lang: str, output: Path, settings_file: Path | None) -> None:
    try:
        if settings_file is not None:
            data = json.loads(settings_file.read_text(encoding="utf-8"))
            settings = ExportSettings.from_dict({**data, "year": year})
        else:
            settings = stored_settings(year)
    except (SettingsError, json.JSONDecodeError) as exc:
        raise click.ClickException(f"settings: {exc}") from exc
    partial = output.with_name(output.name + ".part")
    try:
        with partial.open("wb") as out:
            report = make_export(settings, fmt, out, lang=lang, actor=cli_actor())
    except ExportError as exc:
        partial.unlink(missing_ok=True)
        db.session.rollback()
        raise click.ClickException(str(exc)) from exc
    partial.replace(output)
    db.session.commit()
    click.echo(f"{output}: {report.n:,} responses, index {report.overall.share * 100:.2f} % "
               f"({report.overall.ci_low * 100:.2f}–{report.overall.ci_high * 100:.2f})")

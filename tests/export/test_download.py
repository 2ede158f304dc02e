"""The web download streams: headers before the computation, the file and audit entry after."""

from __future__ import annotations

import io
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from openpyxl import load_workbook

from survey.extensions import db
from survey.models import AuditLog

YEAR = 2025  # the year of the province fixture


def _exports(app: Flask) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(AuditLog)
                                 .where(AuditLog.action == "export"))


@pytest.mark.usefixtures("province")
def test_download_starts_before_the_export_is_computed(client: Any, login: Any,
                                                       csrf_token: Any, app: Flask) -> None:
    login("analyst")
    answer = client.post("/export/download", buffered=False, data={
        "year": YEAR, "format": "xlsx", "lang": "vi", "csrf_token": csrf_token("/export/")})
    assert answer.status_code == 200
    assert answer.headers["Content-Disposition"] == 'attachment; filename="hailong-2025-vi.xlsx"'
    assert answer.is_streamed
    assert _exports(app) == 0  # nothing computed yet
    book = load_workbook(io.BytesIO(answer.get_data()))
    answer.close()
    assert book.sheetnames[0] == "Tổng hợp"
    assert _exports(app) == 1


@pytest.mark.usefixtures("province")
def test_year_without_ratings_is_refused_before_the_download(client: Any, login: Any,
                                                             csrf_token: Any,
                                                             app: Flask) -> None:
    login("analyst")
    answer = client.post("/export/download", data={
        "year": 2019, "format": "xlsx", "lang": "vi", "csrf_token": csrf_token("/export/")})
    assert answer.status_code == 422
    assert "Content-Disposition" not in answer.headers
    assert "2019" in answer.get_data(as_text=True)
    assert _exports(app) == 0

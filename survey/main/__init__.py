"""Pages for everybody: the start page and the health check."""

from __future__ import annotations

from flask import Blueprint, jsonify, render_template
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from ..extensions import db, limiter

bp = Blueprint("main", __name__, template_folder="templates")


@bp.get("/")
def index() -> str:
    return render_template("main/index.html")


@bp.get("/healthz")
@limiter.exempt
def healthz():  # noqa: ANN201 -- a Flask response tuple
    try:
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError:
        return jsonify(status="unavailable", database=False), 503
    return jsonify(status="ok", database=True)

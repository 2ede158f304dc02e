"""Staff accounts: login, logout, who may see what, and the users admin."""

from __future__ import annotations

from flask import Flask, request
from flask.sessions import SecureCookieSessionInterface

from ..extensions import db, login
from ..models import User


class HttpsAwareSessionInterface(SecureCookieSessionInterface):
    """The session cookie is ``Secure`` when configured so or the request came over HTTPS."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"]) or request.is_secure


def load_user(user_id: str) -> User | None:
    if not user_id.isdigit():
        return None
    user = db.session.get(User, int(user_id))
    return user if user is not None and user.active else None


def init_app(app: Flask) -> None:
    """Sessions and Flask-Login for staff pages (called by ``create_app``)."""
    app.session_interface = HttpsAwareSessionInterface()
    login.user_loader(load_user)
    login.login_view = "admin.login"
    login.session_protection = "strong"

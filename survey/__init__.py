"""hailong: continuous SIPAS-style citizen satisfaction measurement."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask, current_app, g, request, session

from .config import load_config
from .database import add_submit_engine
from .extensions import babel, csrf, db, limiter, login, migrate
from .i18n import HailongDomain, Languages, select_format_locale, text_language
from .questionnaires import QuestionnaireRegistry

__all__ = ["create_app", "registry"]


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Application factory: defaults, then ``HAILONG_*`` variables, then ``config``."""
    app = Flask(__name__)
    settings = load_config(config)
    app.config.update(settings)
    _configure_database(app)
    _configure_i18n(app)
    _configure_questionnaires(app)
    _configure_security(app)
    _register_blueprints(app)
    _register_cli(app)
    return app


def registry() -> QuestionnaireRegistry:
    """The questionnaires loaded by the current app."""
    return current_app.extensions["hailong_questionnaires"]


def _configure_database(app: Flask) -> None:
    url = app.config["DATABASE_URL"]
    app.config["SQLALCHEMY_DATABASE_URI"] = url
    if url.startswith("sqlite"):
        app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {"connect_args": {"timeout": 30}})
        if url.startswith("sqlite:///") and ":memory:" not in url:
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    else:
        # No ping on every checkout (a round trip per request): a pooled
        # connection idle for a while is pinged (survey.database).
        options = app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {"pool_pre_ping": False})
        add_submit_engine(app, url, options)
    db.init_app(app)
    migrate.init_app(app, db, directory=str(Path(__file__).parent / "migrations"),
                     render_as_batch=True)


def _configure_i18n(app: Flask) -> None:
    translations = Path(app.config["TRANSLATIONS_DIR"])
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(translations.resolve())
    app.config["BABEL_DEFAULT_LOCALE"] = "vi"
    app.config["BABEL_DEFAULT_TIMEZONE"] = "Asia/Ho_Chi_Minh"
    app.extensions["hailong_languages"] = Languages(
        translations, app.config["KIOSK_LANGUAGE_COVERAGE"]
    )
    babel.init_app(app, locale_selector=select_format_locale)
    babel.domain_instance = HailongDomain()
    # Templates mark text shown in the Vietnamese fallback: lang="{{ text_language(msgid) }}".
    app.jinja_env.globals["text_language"] = text_language

    @app.before_request
    def _choose_language() -> None:
        languages = app.extensions["hailong_languages"]
        wanted = (request.view_args or {}).get("lang") or request.args.get("lang")
        if wanted not in languages.codes:
            wanted = session.get("lang")  # a staff member's choice (survey.dashboard)
        if wanted not in languages.codes:
            wanted = request.accept_languages.best_match(
                sorted(languages.codes), default="vi"
            )
        g.language = wanted


def _configure_questionnaires(app: Flask) -> None:
    app.extensions["hailong_questionnaires"] = QuestionnaireRegistry.load(
        Path(app.config["FORMS_DIR"])
    )


@limiter.request_filter
def _exempt_kiosks() -> bool:
    """Kiosks behind a centre's single address may be whitelisted."""
    return request.remote_addr in current_app.config["RATE_LIMIT_EXEMPT"]


def _configure_security(app: Flask) -> None:
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    app.config["RATELIMIT_HEADERS_ENABLED"] = True
    csrf.init_app(app)
    login.init_app(app)
    from .admin import init_app as init_staff_sessions

    init_staff_sessions(app)
    limiter.init_app(app)
    if app.config["TRUST_PROXY"]:
        # Behind one reverse proxy: the client's address (rate limits) and the
        # scheme (HSTS) come from its X-Forwarded-For / X-Forwarded-Proto.
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1)  # type: ignore[method-assign]

    @app.after_request
    def _headers(response: Any) -> Any:
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
            "frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
        )
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if request.is_secure:
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        return response


def _register_blueprints(app: Flask) -> None:
    from .api.routes import bp as api_bp
    from .kiosk.routes import bp as kiosk_bp
    from .main import bp as main_bp
    from .sync.routes import bp as sync_bp

    app.register_blueprint(main_bp)
    app.register_blueprint(kiosk_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(sync_bp)
    from .admin.routes import bp as admin_bp
    from .dashboard.routes import bp as dashboard_bp

    app.register_blueprint(admin_bp)
    app.register_blueprint(dashboard_bp)
    from .export.routes import bp as export_bp

    app.register_blueprint(export_bp)


def _register_cli(app: Flask) -> None:
    from .cli import register

    register(app)



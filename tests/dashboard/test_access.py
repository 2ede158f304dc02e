"""Accounts and access: login, lockout, rate limit, CSRF, cookies, every denial."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from survey.extensions import db
from survey.models import User

from .conftest import PASSWORD


@pytest.fixture
def centres(make_centre: Callable[..., Any]) -> None:
    make_centre("ALPHA")
    make_centre("BETA")


@pytest.mark.parametrize("path", ["/dashboard/", "/dashboard/centre/ALPHA",
                                  "/dashboard/overview", "/staff/users", "/staff/users/new"])
def test_anonymous_users_are_sent_to_the_login_page(client: Any, centres: None,
                                                    path: str) -> None:
    answer = client.get(path)
    assert answer.status_code == 302
    assert answer.headers["Location"].startswith("/staff/login?next=")


def test_manager_sees_own_centre_only(centres: None, make_user: Callable[..., int],
                                      login: Callable[..., Any]) -> None:
    make_user("quanly", "manager", ["ALPHA"])
    client = login("quanly")
    assert client.get("/dashboard/centre/ALPHA").status_code == 200
    assert client.get("/dashboard/centre/BETA").status_code == 403
    assert client.get("/dashboard/overview").status_code == 403
    assert client.get("/staff/users").status_code == 403
    assert client.get("/staff/users/new").status_code == 403
    home = client.get("/dashboard/")
    assert home.headers["Location"].endswith("/dashboard/centre/ALPHA")


def test_analyst_sees_every_centre_but_not_the_users_admin(
        centres: None, make_user: Callable[..., int], login: Callable[..., Any]) -> None:
    make_user("sonoivu", "analyst")
    client = login("sonoivu")
    assert client.get("/dashboard/centre/ALPHA").status_code == 200
    assert client.get("/dashboard/centre/BETA").status_code == 200
    assert client.get("/dashboard/overview").status_code == 200
    assert client.get("/staff/users").status_code == 403
    assert client.get("/dashboard/centre/NOPE").status_code == 404


def test_admin_creates_a_manager_through_the_form(
        app: Flask, centres: None, make_user: Callable[..., int],
        login: Callable[..., Any]) -> None:
    make_user("admin", "admin")
    client = login("admin")
    page = client.get("/staff/users/new").get_data(as_text=True)
    token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    with app.app_context():
        alpha = db.session.scalar(select(User.id).where(User.username == "admin"))
        assert alpha is not None
        from survey.models import Centre
        alpha_id = db.session.scalar(select(Centre.id).where(Centre.code == "ALPHA"))
    form = {"username": "moi", "role": "manager", "centres": [str(alpha_id)],
            "password": "a long enough password", "active": "y"}
    assert client.post("/staff/users/new", data=form).status_code == 400  # no CSRF token
    answer = client.post("/staff/users/new", data={**form, "csrf_token": token})
    assert answer.status_code == 302
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == "moi"))
        assert user is not None
        assert user.role == "manager"
        assert [c.code for c in user.centres] == ["ALPHA"]
        assert user.password_hash.startswith("scrypt:")
    listing = client.get("/staff/users").get_data(as_text=True)
    assert "moi" in listing


def test_a_manager_needs_a_centre(app: Flask, centres: None) -> None:
    from survey.admin.services import UserInvalid, create_user

    with app.app_context(), pytest.raises(UserInvalid, match="at least one centre"):
        create_user("nobody", PASSWORD, "manager")


def test_wrong_password_fails_and_the_account_locks(
        app: Flask, centres: None, make_user: Callable[..., int], client: Any,
        csrf_token: Callable[[str], str]) -> None:
    make_user("sonoivu", "analyst")
    token = csrf_token("/staff/login?lang=en")
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        answer = client.post("/staff/login", data={"username": "sonoivu", "password": "wrong",
                                                   "csrf_token": token})
        assert answer.status_code == 200
        assert "Wrong username or password" in answer.get_data(as_text=True)
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == "sonoivu"))
        assert user is not None
        assert user.locked_until is not None
    locked = client.post("/staff/login", data={"username": "sonoivu", "password": PASSWORD,
                                               "csrf_token": token})
    assert locked.status_code == 200  # the right password does not open a locked account
    assert client.get("/dashboard/overview").status_code == 302


def test_login_without_csrf_token_is_refused(centres: None, make_user: Callable[..., int],
                                             client: Any) -> None:
    make_user("sonoivu", "analyst")
    answer = client.post("/staff/login", data={"username": "sonoivu", "password": PASSWORD})
    assert answer.status_code == 400


def test_login_is_rate_limited(make_app: Callable[..., Flask]) -> None:
    app = make_app(RATELIMIT_ENABLED=True, LOGIN_RATE_LIMIT="3/minute", WTF_CSRF_ENABLED=False)
    client = app.test_client()
    codes = [client.post("/staff/login", data={"username": "x", "password": "y"}).status_code
             for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    assert client.get("/staff/login").status_code == 200  # only the POST is limited


def test_session_cookie_flags(centres: None, make_user: Callable[..., int],
                              login: Callable[..., Any], app: Flask) -> None:
    make_user("sonoivu", "analyst")
    client = app.test_client()
    client.get("/staff/login", base_url="https://hailong.example")
    cookie = client.get_cookie("session", domain="hailong.example")
    assert cookie is not None
    assert cookie.http_only
    assert cookie.secure
    assert cookie.same_site == "Lax"
    plain = app.test_client()
    plain.get("/staff/login")
    cookie = plain.get_cookie("session")
    assert cookie is not None
    assert cookie.http_only
    assert not cookie.secure


def test_logout_needs_post_with_csrf(centres: None, make_user: Callable[..., int],
                                     login: Callable[..., Any]) -> None:
    make_user("sonoivu", "analyst")
    client = login("sonoivu")
    assert client.get("/staff/logout").status_code == 405
    assert client.post("/staff/logout").status_code == 400
    page = client.get("/dashboard/overview").get_data(as_text=True)
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    assert client.post("/staff/logout", data={"csrf_token": token}).status_code == 302
    assert client.get("/dashboard/overview").status_code == 302


def test_login_never_redirects_off_site(centres: None, make_user: Callable[..., int],
                                        app: Flask) -> None:
    make_user("sonoivu", "analyst")
    client = app.test_client()
    page = client.get("/staff/login").get_data(as_text=True)
    token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    answer = client.post("/staff/login?next=//evil.example/x",
                         data={"username": "sonoivu", "password": PASSWORD, "csrf_token": token})
    assert answer.headers["Location"] == "/dashboard/"


def test_users_create_command(app: Flask, centres: None, runner: Any) -> None:
    result = runner.invoke(args=["users", "create", "quanly", "--role", "manager",
                                 "--centre", "ALPHA", "--password", "a long password"])
    assert result.exit_code == 0, result.output
    bad = runner.invoke(args=["users", "create", "x", "--role", "manager", "--centre", "NOPE",
                              "--password", "a long password"])
    assert bad.exit_code != 0
    assert "unknown centre" in bad.output
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == "quanly"))
        assert user is not None
        assert [c.code for c in user.centres] == ["ALPHA"]


def test_demo_creates_one_account_per_role(app: Flask, runner: Any) -> None:
    result = runner.invoke(args=["demo", "--responses", "20"])
    assert result.exit_code == 0, result.output
    for line in ("quanly / ", "sonoivu / ", "admin / "):
        assert line in result.output
    with app.app_context():
        roles = dict(db.session.execute(select(User.username, User.role)).all())
        assert roles == {"quanly": "manager", "sonoivu": "analyst", "admin": "admin"}

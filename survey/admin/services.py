"""State changes of staff accounts: create, update, log in with lockout. Callers commit."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from datetime import timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash

from ..extensions import db
from ..models import ROLES, AdminUnit, Centre, User, utcnow
from ..questionnaires import nfc


@functools.cache
def _dummy_hash() -> str:
    """A hash to compare against when the username is unknown, so timing does
    not tell; made at the first login, not at every process start (≈ 70 ms)."""
    return hash_password("not a password")


class UserInvalid(ValueError):
    """A user could not be created or changed; the message says why."""


def hash_password(password: str) -> str:
    return generate_password_hash(password, method="scrypt")


def _centres(codes_or_ids: Iterable[str | int]) -> list[Centre]:
    wanted = list(codes_or_ids)
    ids = [v for v in wanted if isinstance(v, int)]
    codes = [v for v in wanted if isinstance(v, str)]
    found = list(db.session.scalars(select(Centre).where(
        Centre.id.in_(ids) | Centre.code.in_(codes))))
    missing = (set(ids) - {c.id for c in found}) | (set(codes) - {c.code for c in found})
    if missing:
        raise UserInvalid(f"unknown centre(s): {', '.join(sorted(map(str, missing)))}")
    return found


def create_user(username: str, password: str, role: str, *,
                centres: Iterable[str | int] = (), display_name: str | None = None) -> User:
    """A new staff account; managers must be assigned at least one centre."""
    if role not in ROLES:
        raise UserInvalid(f"role must be one of {', '.join(ROLES)}; got {role!r}")
    if db.session.scalar(select(User).where(User.username == username)) is not None:
        raise UserInvalid(f"user {username!r} exists")
    if len(password) < 10:
        raise UserInvalid("passwords have at least 10 characters")
    assigned = _centres(centres)
    if role == "manager" and not assigned:
        raise UserInvalid("a centre manager needs at least one centre")
    user = User(username=username, password_hash=hash_password(password), role=role,
                display_name=display_name, centres=assigned, failed_logins=0)
    db.session.add(user)
    db.session.flush()
    return user


def update_user(user: User, *, role: str, centres: Iterable[int], active: bool,
                display_name: str | None, password: str | None) -> User:
    if role not in ROLES:
        raise UserInvalid(f"role must be one of {', '.join(ROLES)}; got {role!r}")
    assigned = _centres(centres)
    if role == "manager" and not assigned:
        raise UserInvalid("a centre manager needs at least one centre")
    user.role = role
    user.centres = assigned
    user.active = active
    user.display_name = display_name
    if password:
        if len(password) < 10:
            raise UserInvalid("passwords have at least 10 characters")
        user.password_hash = hash_password(password)
        user.failed_logins = 0
        user.locked_until = None
    db.session.flush()
    return user


def authenticate(username: str, password: str) -> User | None:
    """The user if the password is right and the account is open; counts failures.

    After ``LOGIN_MAX_FAILURES`` consecutive failures the account is locked
    for ``LOGIN_LOCKOUT_MINUTES``, even against the right password.
    """
    user = db.session.scalar(select(User).where(User.username == username))
    if user is None or not user.active:
        check_password_hash(_dummy_hash(), password)
        return None
    now = utcnow()
    if user.locked_until is not None and user.locked_until > now:
        return None
    if not check_password_hash(user.password_hash, password):
        user.failed_logins = (user.failed_logins or 0) + 1
        if user.failed_logins >= current_app.config["LOGIN_MAX_FAILURES"]:
            user.locked_until = now + timedelta(
                minutes=current_app.config["LOGIN_LOCKOUT_MINUTES"])
            user.failed_logins = 0
        db.session.flush()
        return None
    user.failed_logins = 0
    user.locked_until = None
    db.session.flush()
    return user


class CentreInvalid(ValueError):
    """A centre could not be created or changed; the message says why."""


def save_centre(centre: Centre | None, *, code: str, name: str, unit_id: int,
                questionnaire: str, active: bool) -> Centre:
    """Create (``centre`` None) or change a centre; ``questionnaire`` is ``"<id>@<version>"``.

    A centre's code is its identity in kiosk URLs and in the API, so it never
    changes; its questionnaire may (responses keep the version they answered).
    """
    from .. import registry

    qid, _sep, version = questionnaire.partition("@")
    if not version.isdigit() or registry().get(qid, int(version)) is None:
        raise CentreInvalid(_("Unknown questionnaire version."))
    if db.session.get(AdminUnit, unit_id) is None:
        raise CentreInvalid(_("Unknown administrative unit."))
    name = nfc(name.strip())
    if centre is None:
        if db.session.scalar(select(Centre).where(Centre.code == code)) is not None:
            raise CentreInvalid(_("A centre with code %(code)s exists.", code=code))
        centre = Centre(code=code)
        db.session.add(centre)
    centre.name = name
    centre.unit_id = unit_id
    centre.questionnaire_id = qid
    centre.questionnaire_version = int(version)
    centre.active = active
    db.session.flush()
    return centre

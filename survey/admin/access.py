"""Who may see what: roles and centre assignments, checked on every staff page."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from flask import abort
from flask_login import current_user, login_required

from ..models import Centre, User

F = TypeVar("F", bound=Callable[..., Any])

#: Roles that see every centre of the province (and the province overview).
PROVINCE_ROLES = frozenset({"analyst", "admin"})


def roles_required(*roles: str) -> Callable[[F], F]:
    """Anonymous users go to the login page; users without one of ``roles`` get 403."""

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return cast(F, login_required(wrapper))

    return decorate


def sees_province(user: User) -> bool:
    return user.role in PROVINCE_ROLES


def may_see_centre(user: User, centre: Centre) -> bool:
    """Analysts and admins see every centre; a manager only the centres assigned to them."""
    return sees_province(user) or any(c.id == centre.id for c in user.centres)

"""Who is logged in: Flask-Login's user loader."""

from __future__ import annotations

from .extensions import db, login
from .models import User


@login.user_loader
def load_user(user_id: str) -> User | None:
    if not user_id.isdigit():
        return None
    user = db.session.get(User, int(user_id))
    return user if user is not None and user.active else None

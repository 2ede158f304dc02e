"""Login, logout and the users admin."""

from __future__ import annotations

import uuid
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import select
from werkzeug.wrappers import Response as WerkzeugResponse
from wtforms import SelectChoice

from .. import registry
from ..extensions import db, limiter
from ..i18n import by_name
from ..integrity import decide_exclusion
from ..models import AdminUnit, Centre, Response, User
from ..sync.queries import kiosk_status
from .access import roles_required, sees_province
from .forms import ROLE_LABELS, CentreForm, ExclusionForm, LoginForm, UserForm
from .services import (
    CentreInvalid,
    UserInvalid,
    authenticate,
    create_user,
    save_centre,
    update_user,
)

bp = Blueprint("admin", __name__, url_prefix="/staff", template_folder="templates")


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def _safe_next(target: str | None) -> str:
    """Only local paths: never redirect to another site after login."""
    if target and target.startswith("/") and not target.startswith("//") \
            and not urlsplit(target).netloc:
        return target
    return url_for("dashboard.home")


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def login() -> str | WerkzeugResponse:
    if current_user.is_authenticated:
        return redirect(url_for("dashboard.home"))
    form = LoginForm()
    if form.validate_on_submit():
        user = authenticate(form.username.data or "", form.password.data or "")
        db.session.commit()
        if user is not None:
            language = session.get("lang")
            session.clear()
            if language:
                session["lang"] = language
            login_user(user)
            return redirect(_safe_next(request.args.get("next")))
        flash(_("Wrong username or password, or the account is locked for a while."))
    return render_template("admin/login.html", form=form)


@bp.post("/logout")
@login_required
def logout() -> WerkzeugResponse:
    logout_user()
    return redirect(url_for("admin.login"))


@bp.get("/users")
@roles_required("admin")
def users() -> str:
    rows = db.session.scalars(select(User).order_by(User.username)).all()
    return render_template("admin/users.html", users=rows, role_labels=ROLE_LABELS)


def _user_form(user: User | None) -> UserForm:
    form = UserForm(obj=user) if user is not None and request.method == "GET" else UserForm()
    centres = by_name(db.session.scalars(select(Centre)))
    form.centres.choices = [SelectChoice(c.id, f"{c.name} ({c.code})") for c in centres]
    if user is not None and request.method == "GET":
        form.centres.data = [c.id for c in user.centres]
    return form


@bp.route("/users/new", methods=["GET", "POST"])
@roles_required("admin")
def user_new() -> str | WerkzeugResponse:
    form = _user_form(None)
    if form.validate_on_submit():
        try:
            if not form.password.data:
                raise UserInvalid(_("A new user needs a password."))
            create_user(form.username.data or "", form.password.data, form.role.data or "",
                        centres=form.centres.data or [],
                        display_name=form.display_name.data or None)
        except UserInvalid as exc:
            db.session.rollback()
            form.form_errors.append(str(exc))
        else:
            db.session.commit()
            flash(_("User %(name)s created.", name=form.username.data))
            return redirect(url_for("admin.users"))
    return render_template("admin/user_form.html", form=form, user=None)


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@roles_required("admin")
def user_edit(user_id: int) -> str | WerkzeugResponse:
    user = db.session.get(User, user_id) or abort(404)
    form = _user_form(user)
    form.username.data = user.username
    if form.validate_on_submit():
        try:
            update_user(user, role=form.role.data or "", centres=form.centres.data or [],
                        active=bool(form.active.data), display_name=form.display_name.data or None,
                        password=form.password.data or None)
        except UserInvalid as exc:
            db.session.rollback()
            form.form_errors.append(str(exc))
        else:
            db.session.commit()
            flash(_("User %(name)s saved.", name=user.username))
            return redirect(url_for("admin.users"))
    return render_template("admin/user_form.html", form=form, user=user)


@bp.get("/centres")
@roles_required("admin")
def centres() -> str:
    rows = by_name(db.session.scalars(select(Centre)))
    return render_template("admin/centres.html", centres=rows)


def _centre_form(centre: Centre | None) -> CentreForm:
    form = CentreForm(obj=centre) if centre is not None and request.method == "GET" \
        else CentreForm()
    units = by_name(db.session.scalars(select(AdminUnit)))
    form.unit.choices = [SelectChoice(u.id, u.name) for u in units]
    form.questionnaire.choices = [
        SelectChoice(f"{q.id}@{q.version}", f"{_(q.title)} ({q.id} v{q.version})")
        for q in sorted(registry(), key=lambda q: (q.id, q.version))
    ]
    if centre is not None and request.method == "GET":
        form.unit.data = centre.unit_id
        form.questionnaire.data = f"{centre.questionnaire_id}@{centre.questionnaire_version}"
    return form


@bp.route("/centres/new", methods=["GET", "POST"])
@bp.route("/centres/<int:centre_id>", methods=["GET", "POST"])
@roles_required("admin")
def centre_edit(centre_id: int | None = None) -> str | WerkzeugResponse:
    centre = db.session.get(Centre, centre_id) or abort(404) if centre_id else None
    form = _centre_form(centre)
    if centre is not None:
        form.code.data = centre.code  # the code is the centre's identity: never changed
    if form.validate_on_submit():
        try:
            saved = save_centre(centre, code=form.code.data or "", name=form.name.data or "",
                                unit_id=form.unit.data, questionnaire=form.questionnaire.data,
                                active=bool(form.active.data))
        except CentreInvalid as exc:
            db.session.rollback()
            form.form_errors.append(str(exc))
        else:
            db.session.commit()
            flash(_("Centre %(code)s saved.", code=saved.code))
            return redirect(url_for("admin.centres"))
    return render_template("admin/centre_form.html", form=form, centre=centre)


#: Flagged ratings shown on one page of the integrity review.
INTEGRITY_PAGE = 200


@bp.route("/integrity", methods=["GET", "POST"])
@roles_required("analyst", "admin")
def integrity() -> str | WerkzeugResponse:
    """Ratings stored with an integrity flag, and the analyst's explicit decisions."""
    form = ExclusionForm()
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                decide_exclusion(uuid.UUID(form.submission_id.data),
                                 exclude=form.exclude.data == "1",
                                 actor=current_user.username, reason=form.reason.data or "")
            except (ValueError, LookupError):
                db.session.rollback()
                abort(404)
            db.session.commit()
            flash(_("Decision recorded in the audit log."))
            return redirect(url_for("admin.integrity"))
        flash(_("Give a reason for the decision; nothing was changed."))
    flagged = db.session.scalars(
        select(Response).where(Response.integrity_flag.is_not(None))
        .order_by(Response.submitted_at.desc()).limit(INTEGRITY_PAGE)
    ).all()
    return render_template("admin/integrity.html", flagged=flagged, form=form)


@bp.get("/kiosks")
@roles_required("manager", "analyst", "admin")
def kiosks() -> str:
    """When each kiosk last synced and how many ratings it still holds."""
    visible = (db.session.scalars(select(Centre).where(Centre.active)).all()
               if sees_province(current_user) else current_user.centres)
    kiosks = kiosk_status(c.id for c in visible)
    groups = [(centre, mine) for centre in by_name(visible)
              if (mine := [k for k in kiosks if k.centre_id == centre.id])]
    return render_template("admin/kiosks.html", groups=groups)

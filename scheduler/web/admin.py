"""`/admin` (admins only): staff users and roles, API tokens, text templates, clinic settings.

Settings come from the environment and are shown read-only, never the secrets (auth token,
secret key, a database password). A new API token is shown once, on the answer to its post.
"""
from __future__ import annotations

import sqlalchemy as sa
from flask import current_app, redirect, render_template, request, url_for
from sqlalchemy import select

from scheduler.core import audit, auth
from scheduler.core.clock import now
from scheduler.errors import Conflict, DomainError, Invalid, NotFound
from scheduler.extensions import db
from scheduler.messaging import templates, texts
from scheduler.models import ROLES, ApiToken, User
from scheduler.scheduling.therapists import names as therapist_names
from scheduler.web import bp, roles, user
from scheduler.web.forms import FormState, parse_int
from scheduler.web.helpers import done_before, new_form_id, remember, when

KIND_LABELS = {
    "booked": "Appointment booked", "reminder": "Reminder", "rescheduled": "Appointment moved",
    "cancelled": "Appointment cancelled", "waitlist_promoted": "Seat opened from the waitlist",
    "confirm_ack": "Reply to C (confirmed)", "reschedule_ack": "Reply to R (reschedule)",
    "opt_out_ack": "Reply to STOP", "opt_in_ack": "Reply to START", "help": "Reply to HELP",
    "unrecognized": "Reply to anything else", "nothing_to_confirm": "C with nothing to confirm",
}
LANGUAGE_LABELS = {"en": "English", "es": "Spanish"}


def _settings() -> list[tuple[str, str]]:
    """The clinic's settings as an operator set them; secrets are left out or masked."""
    cfg = current_app.config
    offsets = ", ".join(f"{int(o.total_seconds() // 3600)}h" if o.total_seconds() % 3600 == 0
                        else f"{int(o.total_seconds() // 60)}m" for o in cfg["REMINDER_OFFSETS"])
    quiet = cfg["QUIET_HOURS"]
    rows = [
        ("CLINIC_SMS_NAME", cfg["CLINIC_SMS_NAME"]), ("CLINIC_PHONE", cfg["CLINIC_PHONE"]),
        ("SMS_BACKEND", cfg["SMS_BACKEND"]), ("REMINDER_OFFSETS", offsets),
        ("QUIET_HOURS", f"{quiet[0]:%H:%M}-{quiet[1]:%H:%M}" if quiet else "off"),
        ("PUBLIC_BASE_URL", cfg.get("PUBLIC_BASE_URL") or "not set"),
        ("DATABASE_URL", sa.make_url(cfg["SQLALCHEMY_DATABASE_URI"]).render_as_string(hide_password=True)),
    ]
    if cfg["SMS_BACKEND"] == "twilio":
        sid = cfg.get("TWILIO_ACCOUNT_SID") or ""
        rows += [("TWILIO_ACCOUNT_SID", sid[:6] + "…" if sid else "not set"),
                 ("TWILIO_MESSAGING_SERVICE_SID", cfg.get("TWILIO_MESSAGING_SERVICE_SID") or "not set"),
                 ("TWILIO_FROM_NUMBER", cfg.get("TWILIO_FROM_NUMBER") or "not set"),
                 ("TWILIO_API_BASE_URL", cfg.get("TWILIO_API_BASE_URL") or "")]
    return rows


def _page(new_user: FormState | None = None, user_forms: dict[int, FormState] | None = None,
          token: tuple[str, str] | None = None, status: int = 200):
    """The admin page; `user_forms` holds a refused per-user form, `token` a token shown once."""
    users = db.session.scalars(select(User).order_by(User.email)).all()
    therapists = therapist_names(db.session)
    tokens = db.session.execute(select(ApiToken, User.email).join(User, User.id == ApiToken.user_id)
                                .order_by(ApiToken.revoked_at.is_not(None), ApiToken.created_at.desc())
                                .limit(100)).all()
    stored = templates.overrides(db.session)
    wording = [(kind, lang, (kind, lang) in stored) for kind in texts.KINDS for lang in texts.LANGUAGES]
    html = render_template(
        "admin/admin.html", users=users, therapists=therapists, therapist_names=dict(therapists), tokens=tokens,
        roles=ROLES, when=when,
        new_user=new_user or FormState({"role": "coordinator", "form_id": new_form_id()}),
        user_forms=user_forms or {}, token=token, token_form_id=new_form_id(), wording=wording,
        kind_labels=KIND_LABELS, language_labels=LANGUAGE_LABELS, settings=_settings(), me=user())
    audit.commit(db.session, "read", "admin", None, now())
    return html, status


@bp.get("/admin")
@roles("admin")
def admin():
    return _page()


# --- staff users ----------------------------------------------------------------------------


@bp.post("/admin/users")
@roles("admin")
def admin_user_create():
    """A new staff user; a therapist user is linked to a therapist record."""
    state = FormState(request.form)
    earlier = done_before(state.get("form_id"))
    if earlier:
        return redirect(earlier)
    role = state.get("role")
    therapist_id = parse_int(state, "therapist", 1, required=False) if role == "therapist" else None
    password = state.get("password")
    if len(password) < auth.MIN_PASSWORD:
        state.add("password", f"must be at least {auth.MIN_PASSWORD} characters")
    if not state.ok:
        return _page(new_user=state, status=422)
    clock = now()
    try:
        created = auth.create_user(db.session, state.get("email"), role, clock, password=password,
                                   therapist_id=therapist_id)
    except DomainError as exc:
        db.session.rollback()
        return _page(new_user=state.fail(exc), status=exc.status)
    audit.commit(db.session, "create", "user", created.id, clock)
    remember(state.get("form_id"), url_for("web.admin") + "#users")
    return redirect(url_for("web.admin") + "#users")


def _user_action(user_id: int, change):
    """Apply `change(target, state, clock)`; a refusal shows beside that user's row."""
    state = FormState(request.form)
    clock = now()
    try:
        change(auth.get_user(db.session, user_id), state, clock)
        if not state.ok:
            raise Invalid(dict(state.errors))
    except DomainError as exc:
        db.session.rollback()
        if exc.status == 404:
            raise
        return _page(user_forms={user_id: FormState(request.form).fail(exc)}, status=exc.status)
    audit.commit(db.session, "update", "user", user_id, clock)
    return redirect(url_for("web.admin") + f"#user-{user_id}")


@bp.post("/admin/users/<int:user_id>/role")
@roles("admin")
def admin_user_role(user_id: int):
    def change(target, state, clock):
        therapist = parse_int(state, "therapist", 1, required=False) if state.get("role") == "therapist" else None
        if state.ok:
            auth.set_role(db.session, target, state.get("role"), therapist)
    return _user_action(user_id, change)


@bp.post("/admin/users/<int:user_id>/active")
@roles("admin")
def admin_user_active(user_id: int):
    def change(target, state, clock):
        if target.id == user().id and state.get("active") != "1":
            raise Conflict("you cannot deactivate yourself", field="active")
        auth.set_active(db.session, target, state.get("active") == "1", clock)
    return _user_action(user_id, change)


@bp.post("/admin/users/<int:user_id>/password")
@roles("admin")
def admin_user_password(user_id: int):
    def change(target, state, clock):
        auth.set_password(db.session, target, state.get("password"), now=clock,
                          revoke_api_tokens=state.get("revoke_tokens") == "1")
    return _user_action(user_id, change)


# --- API tokens -----------------------------------------------------------------------------


@bp.post("/admin/tokens")
@roles("admin")
def admin_token_create():
    """A new bearer token for a user, shown once on this answer (only its hash is kept)."""
    state = FormState(request.form)
    if done_before(state.get("form_id")):
        return redirect(url_for("web.admin") + "#tokens")  # the token was shown on the first answer
    user_id = parse_int(state, "user", 1)
    holder = db.session.get(User, user_id) if user_id else None
    if holder is None or not holder.active:
        return redirect(url_for("web.admin") + "#tokens")
    clock = now()
    token = auth.issue_token(db.session, holder, clock)
    audit.commit(db.session, "create", "api_token", holder.id, clock)
    remember(state.get("form_id"), url_for("web.admin") + "#tokens")
    return _page(token=(holder.email, token))


@bp.post("/admin/tokens/<int:token_id>/revoke")
@roles("admin")
def admin_token_revoke(token_id: int):
    clock = now()
    auth.revoke_token(db.session, token_id, clock)
    audit.commit(db.session, "update", "api_token", token_id, clock)
    return redirect(url_for("web.admin") + "#tokens")


# --- text templates -------------------------------------------------------------------------


def _known(kind: str, language: str) -> None:
    if kind not in texts.KINDS or language not in texts.LANGUAGES:
        raise NotFound("no such text")


def _verdict(kind: str, language: str, body: str) -> templates.Verdict:
    cfg = current_app.config
    return templates.check_template(kind, language, body, clinic_name=cfg["CLINIC_SMS_NAME"],
                                    clinic_phone=cfg["CLINIC_PHONE"])


def _template_page(kind: str, language: str, body: str, saved: bool = False, status: int = 200):
    row = templates.stored(db.session, kind, language)
    verdict = _verdict(kind, language, body)
    allowed = ["{clinic}", "{phone}"] + (["{when}"] if kind in texts.DATED_KINDS else [])
    html = render_template(
        "admin/template.html", kind=kind, language=language, body=body, verdict=verdict, row=row,
        builtin=texts.builtin(kind, language), allowed=allowed, saved=saved, when=when,
        kind_label=KIND_LABELS.get(kind, kind), language_label=LANGUAGE_LABELS[language],
        refused=status != 200)
    audit.commit(db.session, "read", "text_template", row.id if row else None, now())
    return html, status


@bp.get("/admin/templates/<kind>/<language>")
@roles("admin")
def admin_template(kind: str, language: str):
    """Edit one text's wording, with the live counter."""
    _known(kind, language)
    row = templates.stored(db.session, kind, language)
    return _template_page(kind, language, row.body if row else texts.builtin(kind, language),
                          saved=request.args.get("saved") == "1")


@bp.post("/admin/templates/<kind>/<language>/check")
@roles("admin")
def admin_template_check(kind: str, language: str):
    """The counter (htmx): characters and segments at the longest, and why it would be refused."""
    _known(kind, language)
    body = request.form.get("body", "")
    return render_template("admin/_counter.html", verdict=_verdict(kind, language, body))


@bp.post("/admin/templates/<kind>/<language>")
@roles("admin")
def admin_template_save(kind: str, language: str):
    """Store the wording, or refuse it with the reasons (nothing saved); or go back to built-in."""
    _known(kind, language)
    clock = now()
    if request.form.get("action") == "reset":
        templates.reset(db.session, kind, language)
        audit.commit(db.session, "delete", "text_template", None, clock)
        return redirect(url_for("web.admin_template", kind=kind, language=language, saved=1))
    body = request.form.get("body", "")
    cfg = current_app.config
    try:
        row = templates.save(db.session, kind, language, body, clinic_name=cfg["CLINIC_SMS_NAME"],
                             clinic_phone=cfg["CLINIC_PHONE"], user_id=user().id, now=clock)
    except Invalid:
        db.session.rollback()
        return _template_page(kind, language, body, status=422)
    audit.commit(db.session, "update", "text_template", row.id, clock)
    return redirect(url_for("web.admin_template", kind=kind, language=language, saved=1))

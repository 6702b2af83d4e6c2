"""`/admin` (admins only): staff users and roles, API tokens, text templates, clinic settings
(closed days: web/closures.py).

Settings come from the environment and are shown read-only, never the secrets (auth token,
secret key, a database password). A new API token is shown once, on the answer to its post.
"""
from __future__ import annotations

from flask import current_app, redirect, render_template, request, url_for
from sqlalchemy.engine import make_url

from scheduler.core import audit, auth, settings, staff
from scheduler.core.clock import now
from scheduler.errors import Conflict, Invalid, NotFound
from scheduler.extensions import db
from scheduler.messaging import sms, templates, texts
from scheduler.models import ROLES, FeedMode, Language, Role
from scheduler.scheduling import closures, feeds, therapists
from scheduler.web import bp, confirm, roles, user
from scheduler.web.forms import FormState, parse_id
from scheduler.web.helpers import clinic_zone, new_form_id, when
from scheduler.web.labels import LABELS
from scheduler.web.posts import Done, not_done, submit

KIND_LABELS = {
    "booked": "Appointment booked", "reminder": "Reminder", "rescheduled": "Appointment moved",
    "cancelled": "Appointment cancelled", "booked_weekly": "Weekly appointments booked",
    "cancelled_weekly": "Weekly appointments cancelled from a date on", "waitlist_promoted": "Seat opened from the waitlist",
    "confirm_ack": "Reply to C (confirmed)", "reschedule_ack": "Reply to R (reschedule)",
    "opt_out_ack": "Reply to STOP", "opt_in_ack": "Reply to START", "help": "Reply to HELP",
    "unrecognized": "Reply to anything else", "nothing_to_confirm": "C with nothing to confirm",
}
LANGUAGE_LABELS = LABELS[Language]
# The new-user form offers the least powerful role first.
ROLE_CHOICES = [(role.value, LABELS[Role][role]) for role in (Role.COORDINATOR, Role.THERAPIST, Role.ADMIN)]


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
        ("DATABASE_URL", make_url(cfg["SQLALCHEMY_DATABASE_URI"]).render_as_string(hide_password=True)),
    ]
    if sms.SMS_BACKENDS.get(cfg["SMS_BACKEND"]) is sms.TwilioBackend:
        sid = cfg.get("TWILIO_ACCOUNT_SID") or ""
        rows += [("TWILIO_ACCOUNT_SID", sid[:6] + "…" if sid else "not set"),
                 ("TWILIO_MESSAGING_SERVICE_SID", cfg.get("TWILIO_MESSAGING_SERVICE_SID") or "not set"),
                 ("TWILIO_FROM_NUMBER", cfg.get("TWILIO_FROM_NUMBER") or "not set"),
                 ("TWILIO_API_BASE_URL", cfg.get("TWILIO_API_BASE_URL") or "")]
    return rows


def page(new_user: FormState | None = None, user_forms: dict[int, FormState] | None = None,
         token: tuple[str, str] | None = None, feed_form: FormState | None = None,
         closure_form: FormState | None = None, status: int = 200):
    """The admin page; `user_forms` holds a refused per-user form, `token` a token shown once."""
    users = staff.users(db.session)
    names = therapists.names(db.session)
    tokens = staff.tokens(db.session)
    stored = templates.overrides(db.session)
    mode = feeds.mode(db.session, settings.current())
    wording = [(kind, lang, (kind, lang) in stored) for kind in texts.KINDS for lang in texts.LANGUAGES]
    html = render_template(
        "admin/admin.html", users=users, therapists=names, therapist_names=dict(names), tokens=tokens,
        roles=ROLES, role_choices=ROLE_CHOICES, when=when,
        new_user=new_user or FormState({"role": "coordinator", "timezone": clinic_zone(),
                                        "form_id": new_form_id()}),
        user_forms=user_forms or {}, token=token, token_form_id=new_form_id(), wording=wording,
        kind_labels=KIND_LABELS, language_labels=LANGUAGE_LABELS, settings=_settings(), me=user(),
        current_feed_mode=mode, feed_form=feed_form or FormState({"calendar_feeds": mode.value}),
        feed_choices=[(mode.value, LABELS[FeedMode][mode]) for mode in FeedMode],
        closures=closures.listed(db.session), closure_form=closure_form or FormState({"form_id": new_form_id()}))
    audit.commit(db.session, "read", "admin", None, now())
    return html, status


@bp.get("/admin")
@roles(Role.ADMIN)
def admin():
    return page()


# --- staff users ----------------------------------------------------------------------------


@bp.post("/admin/users")
@roles(Role.ADMIN)
def admin_user_create():
    """A new staff user; a therapist user is linked to the record picked, or the one with their
    email, or a new one made from Name and Time zone."""
    state = FormState(request.form)
    role = state.get("role")
    therapist_id = parse_id(state, "therapist", required=False) if role == Role.THERAPIST else None
    email, name = _checked(state, auth.checked_email, "email"), _checked(state, auth.checked_name, "name")
    if name is None and not state.error("name"):
        state.add("name", "is required")

    def act(clock):
        linked, also = therapist_id, ()
        if linked is not None:
            therapists.get(db.session, linked)  # one that exists (a NotFound goes beside the field)
        elif role == Role.THERAPIST:
            therapist, new = therapists.for_new_user(db.session, email, name, state.get("timezone"), clock)
            linked, also = therapist.id, (("create", "therapist", therapist.id),) if new else ()
        created = auth.create_user(db.session, email, role, clock, therapist_id=linked, name=name)
        auth.set_password(db.session, created, state.get("password"))  # the password rule lives there
        return Done(url_for("web.admin") + "#users", ("create", "user", created.id), also=also)
    return submit(state, act, lambda state, status: page(new_user=state, status=status), once_only=True,
                  missing=("therapist", "must be one of the therapists listed"))


def _checked(state: FormState, check, name: str):
    """`check(value)` of field `name`, or None with its message beside the field."""
    try:
        return check(state.get(name))
    except Invalid as exc:
        state.fail(exc)
        return None


def _user_action(user_id: int, change, question=None, done=None):
    """Apply `change(target, state, clock)`; a refusal shows beside that user's row.

    With `question(target, result)`, a post not yet confirmed only asks it (web/confirm.py);
    `done(target, result)` words the flash.
    """
    state = FormState(request.form)
    target = auth.get_user(db.session, user_id)  # a user who is not there: the 404 page
    preview = question is not None and not confirm.confirmed()

    def act(clock):
        result = change(target, state, clock)
        if not state.ok:
            raise Invalid(dict(state.errors))
        if preview:
            asked = question(target, result)
            return Done("", ("update", "user", user_id), answer=lambda: confirm.ask(asked))
        return Done(url_for("web.admin") + f"#user-{user_id}", ("update", "user", user_id),
                    flash=done(target, result) if done else None)

    def refused(state, status):
        return page(user_forms={user_id: state}, status=status)
    return submit(state, act, confirm.refused(refused) if preview else refused, preview=preview)


@bp.post("/admin/users/<id:user_id>/role")
@roles(Role.ADMIN)
def admin_user_role(user_id: int):
    def change(target, state, clock):
        therapist = parse_id(state, "therapist", required=False) if state.get("role") == Role.THERAPIST else None
        if state.ok:
            auth.set_role(db.session, target, state.get("role"), therapist)
    return _user_action(user_id, change)


@bp.post("/admin/users/<id:user_id>/active")
@roles(Role.ADMIN)
def admin_user_active(user_id: int):
    """Reactivate at once; deactivate once confirmed (it signs them out and revokes their API tokens)."""
    deactivating = request.form.get("active") != "1"

    def change(target, state, clock):
        if target.id == user().id and deactivating:
            raise Conflict("you cannot deactivate yourself", field="active")
        return auth.set_active(db.session, target, not deactivating, clock)
    if not deactivating:
        return _user_action(user_id, change, done=lambda target, _: f"{target.email} is active again.")
    return _user_action(user_id, change, question=_deactivate_question,
                        done=lambda target, revoked: " ".join(_deactivated(target, revoked)))


def _deactivated(target, revoked: int) -> list[str]:
    tokens = (f"their {revoked} API token{'s are' if revoked != 1 else ' is'} revoked for good"
              if revoked else "they hold no API token")
    return [f"{target.email} is signed out everywhere at once and can no longer sign in; {tokens}.",
            "Their records and bookings stay as they are; nobody is texted. Reactivate brings back the sign-in."]


def _deactivate_question(target, revoked: int) -> confirm.Ask:
    return confirm.Ask(f"Deactivate {target.email}?", tuple(_deactivated(target, revoked)),
                       f"Yes, deactivate {target.email}", f"Keep {target.email} active",
                       url_for("web.admin") + f"#user-{target.id}")


@bp.post("/admin/users/<id:user_id>/password")
@roles(Role.ADMIN)
def admin_user_password(user_id: int):
    def change(target, state, clock):
        auth.set_password(db.session, target, state.get("password"), now=clock,
                          revoke_api_tokens=state.get("revoke_tokens") == "1")
    return _user_action(user_id, change)


# --- calendar feeds -------------------------------------------------------------------------


@bp.post("/admin/calendar-feeds")
@roles(Role.ADMIN)
def admin_calendar_feeds():
    """Switch therapists' calendar feeds off, on, or on with patients' initials, for the clinic."""
    state = FormState(request.form)

    def act(clock):
        feeds.set_mode(db.session, state.get("calendar_feeds"), clock, user().id)
        return Done(url_for("web.admin") + "#feeds", ("update", "clinic_option", None),
                    flash="Calendar feeds setting saved.")
    return submit(state, act, lambda state, status: page(feed_form=state, status=status))


# --- API tokens -----------------------------------------------------------------------------


@bp.post("/admin/tokens")
@roles(Role.ADMIN)
def admin_token_create():
    """A new bearer token for a user, shown once on this answer (only its hash is kept).

    A second submit of the form leads to the token list: the token was shown on the first answer.
    """
    state = FormState(request.form)
    holder_id = parse_id(state, "user")

    def act(clock):
        holder = staff.active_user(db.session, holder_id)
        if holder is None:
            raise Invalid({"user": "choose an active user"})
        token, email = auth.issue_token(db.session, holder, clock), holder.email
        return Done(url_for("web.admin") + "#tokens", ("create", "api_token", holder.id),
                    answer=lambda: page(token=(email, token)))
    # Only a tampered form names no active user: back to the list, as before.
    return submit(state, act, lambda state, status: redirect(url_for("web.admin") + "#tokens"), once_only=True)


@bp.post("/admin/tokens/<id:token_id>/revoke")
@roles(Role.ADMIN)
def admin_token_revoke(token_id: int):
    def act(clock):
        auth.revoke_token(db.session, token_id, clock)
        return Done(url_for("web.admin") + "#tokens", ("update", "api_token", token_id))
    return submit(FormState(request.form), act, not_done)


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
@roles(Role.ADMIN)
def admin_template(kind: str, language: str):
    """Edit one text's wording, with the live counter."""
    _known(kind, language)
    row = templates.stored(db.session, kind, language)
    return _template_page(kind, language, row.body if row else texts.builtin(kind, language),
                          saved=request.args.get("saved") == "1")


@bp.post("/admin/templates/<kind>/<language>/check")
@roles(Role.ADMIN)
def admin_template_check(kind: str, language: str):
    """The counter (htmx): characters and segments at the longest, and why it would be refused."""
    _known(kind, language)
    body = request.form.get("body", "")
    return render_template("admin/_counter.html", verdict=_verdict(kind, language, body))


@bp.post("/admin/templates/<kind>/<language>")
@roles(Role.ADMIN)
def admin_template_save(kind: str, language: str):
    """Store the wording, or refuse it with the reasons (nothing saved); or go back to built-in."""
    _known(kind, language)
    body = request.form.get("body", "")
    saved = url_for("web.admin_template", kind=kind, language=language, saved=1)

    def act(clock):
        if request.form.get("action") == "reset":
            templates.reset(db.session, kind, language)
            return Done(saved, ("delete", "text_template", None))
        cfg = current_app.config
        row = templates.save(db.session, kind, language, body, clinic_name=cfg["CLINIC_SMS_NAME"],
                             clinic_phone=cfg["CLINIC_PHONE"], user_id=user().id, now=clock)
        return Done(saved, ("update", "text_template", row.id))
    return submit(FormState(request.form), act,
                  lambda state, status: _template_page(kind, language, body, status=status))

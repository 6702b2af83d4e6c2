"""A patient's page with DEMO_REPLIES on: staff send a reply as the patient, to try the reply flows without a phone.

The text goes through scheduling.replies (handle(), the function the Twilio webhook calls), so
the page then shows what a real reply would have done: a C confirms, STOP opts out, HELP is
answered, anything else becomes a task. It is stored marked simulated, and audited. Off (the
default, and always with Twilio: config refuses to start otherwise) the form is not on the page
and the route answers 404, as for any page that is not there. Coordinators and admins only: the
answer to a C names the next session, which may be a colleague's a therapist must not see.
"""
from __future__ import annotations

from flask import abort, g, make_response, request, url_for

from scheduler.core import access, settings
from scheduler.extensions import db
from scheduler.scheduling import replies
from scheduler.schemas.pages import SimulatedReply
from scheduler.web import bp, roles, user
from scheduler.web.forms import FormState, parse_into
from scheduler.web.helpers import new_form_id
from scheduler.web.patients import patient_page
from scheduler.web.posts import Done, submit


def _allowed() -> bool:
    return settings.current().demo_replies and g.get("user") is not None and access.sees_everyone(user())


@bp.app_context_processor
def reply_as_patient_form() -> dict:
    """`reply_form` for templates/patients/_reply_as_patient.html: None when the control is absent."""
    if not _allowed():
        return {"reply_form": None}
    return {"reply_form": g.get("reply_form") or FormState({"form_id": new_form_id()})}


@bp.post("/patients/<id:patient_id>/reply")
@roles(*access.STAFF)
def patient_reply(patient_id: int):
    """Send as patient: the reply handled as if it came from their phone, then back to their page."""
    if not _allowed():
        abort(404)
    access.require_patient(db.session, user(), patient_id)
    state = FormState(request.form)
    body = parse_into(state, SimulatedReply, {"reply": state.get("reply")})

    def act(clock):
        message_id, answer = replies.simulate(db.session, patient_id, body.reply, clock, settings.current())
        said = f"The answer their phone would get: “{answer}”" if answer else "No answer goes back to it."
        return Done(url_for("web.patient_page", patient_id=patient_id, _anchor="messages-title"),
                    ("simulate", "message", message_id),
                    flash=f"Reply sent as the patient (simulated). {said}")
    return submit(state, act, _refused, once_only=True)


def _refused(state: FormState, status: int):
    """The patient's page again, with the message beside Reply and what was typed kept."""
    g.reply_form = state
    return make_response(patient_page(request.view_args["patient_id"]), status)

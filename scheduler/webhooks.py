"""Twilio webhooks: inbound texts and delivery status callbacks, accepted only when signed."""
from __future__ import annotations

import logging

from flask import Blueprint, Response, current_app, request
from sqlalchemy.exc import IntegrityError
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from scheduler.core import settings
from scheduler.core.clock import now
from scheduler.extensions import db
from scheduler.messaging import inbound

bp = Blueprint("webhooks", __name__, url_prefix="/sms")
log = logging.getLogger(__name__)


def signed_url() -> str:
    """The URL Twilio signed: the public one when the app sits behind a proxy."""
    base = (current_app.config.get("PUBLIC_BASE_URL") or "").rstrip("/")
    if not base:
        return request.url
    query = request.query_string.decode("utf-8", "replace")
    return base + request.path + (f"?{query}" if query else "")


@bp.before_request
def require_signature():
    """403 and no change for anything Twilio did not sign; unsigned webhooks are never trusted."""
    token = current_app.config.get("TWILIO_AUTH_TOKEN") or ""
    signature = request.headers.get("X-Twilio-Signature", "")
    if token and signature and RequestValidator(token).validate(signed_url(), request.form, signature):
        return None
    log.warning("refused a webhook without a valid Twilio signature (%s)", request.path)
    return Response("invalid or missing Twilio signature\n", 403, mimetype="text/plain")


def _twiml(text: str | None) -> Response:
    answer = MessagingResponse()
    if text:
        answer.message(text)
    return Response(str(answer), mimetype="text/xml")


@bp.post("/inbound")
def inbound_message():
    """A patient's text: act on it once and answer in TwiML (empty for an unknown number)."""
    form = request.form
    args = (form.get("From"), form.get("Body"), form.get("MessageSid") or None)
    try:
        reply = inbound.handle_inbound(db.session, *args, now(), settings.current())
        db.session.commit()
    except IntegrityError:
        # The same MessageSid committed by a concurrent request: the retry finds it and answers alike.
        db.session.rollback()
        reply = inbound.handle_inbound(db.session, *args, now(), settings.current())
        db.session.commit()
    return _twiml(reply)


@bp.post("/status")
def message_status():
    """Twilio's delivery status for a text we sent; unknown sids and stale statuses change nothing."""
    form = request.form
    inbound.handle_status(db.session, form.get("MessageSid"), form.get("MessageStatus"),
                          form.get("ErrorCode"), now())
    db.session.commit()
    return Response(status=204)

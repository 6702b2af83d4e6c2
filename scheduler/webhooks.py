"""Twilio webhooks: inbound texts and delivery status callbacks, accepted only when signed.

A request is acted on only when all of these hold, else it gets 403 and changes nothing:
- `PUBLIC_BASE_URL` is set and the X-Twilio-Signature is valid for that URL. The Host header
  is never trusted: without PUBLIC_BASE_URL (allowed only with the console backend) every
  webhook is refused.
- Its MessageSid (and SmsSid, if sent) is well formed. Twilio's signature joins names and
  values without separators, so moving a boundary (`MessageSid=SMx` + `NumMedia=0` ->
  `MessageSid=SMxNumMedia0`) keeps a signature valid while the sid dedupe would see a new
  message; a malformed sid is such a re-split.
- Its signature has not been seen within SIGNATURE_WINDOW (models.SeenSignature, shared by
  every process). A signature seen before is never acted on again: a verbatim retry of a text
  we already answered gets the same answer, a repeated status callback a 204, anything else 403.
"""
from __future__ import annotations

import hashlib
import logging
import re
from datetime import datetime, timedelta

from flask import Blueprint, Response, current_app, g, request
from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from scheduler.core import settings
from scheduler.core.clock import now
from scheduler.core.db import is_postgres
from scheduler.extensions import db
from scheduler.messaging import statuses
from scheduler.models import Message, SeenSignature
from scheduler.scheduling import replies

bp = Blueprint("webhooks", __name__, url_prefix="/sms")
log = logging.getLogger(__name__)

SID = re.compile(r"^(SM|MM)[0-9a-f]{32}$")
SID_FIELDS = ("MessageSid", "SmsSid")
SIGNATURE_WINDOW = timedelta(days=30)


def signed_url() -> str:
    """The URL Twilio signed: always the configured public one, never what the Host header says."""
    base = current_app.config["PUBLIC_BASE_URL"].rstrip("/")
    query = request.query_string.decode("utf-8", "replace")
    return base + request.path + (f"?{query}" if query else "")


def _refuse(why: str) -> Response:
    log.warning("refused a webhook (%s): %s", request.path, why)
    return Response("refused\n", 403, mimetype="text/plain")


def _first_sighting(signature: str) -> bool:
    """Remember the signature in this transaction; False when it was seen before (shared, unique key)."""
    mod = postgresql if is_postgres(db.session) else sqlite
    stmt = mod.insert(SeenSignature).values(signature_hash=hashlib.sha256(signature.encode()).hexdigest(),
                                            seen_at=now()).on_conflict_do_nothing()
    # RETURNING, not rowcount: psycopg reports -1 for this statement.
    return db.session.execute(stmt.returning(SeenSignature.signature_hash)).first() is not None


@bp.before_request
def require_signature():
    """403 and no change for anything Twilio did not sign for our public URL, or a malformed sid."""
    token = current_app.config.get("TWILIO_AUTH_TOKEN") or ""
    signature = request.headers.get("X-Twilio-Signature", "")
    if not current_app.config.get("PUBLIC_BASE_URL"):
        return _refuse("PUBLIC_BASE_URL is not set, so no signature can be checked")
    if not (token and signature and RequestValidator(token).validate(signed_url(), request.form, signature)):
        return _refuse("no valid Twilio signature")
    if not SID.match(request.form.get("MessageSid", "")) or any(
            name in request.form and not SID.match(request.form[name]) for name in SID_FIELDS):
        return _refuse("malformed message sid")
    g.replayed = not _first_sighting(signature)
    return None


def _twiml(text: str | None) -> Response:
    answer = MessagingResponse()
    if text:
        answer.message(text)
    return Response(str(answer), mimetype="text/xml")


def _handle_inbound(form) -> str | None:
    """Store and read the text, let it change a booking (a C confirms), answer it: one transaction."""
    reply = replies.handle(db.session, form.get("From"), form.get("Body"), form["MessageSid"], now(),
                           settings.current())
    db.session.commit()  # an opt-out or opt-in is audited where it happens (messaging.optouts)
    return reply


@bp.post("/inbound")
def inbound_message():
    """A patient's text: act on it once and answer in TwiML (empty for an unknown number)."""
    form = request.form
    if g.replayed:
        if db.session.scalar(select(Message.id).where(Message.twilio_sid == form["MessageSid"])) is None:
            db.session.rollback()
            return _refuse("signature seen before")
        log.info("webhook %s: a retry of a text already handled; answered alike", request.path)
        return _twiml(_handle_inbound(form))  # the sid dedupe answers alike and acts on nothing
    try:
        reply = _handle_inbound(form)
    except IntegrityError:
        # The same MessageSid committed by a concurrent request: the retry finds it and answers alike.
        db.session.rollback()
        _first_sighting(request.headers["X-Twilio-Signature"])
        reply = _handle_inbound(form)
    return _twiml(reply)


@bp.post("/status")
def message_status():
    """Twilio's delivery status for a text we sent; one that comes before the send is recorded is kept."""
    form = request.form
    if g.replayed:
        db.session.rollback()
        return Response(status=204)
    outcome = statuses.handle(db.session, form["MessageSid"], form.get("MessageStatus"),
                              form.get("ErrorCode"), now())
    db.session.commit()
    if outcome == statuses.KEPT:
        statuses.apply_early(db.session, [form["MessageSid"]])  # recorded while we kept it?
    return Response(status=204)  # kept, at worst: the worker or housekeeping applies it


def prune_signatures(session: Session, at: datetime) -> int:
    """Forget signatures older than the window (the worker's housekeeping); returns rows removed."""
    removed = session.execute(delete(SeenSignature).where(SeenSignature.seen_at < at - SIGNATURE_WINDOW))
    return removed.rowcount or 0

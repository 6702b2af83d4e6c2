"""Twilio's delivery statuses for texts we sent: applied in order and once, even when they come early.

A callback can arrive before its send is recorded: Twilio calls back while the worker is still
batching what it records (sending.record_sent_many), or while a crashed worker's text waits to
be found at Twilio. Such a callback is kept (models.EarlyStatus) and applied once the send is
recorded. Both sides look again after committing, the webhook after keeping the callback and
the worker after recording the send, so whichever commits second sees the other's row; taking
kept rows with DELETE ... RETURNING lets only one of them apply it. Housekeeping sweeps up what
a crash (or a failed try) left behind, and forgets, after a week, callbacks no send claimed.
"""
from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from scheduler.messaging import optouts, sms
from scheduler.models import Direction, EarlyStatus, Message, MessageStatus, Patient, Task, TaskKind

# Twilio's callback statuses we act on, as our statuses; earlier ones (queued, accepted,
# sending) say nothing our row does not already know.
CALLBACK_STATUSES = {"sent": MessageStatus.SENT, "delivered": MessageStatus.DELIVERED,
                     "read": MessageStatus.DELIVERED, "undelivered": MessageStatus.UNDELIVERED,
                     "failed": MessageStatus.FAILED}
# How far along an outbound text is; a status only ever replaces one of lower rank.
RANK = {MessageStatus.PENDING: 0, MessageStatus.SENDING: 1, MessageStatus.SENT: 2,
        MessageStatus.DELIVERED: 3, MessageStatus.UNDELIVERED: 3, MessageStatus.FAILED: 3}
FAILED = (MessageStatus.UNDELIVERED, MessageStatus.FAILED)
OPTED_OUT_CODE = 21610  # Twilio: the number replied STOP to the carrier
# An unanswered send is looked up at Twilio within minutes; a week covers any outage.
KEEP_EARLY = timedelta(days=7)

APPLIED, IGNORED, KEPT = "applied", "ignored", "kept"

log = logging.getLogger(__name__)


def error_code(value) -> int | None:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None


def _locked(session: Session, sid: str) -> Message | None:
    # Locked and re-read: callbacks for one message may arrive together and out of order.
    return session.execute(select(Message).where(Message.twilio_sid == sid, Message.direction == Direction.OUT)
                           .with_for_update().execution_options(populate_existing=True)).scalar_one_or_none()


def handle(session: Session, sid: str | None, status: str | None, code, now: datetime) -> str:
    """A status callback, in the caller's transaction: APPLIED, IGNORED, or KEPT for a send not yet recorded.

    After committing a KEPT one, call apply_early: the send may have been recorded meanwhile.
    """
    new = CALLBACK_STATUSES.get((status or "").strip().lower())
    if not sid or new is None or "\x00" in sid:
        return IGNORED
    msg = _locked(session, sid)
    if msg is None:
        session.add(EarlyStatus(twilio_sid=sid, status=new, error_code=error_code(code), received_at=now))
        return KEPT
    return APPLIED if _apply(session, msg, new, error_code(code), now) else IGNORED


def _apply(session: Session, msg: Message, new: str, code: int | None, now: datetime) -> bool:
    """Move the locked row forward to `new`; a failure asks staff, a carrier's STOP opts out."""
    if msg.status not in RANK or RANK[new] <= RANK[msg.status]:
        return False
    msg.status = new
    if new in (MessageStatus.SENT, MessageStatus.DELIVERED) and msg.sent_at is None:
        msg.sent_at = now
    detail = None
    if new in FAILED:
        msg.error_code = code
        msg.error = detail = sms.describe_error(code)[:300]
        patient = session.get(Patient, msg.patient_id) if msg.patient_id else None
        if patient is not None:
            if code == OPTED_OUT_CODE:
                optouts.opt_out(session, patient, now)  # the carrier says STOP
            session.add(Task(patient_id=patient.id, kind=TaskKind.SMS_FAILED, message_id=msg.id,
                             appointment_id=msg.appointment_id, detail=detail, created_at=now))
    msg.note(new, now, detail)
    session.flush()
    return True


def _recorded(sids: list[str] | None = None):
    """The sids of sends we recorded (of `sids`, when given), as a subquery."""
    recorded = select(Message.twilio_sid).where(Message.direction == Direction.OUT, Message.twilio_sid.is_not(None))
    return recorded if sids is None else recorded.where(Message.twilio_sid.in_(sids))


def apply_early(session: Session, sids: Iterable[str] | None = None) -> int:
    """Apply kept callbacks whose send is now recorded (all of them when `sids` is None).

    One at a time, each in a transaction of its own: a text's lock is never held while another
    text's (or its patient's) is wanted, so this cannot deadlock with a webhook applying a status
    of its own. DELETE ... RETURNING gives each kept callback to one caller only; one that fails
    stays kept for the next try (housekeeping), and nothing here raises a database error to the
    caller (a webhook answer, a dispatch pass). Returns how many changed a text.
    """
    sids = None if sids is None else list(sids)
    if sids == []:
        return 0
    try:
        kept = session.scalars(select(EarlyStatus.id).where(EarlyStatus.twilio_sid.in_(_recorded(sids)))
                               .order_by(EarlyStatus.received_at, EarlyStatus.id)).all()
    except SQLAlchemyError as exc:  # never the caller's failure: what is kept stays kept
        log.error("early delivery statuses not looked up (%s)", type(exc).__name__)
        kept = []
    session.rollback()
    changed = 0
    for early_id in kept:
        try:
            row = session.execute(delete(EarlyStatus).where(EarlyStatus.id == early_id).returning(
                EarlyStatus.twilio_sid, EarlyStatus.status, EarlyStatus.error_code, EarlyStatus.received_at)
                .execution_options(synchronize_session=False)).first()
            msg = _locked(session, row.twilio_sid) if row is not None else None
            if msg is not None and _apply(session, msg, row.status, row.error_code, row.received_at):
                changed += 1
            session.commit()
        except SQLAlchemyError as exc:  # e.g. a deadlock victim: kept, and tried again later
            session.rollback()
            log.error("early delivery status %s not applied yet (%s)", early_id, type(exc).__name__)
    return changed


def forget_early(session: Session, now: datetime) -> int:
    """Drop kept callbacks older than KEEP_EARLY whose send was never recorded; returns how many."""
    return session.execute(delete(EarlyStatus).where(
        EarlyStatus.received_at < now - KEEP_EARLY, EarlyStatus.twilio_sid.not_in(_recorded()))).rowcount or 0

"""Send prepared texts through the SMS backend and record what came of each, under the row's lease.

A prepared row (Outgoing, from dispatch.prepare) leaves here: paced, sent, then recorded as
sent (record_sent_many, which then applies any delivery status that came first), retried
later or failed (record_failure), or handed back untouched (release). A row whose earlier
send went unanswered is first looked up at Twilio (look_up), so a retry never texts twice. Every write re-checks the lease token: a worker that stalled
past its lease cannot overwrite the row's new owner. No transaction is open while Twilio is
being talked to (on SQLite it would hold the database's write lock).
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple

from sqlalchemy import bindparam, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from scheduler.core import audit
from scheduler.core.settings import Settings
from scheduler.messaging import optouts, sms, statuses
from scheduler.models import Message, MessageStatus, Patient, Task, TaskKind

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
BACKOFF_FIRST = timedelta(seconds=30)
BACKOFF_CAP = timedelta(minutes=15)
AMBIGUOUS_RETRY = timedelta(seconds=10)  # short: the retry starts by asking Twilio anyway
LOOKUP_MARGIN = timedelta(minutes=1)


@dataclass
class Outgoing:
    """A prepared row, ready to leave: who owns it (token) and exactly what goes out."""

    id: int
    token: datetime
    to: str
    body: str
    history: list


class Sent(NamedTuple):
    """Twilio accepted a prepared row's text: its sid, and when we heard."""

    out: Outgoing
    sid: str
    at: datetime


class Pacer:
    """At most `per_second` sends per second in this process, evenly spaced (Twilio's limit)."""

    def __init__(self, per_second: float | None, clock=time.monotonic, sleep=time.sleep):
        self.interval = 1.0 / per_second if per_second else 0.0
        self._clock, self._sleep, self._next = clock, sleep, 0.0
        self._lock = threading.Lock()  # the sending threads share one pace

    def wait(self) -> None:
        """Block until the next send is allowed."""
        if not self.interval:
            return
        with self._lock:
            now = self._clock()
            slot = max(now, self._next)
            self._next = slot + self.interval
        if slot > now:
            self._sleep(slot - now)



def backoff(attempts: int, first: timedelta = BACKOFF_FIRST) -> timedelta:
    """Wait before retry number `attempts`: `first` (SMS_RETRY_SECONDS), doubling, at most 15 minutes."""
    return min(first * 2 ** min(max(attempts - 1, 0), 16), BACKOFF_CAP)


def retry_first(settings: Settings) -> timedelta:
    """The first retry's wait from the settings (30 s unless SMS_RETRY_SECONDS says otherwise)."""
    return timedelta(seconds=settings.sms_retry_seconds)


def release(session: Session, ids: list[int], token: datetime) -> int:
    """Hand claimed rows back untouched (a worker shutting down); returns how many."""
    if not ids:
        return 0
    count = session.execute(
        update(Message).where(Message.id.in_(ids), Message.status == MessageStatus.SENDING,
                              Message.lease_until == token)
        .values(status=MessageStatus.PENDING, lease_until=None)
        .execution_options(synchronize_session=False)).rowcount
    session.commit()
    return count or 0


def _ours(session: Session, msg_id: int, token: datetime | None) -> Message | None:
    """The row, locked and fresh, if it is still ours (sending under our lease)."""
    msg = session.execute(select(Message).where(Message.id == msg_id).with_for_update()
                          .execution_options(populate_existing=True)).scalar_one_or_none()
    if msg is None or msg.status != MessageStatus.SENDING or msg.lease_until != token:
        return None
    return msg


# -- sending -------------------------------------------------------------------------------
def look_up(session: Session, msg_id: int, token: datetime, now_fn: Callable[[], datetime],
            backend: sms.SmsBackend) -> str | None:
    """An uncertain row: ask Twilio first. Returns an outcome when that settled it, else None."""
    msg = _ours(session, msg_id, token)
    earlier = None
    if msg is not None and msg.body and msg.to_phone and msg.send_started_at:
        earlier = (msg.to_phone, msg.body, msg.send_started_at - LOOKUP_MARGIN)
        # The same words to the same number earlier (book, cancel, rebook) are another row's text.
        taken = frozenset(session.scalars(select(Message.twilio_sid).where(
            Message.to_phone == msg.to_phone, Message.twilio_sid.is_not(None), Message.id != msg_id)))
    session.rollback()  # no transaction stays open while Twilio is asked
    if earlier is None:
        return None  # never prepared, so never sent
    try:
        sid = backend.find_sent(*earlier, exclude=taken)
    except sms.SmsError as exc:
        return record_failure(session, msg_id, token, now_fn(), exc)
    if sid:
        return record_sent(session, msg_id, now_fn(), sid, "found at Twilio after an unanswered send")
    return None


def send(session: Session, out: Outgoing, now_fn: Callable[[], datetime], backend: sms.SmsBackend, pacer: Pacer,
         settings: Settings, should_stop: Callable[[], bool] = lambda: False) -> Sent | str:
    """Send one prepared row. Sent for the caller to record (record_sent_many), else the outcome."""
    base = settings.public_base_url
    pacer.wait()
    if should_stop():
        release(session, [out.id], out.token)
        return "released"
    try:
        result = backend.send(out.to, out.body, status_callback=f"{base}/sms/status" if base else None)
    except sms.SmsError as exc:
        return record_failure(session, out.id, out.token, now_fn(), exc, retry_first(settings))
    return Sent(out, result.sid, now_fn())


# -- outcomes ------------------------------------------------------------------------------
def set_aside(session: Session, msg_id: int, token: datetime, now: datetime) -> None:
    """A row whose handling failed unexpectedly: back to pending a little later, still uncertain.

    The failure is logged by type only (SQL errors may quote patient data); the pass goes on.
    """
    session.rollback()
    session.execute(update(Message).where(Message.id == msg_id, Message.status == MessageStatus.SENDING,
                                          Message.lease_until == token)
                    .values(status=MessageStatus.PENDING, due_at=now + AMBIGUOUS_RETRY, lease_until=None)
                    .execution_options(synchronize_session=False))
    session.commit()


def record_sent(session: Session, msg_id: int, now: datetime, sid: str, detail: str | None = None) -> str:
    """Twilio has the text: record its sid, even if our lease ran out meanwhile (it is the truth).

    A delivery status that came before this is applied right after.
    """
    outcome = _record_one(session, msg_id, now, sid, detail)
    if outcome == "sent":
        statuses.apply_early(session, [sid])
    return outcome


def _record_one(session: Session, msg_id: int, now: datetime, sid: str, detail: str | None = None) -> str:
    msg = session.execute(select(Message).where(Message.id == msg_id).with_for_update()
                          .execution_options(populate_existing=True)).scalar_one_or_none()
    if msg is None:
        session.rollback()
        return "lost"
    if msg.twilio_sid is not None:
        if msg.twilio_sid != sid:
            log.error("message %s reached Twilio twice (sids %s and %s)", msg_id, msg.twilio_sid, sid)
        session.rollback()
        return "lost"
    msg.status, msg.twilio_sid, msg.sent_at, msg.uncertain = MessageStatus.SENT, sid, now, False
    msg.attempts += 1  # it reached Twilio (an unanswered send found there counts here, once)
    msg.lease_until, msg.error_code, msg.error = None, None, None
    msg.note(MessageStatus.SENT, now, detail)
    try:
        session.commit()
    except IntegrityError:  # the sid is another row's: never record it twice
        session.rollback()
        log.error("message %s: sid already recorded for another text; not recorded", msg_id)
        return "lost"
    return "sent"


_table = Message.__table__
# Plain UPDATE run once per accepted text of a group (executemany): no ORM work on the hot path.
_MARK_SENT = (update(_table)
              .where(_table.c.id == bindparam("m_id"), _table.c.status == MessageStatus.SENDING,
                     _table.c.lease_until == bindparam("token"))
              .values(status=MessageStatus.SENT, twilio_sid=bindparam("t_sid"), sent_at=bindparam("at"),
                      uncertain=False, lease_until=None, error_code=None, error=None,
                      attempts=_table.c.attempts + 1,
                      history=bindparam("hist")))


def record_sent_many(session: Session, sent: list[Sent]) -> dict[str, int]:
    """Record a group's accepted texts in one transaction; returns outcome counts.

    If a crash loses this commit, the rows are taken over as uncertain and found at Twilio
    by the lookup: never sent twice. A row that changed hands meanwhile is recorded alone.
    """
    if not sent:
        return {}
    try:
        done = session.execute(_MARK_SENT, [
            dict(m_id=s.out.id, token=s.out.token, t_sid=s.sid, at=s.at,
                 hist=[*s.out.history, {"status": MessageStatus.SENT, "at": s.at.isoformat()}]) for s in sent]).rowcount
        audit.record_many(session, "send", "message", [s.out.id for s in sent], sent[-1].at)  # ids only
        session.commit()
    except IntegrityError:
        session.rollback()  # one bad row: record them one by one below, so the others still count
        done = -1
    if done == len(sent):  # both dialects report executemany's row count
        counts = {"sent": done}
    else:
        recorded = set(session.scalars(select(Message.id).where(Message.twilio_sid.in_([s.sid for s in sent]))))
        session.rollback()
        counts = {"sent": len(recorded)}
        for s in sent:
            if s.out.id not in recorded:
                outcome = _record_one(session, s.out.id, s.at, s.sid)
                counts[outcome] = counts.get(outcome, 0) + 1
    statuses.apply_early(session, [s.sid for s in sent])
    return counts


def _task(session: Session, msg: Message, kind: str, detail: str, now: datetime) -> None:
    session.add(Task(patient_id=msg.patient_id, kind=kind, message_id=msg.id,
                     appointment_id=msg.appointment_id, detail=detail[:300], created_at=now))


def record_failure(session: Session, msg_id: int, token: datetime, now: datetime,
                   exc: sms.SmsError, first_wait: timedelta = BACKOFF_FIRST) -> str:
    """Retry later, or give up visibly (a staff task); a 21610 opts the patient out."""
    msg = _ours(session, msg_id, token)
    if msg is None:
        session.rollback()
        log.warning("message %s: outcome not recorded, the row changed hands", msg_id)
        return "lost"
    msg.error_code, msg.error, msg.lease_until = exc.code, exc.detail[:300], None
    if exc.kind == sms.AMBIGUOUS:
        msg.uncertain = True  # counted once the lookup finds it at Twilio; not if it never arrived
    else:
        msg.attempts += 1  # Twilio answered with an error, or could not be reached
    if exc.kind == sms.OPTED_OUT:
        patient = session.get(Patient, msg.patient_id) if msg.patient_id is not None else None
        if patient is not None:
            optouts.opt_out(session, patient, now)
        optouts.remember(session, msg.to_phone, now)
        _task(session, msg, TaskKind.OPT_OUT, "Twilio refused: the number replied STOP; call them", now)
    elif exc.kind == sms.PERMANENT:
        _task(session, msg, TaskKind.SMS_FAILED, f"Text not sent: {exc.detail}", now)
    elif msg.attempts >= MAX_ATTEMPTS:
        msg.error = f"gave up after {msg.attempts} attempts: {exc.detail}"[:300]
        _task(session, msg, TaskKind.SMS_FAILED, msg.error, now)
    else:
        wait = AMBIGUOUS_RETRY if exc.kind == sms.AMBIGUOUS else backoff(msg.attempts, first_wait)
        msg.status, msg.due_at = MessageStatus.PENDING, now + wait
        msg.note(MessageStatus.PENDING, now, f"retry: {exc.detail}")
        session.commit()
        return "retry"
    msg.status = MessageStatus.FAILED
    msg.note(MessageStatus.FAILED, now, msg.error)
    session.commit()
    log.warning("message %s failed (%s)", msg_id, exc.kind)
    return "failed"

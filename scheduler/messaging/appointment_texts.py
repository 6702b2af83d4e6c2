"""What the texts about one appointment have done, for its page: sent, queued, confirmed, failed.

A person reading an appointment wants the state of each text, not the rows: the booking text
went out at 9:02 AM, the reminder waits until Tuesday 10:00 AM, the patient replied C, a text
could not be delivered and why. Withdrawn texts (a reminder replaced by a reschedule) are left
out: they were never going to reach the patient.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from scheduler.messaging import sms
from scheduler.models import Direction, Message, MessageStatus

FAILED = (MessageStatus.FAILED, MessageStatus.UNDELIVERED)
NEVER = datetime.max.replace(tzinfo=UTC)  # a text with no time yet sorts last


@dataclass(frozen=True)
class TextState:
    """One text about the appointment, as staff read it."""

    kind: str  # a MessageKind
    direction: str  # a Direction
    status: str  # a MessageStatus
    at: datetime | None  # sent, received, or (still waiting) due
    detail: str = ""  # why it failed or was not sent

    @property
    def failed(self) -> bool:
        return self.status in FAILED

    @property
    def waiting(self) -> bool:
        return self.status in (MessageStatus.PENDING, MessageStatus.SENDING)


def _state(msg: Message) -> TextState:
    if msg.direction == Direction.IN:
        return TextState(msg.kind, msg.direction, msg.status, msg.created_at)
    if msg.status in FAILED:
        detail = sms.describe_error(msg.error_code) if msg.error_code is not None else (msg.error or "")
        return TextState(msg.kind, msg.direction, msg.status, msg.sent_at or msg.due_at, detail)
    if msg.status == MessageStatus.SKIPPED:
        return TextState(msg.kind, msg.direction, msg.status, msg.due_at, (msg.skip_reason or "").replace("_", " "))
    if msg.status in (MessageStatus.PENDING, MessageStatus.SENDING):
        return TextState(msg.kind, msg.direction, msg.status, msg.due_at)
    return TextState(msg.kind, msg.direction, msg.status, msg.sent_at or msg.due_at)


def for_appointment(session: Session, appointment_id: int) -> list[TextState]:
    """The appointment's texts in and out, in time order (queued ones last, by when they are due)."""
    rows = session.scalars(select(Message).where(
        Message.appointment_id == appointment_id, Message.status != MessageStatus.WITHDRAWN)
        .order_by(Message.id)).all()
    states = [_state(m) for m in rows]
    return sorted(states, key=lambda s: (s.waiting, s.at or NEVER))

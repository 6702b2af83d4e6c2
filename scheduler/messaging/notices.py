"""What a change is about to text: the notices it wrote, read inside its own transaction.

A page that asks before it does harm (cancel, drop) runs the change, reads these, says who will
be texted and what, and rolls the change back (web/confirm.py): what it says is what saving does.
Reminders are left out (they follow from the notice); so are notices the change withdrew again.
Whether a text will leave is decided by dispatch.check at send time; `why_not` gives its first
answer now (opted out, no consent), so the page never promises a text that will be skipped.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from scheduler.models import (
    Direction,
    Enrollment,
    GroupSeries,
    Message,
    MessageKind,
    MessageStatus,
    Patient,
    SkipReason,
)


@dataclass(frozen=True)
class Notice:
    """One text a change wrote: to whom, what kind, about when, when it is due, and why it will not leave."""

    patient: Patient
    kind: str
    session_start_dt: datetime | None
    due_at: datetime | None
    about_meeting: bool  # a group meeting's text (else an appointment's)
    group_title: str | None
    why_not: str | None  # SkipReason.OPTED_OUT / NO_CONSENT, or None: it will be sent


def written(session: Session, now: datetime) -> list[Notice]:
    """The notices to patients written at `now` (the change's clock) and still pending, in order."""
    rows = session.scalars(select(Message).where(
        Message.direction == Direction.OUT, Message.created_at == now, Message.status == MessageStatus.PENDING,
        Message.kind != MessageKind.REMINDER, Message.patient_id.is_not(None)).order_by(Message.id)).all()
    out = []
    for msg in rows:
        patient = session.get(Patient, msg.patient_id)
        title = None
        if msg.enrollment_id is not None:
            enrollment = session.get(Enrollment, msg.enrollment_id)
            title = session.get(GroupSeries, enrollment.group_id).title if enrollment else None
        why = (SkipReason.OPTED_OUT if patient.opted_out_at is not None
               else SkipReason.NO_CONSENT if not patient.sms_consent else None)
        out.append(Notice(patient, msg.kind, msg.session_start_dt, msg.due_at,
                          msg.occurrence_id is not None or msg.enrollment_id is not None, title, why))
    return out

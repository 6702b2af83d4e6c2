"""What needs a coordinator today: the reads behind the day at a glance (`/` for staff).

Four lists, each something a person can act on from the page: sessions still to come today that
the patient has not confirmed (call them), today's no-shows (reach out), texts that could not be
delivered since yesterday (check the number or call), and the open tasks grouped by kind.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from scheduler.aftercare import tasks
from scheduler.models import (
    Appointment,
    AppointmentStatus,
    Direction,
    Message,
    MessageStatus,
    Patient,
    Task,
    TaskKind,
    Therapist,
)

FAILED_SINCE = timedelta(days=1)  # failed texts from yesterday on: the weekend's failures wait for Monday's look
LIMIT = 100


@dataclass
class Today:
    """The day's lists; each row carries what its link and wording need."""

    unconfirmed: list[tuple[Appointment, Patient, Therapist]] = field(default_factory=list)
    no_shows: list[tuple[Appointment, Patient, Therapist]] = field(default_factory=list)
    failed_texts: list[tuple[Message, Patient | None]] = field(default_factory=list)
    tasks_by_kind: list[tuple[TaskKind, list[tuple[Task, Patient | None]]]] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.unconfirmed or self.no_shows or self.failed_texts or self.tasks_by_kind)


def _sessions(session: Session, start: datetime, end: datetime, *where) -> list[tuple[Appointment, Patient, Therapist]]:
    stmt = (select(Appointment, Patient, Therapist).join(Patient, Patient.id == Appointment.patient_id)
            .join(Therapist, Therapist.id == Appointment.therapist_id)
            .where(Appointment.start_dt >= start, Appointment.start_dt < end, *where)
            .order_by(Appointment.start_dt, Appointment.id).limit(LIMIT))
    return [tuple(row) for row in session.execute(stmt)]


def needs_action(session: Session, day_start: datetime, day_end: datetime, now: datetime,
                 visible: ColumnElement[bool], with_unassigned: bool) -> Today:
    """The lists for the local day [day_start, day_end); tasks only about patients `visible` allows."""
    unconfirmed = _sessions(session, max(day_start, now), day_end,
                            Appointment.status == AppointmentStatus.SCHEDULED)
    no_shows = _sessions(session, day_start, day_end, Appointment.status == AppointmentStatus.NO_SHOW)
    when = func.coalesce(Message.sent_at, Message.due_at, Message.created_at)
    failed = session.execute(
        select(Message, Patient).outerjoin(Patient, Patient.id == Message.patient_id)
        .where(Message.direction == Direction.OUT,
               Message.status.in_((MessageStatus.FAILED, MessageStatus.UNDELIVERED)),
               when >= day_start - FAILED_SINCE, when < day_end)
        .order_by(when.desc(), Message.id.desc()).limit(LIMIT)).all()
    grouped: dict[TaskKind, list[tuple[Task, Patient | None]]] = {}
    for task, patient in tasks.open_tasks(session, visible, with_unassigned):
        grouped.setdefault(TaskKind(task.kind), []).append((task, patient))
    by_kind = [(kind, grouped[kind]) for kind in TaskKind if kind in grouped]  # the enum's order, stable
    return Today(unconfirmed, no_shows, [tuple(r) for r in failed], by_kind)

"""Texts for weekly sessions booked together: one booking text, and one when they are cancelled.

The booking text names the series' first session and says "weekly"; each session still gets its
own reminders. It stays attached to a session of the series and dispatch moves it on to the next
one still on (reminders.told_of counts it as telling the patient of every session). Cancelling a
session and the later ones sends one text for the lot, and only if the patient was told of them.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from scheduler.core.db import insert_ignore
from scheduler.core.settings import Settings
from scheduler.messaging import reminders
from scheduler.models import ACTIVE_APPOINTMENT_STATUSES, Appointment, Message, MessageKind


def booked(session: Session, appts: list[Appointment], now: datetime, *, settings: Settings) -> None:
    """One booking text naming the first of `appts` (one series, in time order), and every session's reminders."""
    first, patient = appts[0], appts[0].patient
    notice = reminders._row(patient, MessageKind.BOOKED_WEEKLY, f"series{first.series_id}:booked",
                            reminders.notice_due(now, patient.timezone, settings.quiet_hours), now, first.start_dt,
                            appointment_id=first.id, offset_minutes=None, skip_reason=None)
    rows = [notice]
    for appt in appts:
        rows += reminders._reminder_rows(patient, appt.start_dt, now, f"appt{appt.id}:v{appt.version}", settings,
                                         appointment_id=appt.id)
    insert_ignore(session, Message, rows, "dedupe_key")


def cancelled(session: Session, appts: list[Appointment], now: datetime, *, settings: Settings) -> None:
    """`appts` (one series, in time order) were cancelled together: their texts are withdrawn, and
    the patient gets one text naming the first, if they were told of any of them."""
    told = reminders._told(session, reminders.told_of(*appts))
    reminders.withdraw(session, now, Message.appointment_id.in_([a.id for a in appts]),
                       Message.kind != MessageKind.BOOKED_WEEKLY,
                       why=None if told else "cancelled before the patient was told of it")
    if told:
        first = appts[0]
        reminders._notice(session, first.patient, MessageKind.CANCELLED_WEEKLY, f"appt{first.id}:cancelled_weekly",
                          now, first.start_dt, settings, appointment_id=first.id)


def next_session(session: Session, series_id: int, now: datetime) -> Appointment | None:
    """The series' next session still on, for its booking text to name."""
    return session.scalars(select(Appointment).where(
        Appointment.series_id == series_id, Appointment.status.in_(ACTIVE_APPOINTMENT_STATUSES),
        Appointment.start_dt > now).order_by(Appointment.start_dt).limit(1)).first()

"""Reports: how many discharges were followed by an attended session within 7 and 30 days."""
from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from scheduler.core import timeutil
from scheduler.models import Appointment, AppointmentStatus, Attendance, Discharge, Occurrence, Patient

WINDOWS = (7, 30)


def _attended_dates(session: Session, patient_ids, start: datetime, end: datetime) -> dict[int, set[date]]:
    """Local dates (patient's zone) of attended appointments and occurrences, per patient."""
    appts = select(Appointment.patient_id, Appointment.start_dt, Patient.timezone).join(Patient).where(
        Appointment.status == AppointmentStatus.ATTENDED, Appointment.patient_id.in_(patient_ids),
        Appointment.start_dt >= start, Appointment.start_dt < end)
    occs = select(Attendance.patient_id, Occurrence.start_dt, Patient.timezone).join(
        Occurrence, Occurrence.id == Attendance.occurrence_id).join(
        Patient, Patient.id == Attendance.patient_id).where(
        Attendance.status == AppointmentStatus.ATTENDED, Attendance.patient_id.in_(patient_ids),
        Occurrence.start_dt >= start, Occurrence.start_dt < end)
    out: dict[int, set[date]] = defaultdict(set)
    for query in (appts, occs):
        for patient_id, start_dt, tz in session.execute(query):
            out[patient_id].add(timeutil.local_date_of(start_dt, tz))
    return out


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 3) if whole else None


def follow_up(session: Session, first: date, last: date) -> dict:
    """Discharges dated first..last (inclusive) and how many had an attended session 1-7 / 1-30 days after.

    It counts discharges, not people; the discharge day itself does not count (HEDIS FUI style).
    """
    in_range = select(Discharge.patient_id).where(
        Discharge.discharge_date >= first, Discharge.discharge_date <= last)
    discharges = session.execute(
        select(Discharge.patient_id, Discharge.discharge_date).where(
            Discharge.discharge_date >= first, Discharge.discharge_date <= last)).all()
    # A day of margin either side covers every zone's local date.
    start = datetime.combine(first, datetime.min.time(), tzinfo=timeutil.UTC) - timedelta(days=1)
    end = datetime.combine(last, datetime.min.time(), tzinfo=timeutil.UTC) + timedelta(days=max(WINDOWS) + 2)
    attended = _attended_dates(session, in_range.scalar_subquery(), start, end) if discharges else {}
    counts = dict.fromkeys(WINDOWS, 0)
    for patient_id, day in discharges:
        days_after = {(d - day).days for d in attended.get(patient_id, ())}
        for window in WINDOWS:
            if any(1 <= n <= window for n in days_after):
                counts[window] += 1
    total = len(discharges)
    return {
        "discharges": total,
        "followed_up_7d": counts[7], "followed_up_30d": counts[30],
        "rate_7d": _rate(counts[7], total), "rate_30d": _rate(counts[30], total),
    }

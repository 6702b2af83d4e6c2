"""The demo's aftercare history: seven months of discharges with plans in every state, and sessions to match.

Everything here lies in the past, so it is written as records (appointments, group attendance,
ended plans) rather than through the booking and attendance functions: those would queue texts
about sessions that are already over.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from scheduler.aftercare import plans
from scheduler.core import timeutil
from scheduler.models import (
    Appointment,
    AppointmentEvent,
    AppointmentStatus,
    Attendance,
    Discharge,
    Enrollment,
    EnrollmentStatus,
    GroupSeries,
    Language,
    Occurrence,
    Patient,
    Therapist,
)
from scheduler.models.enums import PlanEndReason
from scheduler.scheduling import care_teams, patients

TZ = "America/New_York"
SESSION_MINUTES = 50
TUESDAY, SUNDAY = 1, 6

# A session plan: (day after discharge, what happened). A/N/C/L: an appointment attended,
# no_show, cancelled, late_cancelled; G/g: the group meeting of that week, attended / no-show.
A, N, C, L, G, g = "A", "N", "C", "L", "G", "g"
PROFILES = (
    ("followed up", [(2, A), (9, A), (16, A), (23, N), (30, A), (37, A), (44, A), (51, A)]),
    ("followed up", [(3, A), (5, G), (10, A), (12, G), (17, A), (19, g), (24, A)]),
    ("late", [(10, A), (17, A), (24, N), (31, A)]),
    ("followed up", [(1, A), (8, A), (15, L), (22, A), (29, A), (36, A)]),
    ("nothing booked", []),
    ("followed up in the group", [(1, G), (8, G), (15, G), (22, g), (29, G), (36, G)]),
    ("missed, no show", [(3, N), (10, N)]),
    ("followed up, then slipped away", [(4, A), (11, N), (18, N)]),
    ("cancelled, then late", [(4, C), (12, A), (19, A)]),
    ("followed up, then quiet", [(2, A), (9, A)]),
)
# The last three weeks, one discharge a day (index i: discharged i + 1 days ago), each with the
# state it shows today; past sessions only (the coming week is booked by demo.py).
RECENT = (
    [], [], [], [(2, A)], [], [(3, A)], [(4, A)], [(3, N)], [(2, A), (6, A)], [],
    [(3, A), (10, A)], [(2, N), (9, N)], [(5, A), (12, A)], [(9, A)], [(1, A)],
    [(9, A)], [(3, A), (10, N), (15, N)], [(2, A)], [], [(4, A), (11, A), (18, A)],
)
NO_FUTURE = frozenset({2, 4, 9, 18})  # nothing booked for these: the follow-up pass flags them
TRANSFERRED = 18  # the recent plan staff ended (transferred to another program)
HISTORY = 48  # older discharges, one every 4 days back to about seven months ago
FIRST = ("Ana", "Ben", "Carla", "Devon", "Esteban", "Fiona", "Gus", "Hana", "Ivan", "Julia", "Kai",
         "Lena", "Miguel", "Nora", "Omar", "Paula")
LAST = ("Adams", "Bautista", "Coleman", "Duarte", "Ellis", "Flores", "Grant", "Ibarra", "Jensen",
        "Kim", "Lopez", "Meyer", "Navarro", "Owens", "Pineda", "Quinn")
ENDED_ON = 20
AWAITING = 2  # per therapist: their latest past sessions, attendance not yet recorded
ENDED = (PlanEndReason.TRANSFERRED, PlanEndReason.MOVED, PlanEndReason.DECLINED)


@dataclass
class Hours:
    """Where past sessions fit: each therapist's working weekdays and whole hours, and what is taken."""

    staff: list[tuple[Therapist, tuple[int, ...], int, int]]  # (therapist, weekdays, first, last start hour)
    taken: set[tuple[int, date, int]] = field(default_factory=set)

    def slot(self, day: date, prefer: Therapist) -> tuple[Therapist, int] | None:
        ordered = sorted(self.staff, key=lambda s: s[0].id != prefer.id)
        for therapist, days, first, last in ordered:
            if day.weekday() in days:
                for hour in range(first, last + 1):
                    if (therapist.id, day, hour) not in self.taken:
                        self.taken.add((therapist.id, day, hour))
                        return therapist, hour
        return None


def _utc(day: date, at: time) -> datetime:
    return timeutil.localize(datetime.combine(day, at), TZ).astimezone(timeutil.UTC)


def _session_day(day0: date, offset: int) -> date:
    day = day0 + timedelta(days=offset)
    if day.weekday() == SUNDAY:  # one therapist works Sundays: move a day, staying inside days 1-7 / 8+
        day += timedelta(days=1 if offset in (1, 8) else -1)
    return day


class Writer:
    """Writes past sessions for the demo's patients."""

    def __init__(self, session: Session, hours: Hours, group: GroupSeries, now: datetime):
        self.session, self.hours, self.group, self.now = session, hours, group, now
        self.meetings: dict[date, Occurrence] = {}
        self.busy: set[tuple[int, date]] = set()  # (patient, day): one past session a day each
        self.seats: dict[int, list[Occurrence]] = {}  # patient -> the past meetings they were down for
        self.counts = {"past_sessions": 0, "group_attendance": 0, "awaiting_attendance": 0}

    def meeting(self, day: date) -> Occurrence | None:
        """The group's meeting in the week of `day` (its Tuesday on or after it), created if past."""
        tuesday = day + timedelta(days=(TUESDAY - day.weekday()) % 7)
        if tuesday not in self.meetings:
            start = _utc(tuesday, self.group.local_start.time())
            end = start + timedelta(minutes=self.group.duration_minutes)
            if end > self.now or tuesday >= self.group.local_start.date():
                return None
            occ = Occurrence(group_id=self.group.id, local_date=tuesday, start_dt=start, end_dt=end, cancelled=False)
            self.session.add(occ)
            self.meetings[tuesday] = occ
        return self.meetings[tuesday]

    def sessions(self, patient: Patient, therapist: Therapist, day0: date, plan: list) -> None:
        for offset, what in plan:
            if what in (G, g):
                self._seat(patient, _session_day(day0, offset), what == G)
            else:
                self._appointment(patient, therapist, _session_day(day0, offset), what)

    def _seat(self, patient: Patient, day: date, attended: bool) -> None:
        occ = self.meeting(day)
        if occ is None:
            return
        status = AppointmentStatus.ATTENDED if attended else AppointmentStatus.NO_SHOW
        self.busy.add((patient.id, day))
        self.seats.setdefault(patient.id, []).append(occ)
        self.session.add(Attendance(occurrence=occ, patient_id=patient.id, status=status,
                                    recorded_at=occ.end_dt, confirmed_at=occ.start_dt - timedelta(days=1)))
        self.counts["group_attendance"] += 1

    def _appointment(self, patient: Patient, therapist: Therapist, day: date, what: str) -> None:
        found = self.hours.slot(day, therapist)
        if found is None:
            return
        who, hour = found
        start = _utc(day, time(hour))
        end = start + timedelta(minutes=SESSION_MINUTES)
        if end > self.now:
            return
        status = {A: AppointmentStatus.ATTENDED, N: AppointmentStatus.NO_SHOW, C: AppointmentStatus.CANCELLED,
                  L: AppointmentStatus.LATE_CANCELLED}[what]
        appt = self._write(patient, who, start, status)
        appt.cancel_reason = "patient asked" if what in (C, L) else None
        appt.events.append(AppointmentEvent(at=end if what in (A, N) else start - timedelta(hours=30 if what == C else 2),
                                            status=status, note="demo history"))
        self.counts["past_sessions"] += 1

    def past_members(self) -> None:
        """Who sat in the group's past meetings held a seat then: an enrollment from the day before
        their first meeting, dropped the day after their last, so each meeting's sheet lists them."""
        for patient_id, meetings in self.seats.items():
            first, last = min(o.start_dt for o in meetings), max(o.end_dt for o in meetings)
            joined, left = first - timedelta(days=1), min(last + timedelta(days=1), self.now)
            self.session.add(Enrollment(group_id=self.group.id, patient_id=patient_id, status=EnrollmentStatus.DROPPED,
                                        created_at=joined, enrolled_at=joined, dropped_at=left))

    def _write(self, patient: Patient, therapist: Therapist, start: datetime, status: str) -> Appointment:
        end = start + timedelta(minutes=SESSION_MINUTES)
        booked_at = min(start - timedelta(days=2), self.now)
        appt = Appointment(therapist_id=therapist.id, patient_id=patient.id, start_dt=start, end_dt=end,
                           status=status, version=1, created_at=booked_at, updated_at=end)
        appt.events.append(AppointmentEvent(at=booked_at, status=AppointmentStatus.SCHEDULED, note="demo history"))
        self.session.add(appt)
        self.busy.add((patient.id, timeutil.local_date_of(start, TZ)))
        care_teams.add(self.session, patient.id, [therapist.id], self.now, None)
        return appt

    def awaiting(self, people: list[Patient]) -> None:
        """Each therapist's latest sessions before now (today's earlier ones, else their last working
        day's), with no attendance recorded yet: what staff mark first thing, and the worker's
        follow-up asks about a day later. One of them was confirmed by the patient's C."""
        today = timeutil.local_date_of(self.now, TZ)
        for therapist, days, first, last in self.hours.staff:
            slots = [(day, hour) for back in range(8) for day in [today - timedelta(days=back)]
                     if day.weekday() in days for hour in range(last, first - 1, -1)
                     if _utc(day, time(hour)) + timedelta(minutes=SESSION_MINUTES) <= self.now
                     and (therapist.id, day, hour) not in self.hours.taken]
            for day, hour in slots[:AWAITING]:
                patient = next((p for p in people if p.discharges[-1].discharge_date < day
                                and (p.id, day) not in self.busy), None)
                if patient is None:
                    continue
                self.hours.taken.add((therapist.id, day, hour))
                confirmed = self.counts["awaiting_attendance"] == 0
                start = _utc(day, time(hour))
                appt = self._write(patient, therapist, start,
                                   AppointmentStatus.CONFIRMED if confirmed else AppointmentStatus.SCHEDULED)
                if confirmed:
                    appt.events.append(AppointmentEvent(at=start - timedelta(hours=20),
                                                        status=AppointmentStatus.CONFIRMED, note="confirmed by text"))
                self.counts["awaiting_attendance"] += 1


def _end(discharge: Discharge, reason: str, at: datetime) -> None:
    discharge.ended_at, discharge.ended_reason = at, reason


def seed(session: Session, staff: list[Therapist], hours: list[tuple[int, ...]], recent: list[Patient],
         group: GroupSeries, now: datetime) -> dict[str, int]:
    """Past sessions for the recent discharges, and seven months of older discharges with theirs.

    `hours`: per therapist in `staff`, (weekdays, first hour, last start hour) of past sessions.
    """
    writer = Writer(session, Hours([(t, *h) for t, h in zip(staff, hours, strict=True)]), group, now)
    today = timeutil.local_date_of(now, TZ)
    for i, patient in enumerate(recent):
        discharge = patient.discharges[-1]
        writer.sessions(patient, staff[i % len(staff)], discharge.discharge_date, RECENT[i])
    booked = session.execute(select(Appointment.patient_id, Appointment.start_dt)
                             .where(Appointment.patient_id.in_([p.id for p in recent]))).all()
    writer.busy |= {(pid, timeutil.local_date_of(start, TZ)) for pid, start in booked}  # today's later ones
    writer.awaiting([p for i, p in enumerate(recent) if i not in NO_FUTURE])
    plans.end(session, recent[TRANSFERRED].discharges[-1].id, PlanEndReason.TRANSFERRED, now)
    ended = 0
    for i in range(HISTORY):
        day0 = today - timedelta(days=24 + 4 * i)
        patient = patients.create_patient(
            session, name=f"{FIRST[i % 16]} {LAST[(i + 5 * (i // 16)) % 16]}", phone=f"+1201555{201 + i:04d}",
            timezone=TZ, sms_consent=i % 11 != 7, now=now, source="demo",
            language=Language.ES if i % 4 == 1 else Language.EN)
        therapist = staff[i % len(staff)]
        care_teams.add(session, patient.id, [therapist.id], now, None)
        if i % 12 == 5 and i < 40:  # came back: an earlier plan that readmission ended
            earlier = Discharge(discharge_date=day0 - timedelta(days=45))
            patient.discharges.append(earlier)
            _end(earlier, PlanEndReason.READMITTED, _utc(day0, time(10)))
        discharge = Discharge(discharge_date=day0)
        patient.discharges.append(discharge)
        session.flush()
        _, plan = PROFILES[i % len(PROFILES)]
        if i % 8 == 3:  # staff ended the plan three weeks in; nothing took place after that
            _end(discharge, ENDED[(i // 8) % len(ENDED)], _utc(day0 + timedelta(days=ENDED_ON), time(15)))
            plan = [(offset, what) for offset, what in plan if offset < ENDED_ON]
            ended += 1
        writer.sessions(patient, therapist, day0, plan)
    writer.past_members()
    session.flush()
    return {**writer.counts, "older_discharges": HISTORY, "ended_plans": ended + 1}

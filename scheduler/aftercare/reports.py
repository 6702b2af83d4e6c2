"""Follow-up and engagement reports, counted in SQL whatever the size.

Follow-up (HEDIS FUI style, for a clinic): a discharge is followed up when an attended session
(an appointment marked attended, or attendance `attended` at a group meeting) falls on day 1-7
(1-30) after it, days counted in the patient's zone, the discharge day never counting. Each miss
gets the first reason that applies (FollowUpReason's order). `method=hedis` leaves out a discharge
1-30 days after the same person's last counted one (a `repeat`), looking back before `from` too.

Engagement: the unit is one patient's appointment or seat at a session that has started, clinic
cancellations (a cancelled appointment or meeting) left out.

Every figure comes from a few aggregate queries (core.sqltime gives both engines local days);
Python only shapes the rows. The API, the CSV and the page all call these functions.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import (
    ColumnElement,
    and_,
    case,
    exists,
    func,
    literal,
    null,
    or_,
    select,
    text,
    union,
)
from sqlalchemy.orm import Session

from scheduler.core.sqltime import as_date, day_start, days_between, local_date, month_of
from scheduler.models import (
    Appointment,
    AppointmentEvent,
    AppointmentStatus,
    Attendance,
    CareTeamMember,
    Direction,
    Discharge,
    Enrollment,
    FollowUpReason,
    GroupSeries,
    Message,
    MessageStatus,
    Occurrence,
    Patient,
)

BY_FOLLOW_UP = ("month", "therapist", "discharge")
BY_ENGAGEMENT = ("month", "therapist", "group")
METHODS = ("all", "hedis")
MISSED = (AppointmentStatus.NO_SHOW, AppointmentStatus.LATE_CANCELLED)
# Texts that left for Twilio (the delivered rate's denominator).
SENT = (MessageStatus.SENT, MessageStatus.DELIVERED, MessageStatus.UNDELIVERED, MessageStatus.FAILED)
# The CSV columns of each report (the API's and the pages' downloads share them).
FOLLOW_UP_COLUMNS = {
    "month": ("month", "discharges", "followed_up_7d", "followed_up_30d", "rate_7d", "rate_30d"),
    "therapist": ("therapist_id", "discharges", "followed_up_7d", "followed_up_30d", "rate_7d", "rate_30d"),
    "discharge": ("discharge_id", "patient_id", "date", "followed_up_7d", "followed_up_30d", "first_attended",
                  "reason"),
}
ENGAGEMENT_COLUMNS = ("sessions", "attended", "no_show", "late_cancelled", "attendance_rate", "no_show_rate",
                      "confirmed_by_reply_rate", "delivered_rate")
ENGAGEMENT_KEYS = {"month": "month", "therapist": "therapist_id", "group": "group_id"}
_MARGIN = timedelta(days=2)  # covers every zone's local day around a UTC bound
# How far after a discharge a first attended session is looked for (`first_attended`, `too_late`):
# a default plan's length; a session later than that is no follow-up of this discharge.
LOOK_AHEAD_DAYS = 90


def _without_jit(session: Session) -> None:
    """PostgreSQL: no JIT compilation for this transaction. The reports' estimated costs (an index
    probe per discharge) pass the JIT thresholds, and compiling took 3 of 11 seconds at 100,000
    discharges (bench/reports.py) while the plans run in fractions of that."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL jit = off"))


def rate(part: int, whole: int) -> float | None:
    """part / whole to three places; None (not 0, not an error) when nothing was due."""
    return round(part / whole, 3) if whole else None


def _utc_day(day: date) -> datetime:
    from scheduler.core.timeutil import UTC

    return datetime.combine(day, datetime.min.time(), tzinfo=UTC)


# --- follow-up ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class FollowUpQuery:
    first: date
    last: date
    method: str = "all"
    visible: ColumnElement[bool] | None = None  # a WHERE on Patient: the discharges the viewer may see


def _repeats(session: Session, query: FollowUpQuery, in_range):
    """Discharge ids that are a `repeat` under HEDIS: 1-30 days after the person's last counted one.

    A recursive walk along each person's discharges in date order (from their first, before
    `from` too): a discharge within 30 days of the anchor is a repeat; otherwise it is counted and
    becomes the anchor. 0, 20, 40 -> counted, repeat, counted.
    """
    people = select(in_range.c.patient_id).distinct()
    ordered = (select(Discharge.id, Discharge.patient_id, Discharge.discharge_date,
                      func.row_number().over(partition_by=Discharge.patient_id,
                                             order_by=Discharge.discharge_date).label("n"))
               .where(Discharge.patient_id.in_(people), Discharge.discharge_date <= query.last)
               .cte("ordered"))
    chain = (select(ordered.c.id, ordered.c.patient_id, ordered.c.n, ordered.c.discharge_date.label("anchor"),
                    literal(0).label("is_repeat"))
             .where(ordered.c.n == 1).cte("chain", recursive=True))
    gap = days_between(ordered.c.discharge_date, chain.c.anchor)
    within = and_(gap >= 1, gap <= 30)
    chain = chain.union_all(
        select(ordered.c.id, ordered.c.patient_id, ordered.c.n,
               case((within, chain.c.anchor), else_=ordered.c.discharge_date),
               case((within, 1), else_=0))
        .join(chain, and_(ordered.c.patient_id == chain.c.patient_id, ordered.c.n == chain.c.n + 1)))
    return select(chain.c.id).where(chain.c.is_repeat == 1)


def _first_appointment(pid, lo, hi):
    """The start of the patient's first attended appointment in [lo, hi): one ordered index probe."""
    return (select(Appointment.start_dt).where(Appointment.patient_id == pid,
                                               Appointment.status == AppointmentStatus.ATTENDED,
                                               Appointment.start_dt >= lo, Appointment.start_dt < hi)
            .order_by(Appointment.start_dt).limit(1).scalar_subquery())


def _first_seats(in_range, lo, hi):
    """Per discharge, the start of the patient's first attended group seat in [lo, hi): a patient has
    few attendance rows, so one join over them all beats a probe per discharge."""
    return (select(in_range.c.id.label("discharge_id"), func.min(Occurrence.start_dt).label("start_dt"))
            .join(Attendance, Attendance.patient_id == in_range.c.patient_id)
            .join(Occurrence, Occurrence.id == Attendance.occurrence_id)
            .where(Attendance.status == AppointmentStatus.ATTENDED, Occurrence.cancelled.is_(False),
                   Occurrence.start_dt >= lo, Occurrence.start_dt < hi)
            .group_by(in_range.c.id).subquery("first_seats"))


def _any_session(pid, lo, hi, appointment_statuses, seat_statuses=(), meeting_cancelled: bool = False):
    """Whether the patient has an appointment in one of these statuses, or a group seat (an
    attendance row) in one of these statuses or at a cancelled meeting, starting in [lo, hi)."""
    appt = exists().where(Appointment.patient_id == pid, Appointment.status.in_(appointment_statuses),
                          Appointment.start_dt >= lo, Appointment.start_dt < hi)
    seat_outcome = (Occurrence.cancelled.is_(True) if meeting_cancelled
                    else and_(Occurrence.cancelled.is_(False), Attendance.status.in_(seat_statuses)))
    seat = exists().where(Attendance.patient_id == pid, Attendance.occurrence_id == Occurrence.id, seat_outcome,
                          Occurrence.start_dt >= lo, Occurrence.start_dt < hi)
    return case((appt | seat, 1), else_=0)


def _per_discharge(session: Session, query: FollowUpQuery, now: datetime):
    """One row per discharge in range: its flags, as a subquery.

    Local days become instants once per discharge (day_start), so each figure is an index probe
    into that patient's sessions: the work grows with the discharges in range, not with the
    sessions in the table. A session counts on its local day in the patient's zone.
    """
    # Day 1 and the end of the look-ahead as instants in the patient's zone, once per discharge.
    in_range = (select(Discharge.id, Discharge.patient_id, Discharge.discharge_date, Patient.timezone,
                       day_start(Discharge.discharge_date, Patient.timezone, 1).label("day1"),
                       day_start(Discharge.discharge_date, Patient.timezone, LOOK_AHEAD_DAYS + 1).label("until"))
                .join(Patient, Patient.id == Discharge.patient_id)
                .where(Discharge.discharge_date >= query.first, Discharge.discharge_date <= query.last,
                       query.visible if query.visible is not None else literal(True)).cte("in_range"))
    seats = _first_seats(in_range, in_range.c.day1, in_range.c.until)
    repeat = in_range.c.id.in_(_repeats(session, query, in_range)) if query.method == "hedis" else literal(False)
    # OFFSET 0 keeps the probe in this subquery, run once per discharge.
    firsts = (select(in_range.c.id, in_range.c.patient_id, in_range.c.discharge_date, in_range.c.timezone,
                     _first_appointment(in_range.c.patient_id, in_range.c.day1, in_range.c.until).label("appt_first"),
                     seats.c.start_dt.label("seat_first"), case((repeat, 1), else_=0).label("repeat"))
              .select_from(in_range).outerjoin(seats, seats.c.discharge_id == in_range.c.id)
              .offset(0).subquery("firsts"))
    first_at = case((firsts.c.appt_first.is_(None), firsts.c.seat_first),
                    (firsts.c.seat_first.is_(None) | (firsts.c.appt_first <= firsts.c.seat_first),
                     firsts.c.appt_first), else_=firsts.c.seat_first)
    first_attended = local_date(first_at, firsts.c.timezone)
    first_day = days_between(first_attended, firsts.c.discharge_date)
    pid, unseen = firsts.c.patient_id, first_at.is_(None)

    def within(n: int):
        return day_start(firsts.c.discharge_date, firsts.c.timezone, n)

    def only_unseen(flag):  # a reason past too_late is asked only when nothing was attended
        return case((unseen, flag), else_=0)

    today = days_between(local_date(literal(now), firsts.c.timezone), firsts.c.discharge_date)
    return (select(firsts.c.id, firsts.c.patient_id, firsts.c.discharge_date,
                   case((first_day <= 7, 1), else_=0).label("f7"),
                   case((first_day <= 30, 1), else_=0).label("f30"),
                   first_attended.label("first_attended"),
                   only_unseen(_any_session(pid, within(0), within(1), (AppointmentStatus.ATTENDED,),
                                            (AppointmentStatus.ATTENDED,))).label("day0"),
                   only_unseen(_any_session(pid, within(1), within(8), MISSED, MISSED)).label("missed"),
                   only_unseen(_any_session(pid, within(1), within(8), (AppointmentStatus.CANCELLED,),
                                            meeting_cancelled=True)).label("cancelled"),
                   case((today <= 7, 1), else_=0).label("open"),
                   firsts.c.repeat)
            .subquery("per_discharge"))


def reason(row) -> FollowUpReason | None:
    """Why a discharge was not followed up within 7 days (None when it was), the first that applies."""
    if row.repeat:
        return FollowUpReason.REPEAT
    if row.f7:
        return None
    first = as_date(row.first_attended)
    if row.open and first is None:
        return FollowUpReason.PENDING
    if first is not None and (first - as_date(row.discharge_date)).days >= 8:
        return FollowUpReason.TOO_LATE
    if row.day0:
        return FollowUpReason.SAME_DAY_ONLY
    if row.missed:
        return FollowUpReason.NO_SHOW
    if row.cancelled:
        return FollowUpReason.CANCELLED
    return FollowUpReason.NOTHING_BOOKED


_COUNTS = ("discharges", "followed_up_7d", "followed_up_30d")


def _totals(discharges: int, f7: int, f30: int) -> dict:
    return {"discharges": discharges, "followed_up_7d": f7, "followed_up_30d": f30,
            "rate_7d": rate(f7, discharges), "rate_30d": rate(f30, discharges)}


def _counted(per):
    return select(func.count(), func.coalesce(func.sum(per.c.f7), 0), func.coalesce(func.sum(per.c.f30), 0)) \
        .select_from(per).where(per.c.repeat == 0)


def follow_up(session: Session, query: FollowUpQuery, now: datetime, by: str | None = None) -> dict:
    """The totals, and `rows` per month, therapist or discharge when `by` is given."""
    _without_jit(session)
    per = _per_discharge(session, query, now)
    report = {}
    if by == "month":
        month = month_of(per.c.discharge_date)
        stmt = (select(month, func.count(), func.sum(per.c.f7), func.sum(per.c.f30))
                .where(per.c.repeat == 0).group_by(month).order_by(month))
        report["rows"] = [{"month": m, **_totals(n, int(a), int(b))} for m, n, a, b in session.execute(stmt)]
        # Every counted discharge is in one month: the totals are the months' sums (one pass).
        report = {**_totals(*(sum(r[k] for r in report["rows"]) for k in _COUNTS)), **report}
    elif by == "therapist":
        stmt = (select(CareTeamMember.therapist_id, func.count(), func.sum(per.c.f7), func.sum(per.c.f30))
                .join(CareTeamMember, CareTeamMember.patient_id == per.c.patient_id)
                .where(per.c.repeat == 0).group_by(CareTeamMember.therapist_id)
                .order_by(CareTeamMember.therapist_id))
        report["rows"] = [{"therapist_id": t, **_totals(n, int(a), int(b))} for t, n, a, b in session.execute(stmt)]
    elif by == "discharge":
        stmt = select(per).order_by(per.c.discharge_date, per.c.id)
        found = session.execute(stmt).all()
        counted = [row for row in found if not row.repeat]
        report = _totals(len(counted), sum(row.f7 for row in counted), sum(row.f30 for row in counted))
        report["rows"] = [{
            "discharge_id": row.id, "patient_id": row.patient_id, "date": as_date(row.discharge_date).isoformat(),
            "followed_up_7d": bool(row.f7), "followed_up_30d": bool(row.f30),
            "first_attended": (lambda d: d.isoformat() if d else None)(as_date(row.first_attended)),
            "reason": (lambda r: r.value if r else None)(reason(row)),
        } for row in found]
    if "discharges" not in report:  # the totals on their own (a discharge under two therapists counts once)
        total, f7, f30 = session.execute(_counted(per)).one()
        report = {**_totals(total, int(f7), int(f30)), **report}
    return report


# --- engagement ---------------------------------------------------------------------------------

def _texts(*keys):
    """Texts sent about each session (by `keys` of Message) and how many were delivered: one
    aggregate joined to the sessions, not two counts per session."""
    return (select(*keys, func.count().label("sent"),
                   func.sum(case((Message.status == MessageStatus.DELIVERED, 1), else_=0)).label("delivered"))
            .where(keys[0].is_not(None), Message.direction == Direction.OUT, Message.status.in_(SENT))
            .group_by(*keys).subquery())


def _units(first: date, last: date, now: datetime, visible: ColumnElement[bool] | None):
    """One row per patient's appointment or seat at a session started in range (patient's local days).

    A seat is an enrollment live at the meeting's start, or an attendance row; cancelled
    appointments and meetings (the clinic's cancellations) are left out.
    """
    start, end = _utc_day(first) - _MARGIN, min(_utc_day(last) + timedelta(days=1) + _MARGIN, now)
    # Joined as one set: as `IN (subquery)` PostgreSQL scanned all confirmations once per
    # session when their hash outgrew work_mem (20 minutes at 2,000,000 appointments).
    confirmed = (select(AppointmentEvent.appointment_id).where(AppointmentEvent.status == AppointmentStatus.CONFIRMED)
                 .group_by(AppointmentEvent.appointment_id).subquery("confirmed"))
    appt_texts = _texts(Message.appointment_id)
    appts = (select(Appointment.patient_id.label("patient_id"), Appointment.start_dt.label("start_dt"),
                    Appointment.status.label("status"), Appointment.therapist_id.label("therapist_id"),
                    null().label("group_id"),
                    case((confirmed.c.appointment_id.is_not(None), 1), else_=0).label("confirmed"),
                    appt_texts.c.sent.label("sent"), appt_texts.c.delivered.label("delivered"))
             .outerjoin(confirmed, confirmed.c.appointment_id == Appointment.id)
             .outerjoin(appt_texts, appt_texts.c.appointment_id == Appointment.id)
             .where(Appointment.start_dt >= start, Appointment.start_dt < end, Appointment.start_dt <= now,
                    Appointment.status != AppointmentStatus.CANCELLED))
    in_range = and_(Occurrence.start_dt >= start, Occurrence.start_dt < end, Occurrence.start_dt <= now)
    live = and_(Enrollment.enrolled_at.is_not(None), Enrollment.enrolled_at <= Occurrence.start_dt,
                or_(Enrollment.dropped_at.is_(None), Enrollment.dropped_at > Occurrence.start_dt))
    pairs = union(
        select(Enrollment.patient_id, Occurrence.id.label("occurrence_id"))
        .join(Occurrence, Occurrence.group_id == Enrollment.group_id).where(live, in_range),
        select(Attendance.patient_id, Attendance.occurrence_id)
        .join(Occurrence, Occurrence.id == Attendance.occurrence_id).where(in_range)).subquery("pairs")
    seat_texts = _texts(Message.occurrence_id, Message.patient_id)
    seats = (select(pairs.c.patient_id, Occurrence.start_dt, Attendance.status, GroupSeries.facilitator_id,
                    Occurrence.group_id, case((Attendance.confirmed_at.is_not(None), 1), else_=0),
                    seat_texts.c.sent, seat_texts.c.delivered)
             .select_from(pairs)
             .join(Occurrence, Occurrence.id == pairs.c.occurrence_id)
             .join(GroupSeries, GroupSeries.id == Occurrence.group_id)
             .outerjoin(Attendance, and_(Attendance.occurrence_id == Occurrence.id,
                                         Attendance.patient_id == pairs.c.patient_id))
             .outerjoin(seat_texts, and_(seat_texts.c.occurrence_id == Occurrence.id,
                                         seat_texts.c.patient_id == pairs.c.patient_id))
             .where(in_range, Occurrence.cancelled.is_(False)))
    units = appts.union_all(seats).subquery("units")
    day = local_date(units.c.start_dt, Patient.timezone)
    # Only sessions within a margin of either end need their local day (a zone's conversion per
    # row is most of the work): every zone's day of the others is inside the range.
    inside = and_(units.c.start_dt >= _utc_day(first) + _MARGIN, units.c.start_dt < _utc_day(last) - _MARGIN)
    keep = [or_(inside, and_(day >= first, day <= last))]
    if visible is not None:
        keep.append(visible)
    return units, day, keep


def engagement(session: Session, first: date, last: date, now: datetime, by: str,
               visible: ColumnElement[bool] | None = None) -> dict:
    """`rows` per month (of the session's local date), therapist, or group (appointments: group null)."""
    _without_jit(session)
    units, day, keep = _units(first, last, now, visible)
    key = {"month": month_of(day), "therapist": units.c.therapist_id, "group": units.c.group_id}[by]

    def count_of(status) -> ColumnElement[int]:
        return func.coalesce(func.sum(case((units.c.status == status, 1), else_=0)), 0)

    stmt = (select(key.label("key"), func.count(), count_of(AppointmentStatus.ATTENDED),
                   count_of(AppointmentStatus.NO_SHOW), count_of(AppointmentStatus.LATE_CANCELLED),
                   func.coalesce(func.sum(units.c.confirmed), 0), func.coalesce(func.sum(units.c.sent), 0),
                   func.coalesce(func.sum(units.c.delivered), 0))
            .select_from(units).join(Patient, Patient.id == units.c.patient_id)
            .where(*keep).group_by(key).order_by(key))
    rows = []
    for key_value, sessions, attended, no_show, late, confirmed, sent, got in session.execute(stmt):
        rows.append({{"month": "month", "therapist": "therapist_id", "group": "group_id"}[by]: key_value,
                     "sessions": sessions, "attended": int(attended), "no_show": int(no_show),
                     "late_cancelled": int(late), "attendance_rate": rate(int(attended), sessions),
                     "no_show_rate": rate(int(no_show), sessions),
                     "confirmed_by_reply_rate": rate(int(confirmed), sessions),
                     "delivered_rate": rate(int(got), int(sent))})
    return {"rows": rows}


def patient_names(session: Session, patient_ids) -> dict[int, str]:
    """The names of the patients a report lists (for links on the page)."""
    ids = sorted(set(patient_ids))
    if not ids:
        return {}
    return dict(session.execute(select(Patient.id, Patient.name).where(Patient.id.in_(ids))).all())

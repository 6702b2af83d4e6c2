"""Recurring group sessions: the series and its meetings (occurrences) over a rolling horizon.

A series is a local wall time + IANA zone + RRULE; occurrences are materialised as UTC instants
from the local wall time, so an 18:00 group stays at 18:00 across DST. A start that falls in a
DST gap (02:30 on spring-forward day) is moved forward by the gap (timeutil.occurrence_starts);
an ambiguous fall-back time takes its first (daylight) reading. Who sits in a group (enrollment,
the waitlist, attendance) is roster.py; changing a series is group_changes.py.

The horizon and clashes: a series meets however far its rule goes, though rows exist only up to
`materialized_until`. Every check that a time is free (busy.py) expands the rule past that
date, and creating a group or enrolling a patient checks the person's appointments past the
horizon against the rule as well. So rolling the horizon forward never brings in a clash that
a booking could have made. A meeting is still always created when the horizon rolls (the
group is the fixed thing); if it clashes all the same (data from before these checks), staff
get a task naming the group, the date and, for a patient, who.
"""
from __future__ import annotations

import logging
import re
from bisect import bisect_left
from datetime import MAXYEAR, UTC, date, datetime, time, timedelta
from functools import lru_cache
from itertools import islice

from dateutil import rrule as _rrule
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from scheduler.core import timeutil
from scheduler.core.db import lock
from scheduler.core.settings import Settings
from scheduler.errors import Conflict, Invalid, NotFound
from scheduler.messaging import reminders
from scheduler.models import (
    Enrollment,
    EnrollmentStatus,
    GroupSeries,
    Occurrence,
    Task,
    TaskKind,
    Therapist,
)
from scheduler.scheduling import busy
from scheduler.scheduling.limits import MAX_GROUP_CAPACITY, MAX_SESSION_MINUTES, MIN_SESSION_MINUTES

log = logging.getLogger(__name__)

MIN_MINUTES, MAX_MINUTES = MIN_SESSION_MINUTES, MAX_SESSION_MINUTES
MAX_CAPACITY = MAX_GROUP_CAPACITY
SHOWN_OCCURRENCES = 12  # GET /groups/{id} lists at least this many upcoming ones
# How far past its horizon a series is checked against the person's other groups when it is
# created or joined; a clash first coming later still gets a task when the horizon rolls.
SERIES_CHECK_AHEAD = timedelta(weeks=2 * 52)
_TIME_OF_DAY_PARTS = re.compile(r"(^|;)\s*BY(HOUR|MINUTE|SECOND)\s*=", re.IGNORECASE)
_INTERVAL = re.compile(r"(^|;)\s*INTERVAL\s*=\s*([^;]*)", re.IGNORECASE)
_NOT_A_RULE = "expected an RRULE such as FREQ=WEEKLY;COUNT=12"
_EASTER = re.compile(r"(^|;)\s*BYEASTER\s*=", re.IGNORECASE)
# The Gregorian calendar, weekdays included, repeats every 400 years.
_CALENDAR_CYCLE_YEARS = 400


# --- series -------------------------------------------------------------------------------


def normalize_rrule(rule: str) -> str:
    """The rule as stored: upper case, no RRULE: prefix, no surrounding spaces."""
    text = rule.strip().upper()
    return text.removeprefix("RRULE:")


def wall_time(start: datetime, tz: str) -> datetime:
    """The naive local wall time of a request's start: an offset, if given, is converted to `tz`."""
    if start.tzinfo is not None:
        return start.astimezone(timeutil.zone(tz)).replace(tzinfo=None)
    return start


def series_errors(local_start: datetime, tz: str, rule: str | None, now: datetime) -> dict[str, str]:
    """Field errors of a series' start and rule, for a 422 (empty when both are fine)."""
    errors: dict[str, str] = {}
    if local_start.second or local_start.microsecond:
        errors["start"] = "must be on a whole minute, e.g. 2026-03-10T18:00"
    else:
        try:
            if timeutil.localize(local_start, tz) <= now:
                errors["start"] = "must be in the future"
        except timeutil.NonexistentTime as exc:
            errors["start"] = str(exc)
    if rule is not None:
        message = _rule_error(local_start, rule) if isinstance(rule, str) else _NOT_A_RULE
        if message:
            errors["rrule"] = message
    return errors


@lru_cache(maxsize=256)
def _rule_error(local_start: datetime, rule: str) -> str | None:
    """Why `rule` cannot drive a series starting at `local_start`, or None.

    Cached: a request asks twice (the view to report every field at once, create_group to
    refuse), and the answer depends on nothing else.
    """
    text = normalize_rrule(rule)
    # The time of day comes from start; BYHOUR & co. would also allow two meetings a day.
    if _TIME_OF_DAY_PARTS.search(text):
        return "leave out BYHOUR, BYMINUTE and BYSECOND: the time of day comes from start"
    # dateutil loops forever on INTERVAL=0, so check it before it ever sees the rule.
    interval = _INTERVAL.search(text)
    if interval and not (interval.group(2).strip().isdigit() and 1 <= int(interval.group(2)) <= 52):
        return "INTERVAL must be a whole number from 1 to 52"
    if _EASTER.search(text):
        return "BYEASTER is not part of RFC 5545"
    if _starts_the_rule(text, local_start) is False:
        return "start must be the rule's first date (start does not match the rule)"
    try:
        timeutil.validate_rrule(text, local_start)
    except ValueError as exc:
        return str(exc)
    first = _rrule.rrulestr(text, dtstart=local_start, ignoretz=True).after(local_start, inc=True)
    if first != local_start:
        return "start must be the rule's first date (start does not match the rule)"
    return None


def _starts_the_rule(text: str, local_start: datetime) -> bool | None:
    """Whether `local_start` is one of the rule's dates (None: leave it to validate_rrule).

    Asking dateutil directly is slow exactly when the answer is no: for a rule that never
    matches (FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30) it searches every period up to year 9999,
    seconds of CPU. The start is a date of the rule iff it is in the rule's first period (the
    start's day, week, month or year), and that period does not depend on COUNT, UNTIL or
    INTERVAL. So the same question is asked a multiple of 400 years later (the same calendar,
    close to 9999) with an INTERVAL that jumps straight past 9999 after the first period.
    """
    try:
        rr = _rrule.rrulestr(text, dtstart=local_start, ignoretz=True)
    except (ValueError, TypeError, KeyError, OverflowError):
        return None
    if not isinstance(rr, _rrule.rrule) or rr._freq > _rrule.DAILY:
        return None
    shift = (MAXYEAR - local_start.year) // _CALENDAR_CYCLE_YEARS * _CALENDAR_CYCLE_YEARS
    far = local_start.replace(year=local_start.year + shift)
    probe = rr.replace(dtstart=far, interval=_CALENDAR_CYCLE_YEARS * 366, count=None, until=None)
    try:
        return probe.after(far, inc=True) == far
    except OverflowError:  # a later period would lie past year 9999: none matched before it
        return False


def horizon(group: GroupSeries, now: datetime, weeks: int) -> date:
    """The local date up to which a series is materialised at `now`.

    `weeks` (GROUP_HORIZON_WEEKS) ahead, and at least far enough for the next SHOWN_OCCURRENCES meetings
    (a monthly group would otherwise show only six) and for the first one.
    """
    until = max(timeutil.local_date_of(now + timedelta(weeks=weeks), group.timezone),
                group.local_start.date())
    if group.rrule:
        rr = _rrule.rrulestr(group.rrule, dtstart=group.local_start, ignoretz=True)
        local_now = now.astimezone(timeutil.zone(group.timezone)).replace(tzinfo=None)
        upcoming = list(islice(rr.xafter(local_now, inc=True), SHOWN_OCCURRENCES))
        if upcoming:
            until = max(until, upcoming[-1].date())
    return until


def _new_occurrences(session: Session, group: GroupSeries, until: date) -> list[Occurrence]:
    """Occurrences of `group` up to `until` that are not in the database yet (not added)."""
    existing = set() if group.id is None else set(session.scalars(
        select(Occurrence.local_date).where(Occurrence.group_id == group.id)))
    length = timedelta(minutes=group.duration_minutes)
    out = []
    for day, start in timeutil.occurrence_starts(group.local_start, group.timezone, group.rrule, until):
        if day in existing:
            continue
        existing.add(day)  # one meeting per local date (the unique key)
        out.append(Occurrence(group_id=group.id, local_date=day, start_dt=start,
                              end_dt=start + length, cancelled=False))
    return out


def facilitator_clashes(session: Session, group: GroupSeries, facilitator_id: int,
                        occurrences: list[Occurrence]) -> list[datetime]:
    """Starts of the meetings at which `facilitator_id` is busy or on time off, soonest first:
    of `occurrences` (materialised, live), and of the series past its horizon."""
    clashes = []
    if occurrences:
        start, end = min(o.start_dt for o in occurrences), max(o.end_dt for o in occurrences)
        taken = (busy.therapist_intervals(session, facilitator_id, start, end, exclude_group=group.id)
                 + busy.time_off(session, facilitator_id, start, end))
        clashes = [o.start_dt for o in overlapping(occurrences, taken)]
    return sorted({*clashes, *clashes_past_horizon(session, group, "therapist", facilitator_id)})


def clash_message(who: str, clashes: list[datetime], tz: str) -> str:
    """'the facilitator is busy or away at 2 meetings: Tue ... at 18:00, Tue ... at 18:00' (at most ten named)."""
    named = ", ".join(meeting_time(start, tz) for start in clashes[:10])
    more = f" and {len(clashes) - 10} more" if len(clashes) > 10 else ""
    meetings = "1 meeting" if len(clashes) == 1 else f"{len(clashes)} meetings"
    return f"{who} is busy or away at {meetings}: {named}{more}"


def overlapping(occurrences: list[Occurrence], taken: list[tuple[datetime, datetime]]) -> list[Occurrence]:
    """Each of `occurrences` that overlaps any of the `taken` intervals, soonest first."""
    return [occ for occ in sorted(occurrences, key=lambda o: o.start_dt)
            if any(start < occ.end_dt and occ.start_dt < end for start, end in taken)]


def first_overlap(occurrences: list[Occurrence], taken: list[tuple[datetime, datetime]]) -> Occurrence | None:
    """The earliest of `occurrences` that overlaps any of the `taken` intervals, or None."""
    return next(iter(overlapping(occurrences, taken)), None)


def clash_past_horizon(session: Session, group: GroupSeries, who: str, person_id: int) -> datetime | None:
    """The start of the first meeting past the group's horizon at which `person_id` is busy, or None."""
    return next(iter(clashes_past_horizon(session, group, who, person_id)), None)


def clashes_past_horizon(session: Session, group: GroupSeries, who: str, person_id: int) -> list[datetime]:
    """Starts of the meetings past the group's horizon at which therapist or patient `person_id`
    is busy (a therapist: or on time off), soonest first.

    Busy with an appointment (or time off) however far ahead, or, up to SERIES_CHECK_AHEAD (two
    years) past the horizon, with a meeting of another of their groups (a single far meeting, or
    a series from its rule): two series that first coincide there are refused now, not found by
    a task at a horizon roll.
    """
    if not group.rrule:
        return []  # a single meeting is always materialised
    materialised = group.materialized_until or group.local_start.date() - timedelta(days=1)
    horizon_start = datetime.combine(materialised, time.min, tzinfo=UTC)
    taken = set(busy.appointments_after(session, who, person_id, horizon_start))
    if who == "therapist":
        taken.update(busy.time_off(session, person_id, horizon_start))
    # Their other groups only where this one meets past its horizon: often nowhere (a COUNT).
    near = busy.meetings_of([group], horizon_start, horizon_start + SERIES_CHECK_AHEAD)
    if near:
        intervals = busy.therapist_intervals if who == "therapist" else busy.patient_intervals
        taken.update(intervals(session, person_id, near[0][0], near[-1][1], exclude_group=group.id))
    if not taken:
        return []
    taken = sorted(taken)
    starts = [s for s, _ in taken]
    longest = max(MAX_MINUTES * 60, *((e - s).total_seconds() for s, e in taken))  # time off may be long
    out = []
    for start, end in busy.meetings_of([group], taken[0][0], max(e for _, e in taken)):
        # Only what starts within the longest interval before this meeting can overlap it.
        first = bisect_left(starts, start - timedelta(seconds=longest))
        if any(s < end and start < e for s, e in taken[first:bisect_left(starts, end)]):
            out.append(start)
    return out


def cancel_meetings_at(session: Session, group: GroupSeries, clashes: list[datetime], now: datetime,
                     settings: Settings) -> list[Occurrence]:
    """Materialise the series up to its last clash and call off each clashing meeting (patients are told)."""
    last = timeutil.local_date_of(clashes[-1], group.timezone)
    if group.materialized_until is None or group.materialized_until < last:
        new = _new_occurrences(session, group, last)
        session.add_all(new)
        session.flush()
        reminders.occurrences_added(session, group, new, now, settings=settings)
        group.materialized_until = last
    wanted = set(clashes)
    cancelled = [occ for occ in session.scalars(select(Occurrence).where(
        Occurrence.group_id == group.id, Occurrence.cancelled.is_(False), Occurrence.start_dt >= clashes[0]
    ).order_by(Occurrence.start_dt)) if occ.start_dt in wanted and occ.start_dt > now]  # a started one stays
    for occ in cancelled:
        occ.cancelled = True
        session.flush()
        reminders.occurrence_cancelled(session, occ, now, settings=settings)
    return cancelled


def meeting_time(occ: Occurrence | datetime, tz: str) -> str:
    """A meeting's start as staff read it in a message: 'Mon 2026-03-09 at 18:00' in the group's zone."""
    start = occ if isinstance(occ, datetime) else occ.start_dt
    return start.astimezone(timeutil.zone(tz)).strftime("%a %Y-%m-%d at %H:%M")


def create_group(session: Session, *, title: str, facilitator_id: int, capacity: int,
                 local_start: datetime, duration_minutes: int, timezone: str, now: datetime,
                 rrule: str | None = None, location: str | None = None, settings: Settings,
                 cancel_clashing: bool = False) -> GroupSeries:
    """Create a series and materialise its horizon.

    409 naming every meeting at which the facilitator is busy or on time off; with
    `cancel_clashing`, the group is created with those meetings cancelled instead.
    """
    if not 1 <= capacity <= MAX_CAPACITY:
        raise Invalid({"capacity": f"must be from 1 to {MAX_CAPACITY}"})
    if not MIN_MINUTES <= duration_minutes <= MAX_MINUTES:
        raise Invalid({"duration_minutes": f"must be from {MIN_MINUTES} to {MAX_MINUTES}"})
    errors = series_errors(local_start, timezone, rrule, now)
    if errors:
        raise Invalid(errors)
    lock(session, Therapist, facilitator_id, "facilitator_id")
    group = GroupSeries(title=title, facilitator_id=facilitator_id, capacity=capacity, location=location,
                        duration_minutes=duration_minutes, timezone=timezone, local_start=local_start,
                        rrule=normalize_rrule(rrule) if rrule else None, created_at=now)
    until = horizon(group, now, settings.group_horizon_weeks)
    occurrences = _new_occurrences(session, group, until)
    group.materialized_until = until
    clashes = facilitator_clashes(session, group, facilitator_id, occurrences)
    if clashes and not cancel_clashing:
        raise Conflict(clash_message("the facilitator", clashes, timezone), field="facilitator_id")
    session.add(group)
    session.flush()
    for occ in occurrences:
        occ.group_id = group.id
    session.add_all(occurrences)
    session.flush()
    if clashes:
        cancel_meetings_at(session, group, clashes, now, settings)
    return group


def extend_horizon(session: Session, now: datetime, *, settings: Settings) -> int:
    """Materialise every series up to its horizon; texts for enrolled patients. Returns meetings added.

    Idempotent: dates already present are skipped, and each series is re-read under its row lock,
    so workers running at once add nothing twice. The caller commits.
    """
    # Plain columns, not objects: a loaded object would hide what another worker committed.
    rows = session.execute(select(GroupSeries.id, GroupSeries.timezone, GroupSeries.local_start,
                                  GroupSeries.rrule, GroupSeries.materialized_until)
                           .order_by(GroupSeries.id)).all()
    added = 0
    for row in rows:
        if row.materialized_until is not None and row.materialized_until >= horizon(row, now, settings.group_horizon_weeks):
            continue
        group = lock(session, GroupSeries, row.id, "group")
        until = horizon(group, now, settings.group_horizon_weeks)
        new = _new_occurrences(session, group, until)
        for clash in _facilitator_clashes_in(session, group, new):
            # The worker cannot refuse; staff must move one of the sessions. Ids only.
            log.warning("group %s: facilitator busy or away at a new occurrence on %s", group.id, clash.local_date)
            session.add(Task(kind=TaskKind.GROUP_CLASH, created_at=now,
                             detail=f"Group {group.id}: the facilitator is busy or away on "
                                    f"{meeting_time(clash, group.timezone)}; move or cancel the meeting"))
        _flag_patient_clashes(session, group, new, now)
        session.add_all(new)
        session.flush()
        reminders.occurrences_added(session, group, new, now, settings=settings)
        group.materialized_until = until
        added += len(new)
    return added


def _facilitator_clashes_in(session: Session, group: GroupSeries, new: list[Occurrence]) -> list[Occurrence]:
    """Each of the `new` meetings at which the facilitator has another session or time off."""
    if not new:
        return []
    start, end = min(o.start_dt for o in new), max(o.end_dt for o in new)
    return overlapping(new, busy.therapist_intervals(session, group.facilitator_id, start, end, exclude_group=group.id)
                       + busy.time_off(session, group.facilitator_id, start, end))


def _flag_patient_clashes(session: Session, group: GroupSeries, new: list[Occurrence], now: datetime) -> None:
    """A task for each enrolled patient already busy at one of the new meetings (old data only)."""
    if not new:
        return
    enrolled = session.scalars(select(Enrollment.patient_id).where(
        Enrollment.group_id == group.id, Enrollment.status == EnrollmentStatus.ENROLLED)).all()
    first, last = min(o.start_dt for o in new), max(o.end_dt for o in new)
    for patient_id in enrolled:
        clash = first_overlap(new, busy.patient_intervals(session, patient_id, first, last,
                                                           exclude_group=group.id))
        if clash is not None:
            log.warning("group %s: an enrolled patient is busy at a new occurrence on %s", group.id,
                        clash.local_date)
            session.add(Task(kind=TaskKind.GROUP_CLASH, patient_id=patient_id, created_at=now,
                             detail=f"Group {group.id}: this patient has another session on "
                                    f"{meeting_time(clash, group.timezone)}; move one of them"))


# --- reading ------------------------------------------------------------------------------


def get_group(session: Session, group_id: int) -> GroupSeries:
    """The series, or 404."""
    group = session.get(GroupSeries, group_id)
    if group is None:
        raise NotFound("group not found")
    return group


def next_occurrences(session: Session, group: GroupSeries, now: datetime,
                     limit: int = SHOWN_OCCURRENCES) -> list[Occurrence]:
    """Meetings not yet over (cancelled ones included, flagged), soonest first."""
    return list(session.scalars(select(Occurrence).where(
        Occurrence.group_id == group.id, Occurrence.end_dt > now
    ).order_by(Occurrence.start_dt).limit(limit)))


def listed(session: Session, facilitator_id: int | None = None) -> list[GroupSeries]:
    """Groups by title: every one, or those `facilitator_id` facilitates (what a therapist sees)."""
    stmt = select(GroupSeries).order_by(GroupSeries.title, GroupSeries.id)
    if facilitator_id is not None:
        stmt = stmt.where(GroupSeries.facilitator_id == facilitator_id)
    return list(session.scalars(stmt))


def next_starts(session: Session, group_ids: list[int], now: datetime) -> dict[int, datetime]:
    """Each group's next meeting still to start (not cancelled), by group id."""
    return dict(session.execute(select(Occurrence.group_id, func.min(Occurrence.start_dt)).where(
        Occurrence.group_id.in_(group_ids), Occurrence.cancelled.is_(False), Occurrence.start_dt > now
    ).group_by(Occurrence.group_id)).all()) if group_ids else {}


def past_occurrences(session: Session, group_id: int, now: datetime, limit: int = 6) -> list[Occurrence]:
    """The latest meetings that have started (not cancelled), newest first: attendance to take."""
    return list(session.scalars(select(Occurrence).where(
        Occurrence.group_id == group_id, Occurrence.start_dt <= now, Occurrence.cancelled.is_(False)
    ).order_by(Occurrence.start_dt.desc()).limit(limit)))


def get_occurrence(session: Session, group_id: int, occurrence_id: int) -> Occurrence:
    """The occurrence of that group, or 404."""
    occ = session.get(Occurrence, occurrence_id)
    if occ is None or occ.group_id != group_id:
        raise NotFound("occurrence not found in this group")
    return occ


def upcoming(session: Session, group_id: int, now: datetime) -> list[Occurrence]:
    """Meetings still to start, not cancelled, soonest first."""
    return list(session.scalars(select(Occurrence).where(
        Occurrence.group_id == group_id, Occurrence.cancelled.is_(False), Occurrence.start_dt > now
    ).order_by(Occurrence.start_dt)))

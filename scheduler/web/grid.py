"""The time grid the week and the day at a glance are drawn on: columns of one therapist's day.

Everything comes from the domain (therapists.calendar, therapists.slots, the time off); this
module only places it on quarter-hour rows of local wall time, as CSS-grid classes (rsN, reN,
gcN in app.css: the CSP allows no inline style).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING
from urllib.parse import quote

from scheduler.core import timeutil
from scheduler.messaging import reminders
from scheduler.models import AppointmentStatus, Patient, Therapist
from scheduler.scheduling import patients, therapists

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

SLOT = timedelta(minutes=30)  # the grid offers free half hours; the form sets the real length
HEADER_ROWS = 1
EARLIEST, LATEST = 8, 18  # the hours always shown, widened to fit hours and sessions


def clock(value: datetime | time) -> str:
    """11:00 AM (no leading zero), as a person reads it."""
    return f"{value.hour % 12 or 12}:{value.minute:02d} {'AM' if value.hour < 12 else 'PM'}"


def day_label(day: date) -> str:
    """Wed Dec 9."""
    return f"{day:%a %b} {day.day}"


def slot_value(instant: datetime, zone) -> str:
    """A slot's start as the booking form reads it: the local wall time, with its offset when repeated."""
    local = instant.astimezone(zone)
    # On a fall-back night the wall time names two instants; the offset says which one is meant.
    if local.replace(fold=1 - local.fold).utcoffset() != local.utcoffset():
        return local.isoformat(timespec="minutes")
    return local.strftime("%Y-%m-%dT%H:%M")


@dataclass
class Entry:
    """One thing in a column: an appointment, a group meeting, a free slot, hours or time off."""

    kind: str  # appointment | group | slot | avail | off
    start: datetime  # local, naive wall time
    end: datetime
    label: str = ""
    href: str = ""
    status: str = ""
    text_status: str = ""
    value: str = ""  # a slot's local start, as the booking form reads it
    css: str = ""
    where: str = ""  # a group meeting's location (the printed day names the room)

    @property
    def span(self) -> str:
        return f"{clock(self.start)}–{clock(self.end)}"


@dataclass
class Column:
    heading: str
    therapist: Therapist
    day: date
    entries: list[Entry] = field(default_factory=list)

    def of(self, *kinds: str) -> list[Entry]:
        return [e for e in self.entries if e.kind in kinds]

    def drawn(self, kind: str) -> list[Entry]:
        """What the time grid draws: a cancelled session freed its time for the slot buttons there."""
        return [e for e in self.of(kind) if e.status != "cancelled"]

    @property
    def cancelled(self) -> list[Entry]:
        """Cancelled sessions and meetings, listed apart from the grid."""
        return sorted((e for e in self.of("appointment", "group") if e.status == "cancelled"),
                      key=lambda e: e.start)

    @property
    def agenda(self) -> list[Entry]:
        return sorted((e for e in self.of("appointment", "group", "slot") if e.status != "cancelled"),
                      key=lambda e: (e.start, e.kind))


def text_status(appt, patient: Patient, reminded: set[int]) -> str:
    """What the texts say about this session: opted out, confirmed, reminded or booked."""
    if patient.opted_out_at is not None:
        return "opted out"
    if not patient.sms_consent:
        return "no texts (no consent)"
    if appt.status == AppointmentStatus.CONFIRMED:
        return "confirmed by the patient"
    if appt.id in reminded:
        return "reminded"
    return "booked"


def _bounds(therapist: Therapist, first: date, days: int) -> tuple[datetime, datetime]:
    tz = therapist.timezone
    start = timeutil.localize(datetime.combine(first, time()), tz).astimezone(timeutil.UTC)
    end = timeutil.localize(datetime.combine(first + timedelta(days=days), time()), tz)
    return start, end.astimezone(timeutil.UTC)


def therapist_days(session: Session, therapist: Therapist, first: date, days: int, now: datetime,
                   heading=day_label, slots: bool = True) -> list[Column]:
    """Columns for `days` consecutive local days of one therapist, filled from the domain."""
    tz = therapist.timezone
    zone = timeutil.zone(tz)
    start, end = _bounds(therapist, first, days)
    columns = {first + timedelta(days=i): Column(heading(first + timedelta(days=i)), therapist,
                                                 first + timedelta(days=i)) for i in range(days)}

    def local(instant: datetime) -> datetime:
        return instant.astimezone(zone).replace(tzinfo=None)

    def put(entry: Entry) -> None:
        column = columns.get(entry.start.date())
        if column is not None:
            column.entries.append(entry)

    appts, meetings = therapists.calendar(session, therapist, start, end)
    # One query each: the patients land in the identity map, so a.patient needs no query.
    people = patients.by_ids(session, (a.patient_id for a in appts))
    reminded = reminders.reminded(session, (a.id for a in appts))
    for a in appts:
        patient = people[a.patient_id]
        put(Entry("appointment", local(a.start_dt), local(a.end_dt), patient.name,
                  f"/appointments/{a.id}", a.status, text_status(a, patient, reminded),
                  css=a.status))
    for occurrence, group in meetings:
        put(Entry("group", local(occurrence.start_dt), local(occurrence.end_dt), group.title,
                  f"/groups/{group.id}", "cancelled" if occurrence.cancelled else "meets",
                  css="group cancelled" if occurrence.cancelled else "group", where=group.location or ""))
    for day, column in columns.items():
        for rule in therapist.rules:
            if rule.weekday == day.weekday():
                column.entries.append(Entry("avail", datetime.combine(day, rule.start_time),
                                            datetime.combine(day + timedelta(days=1) if rule.end_time == time() else day,
                                                                             rule.end_time)))
    for off_start, off_end in therapists.exception_intervals(session, therapist.id, start, end):
        a, b = local(max(off_start, start)), local(min(off_end, end))
        while a < b:  # time off over several days: a block in each day's column
            day_end = datetime.combine(a.date() + timedelta(days=1), time())
            put(Entry("off", a, min(b, day_end), "Time off"))
            a = day_end
    if slots:
        for s, e in therapists.slots(session, therapist, start, end, SLOT, now):
            begin = local(s)
            if begin.minute % 30 == 0:
                value = slot_value(s, zone)
                put(Entry("slot", begin, local(e), f"Book {day_label(begin.date())}, {clock(begin)}",
                          href=f"/appointments/new?therapist={therapist.id}&start={quote(value)}", value=value))
    return list(columns.values())


@dataclass
class Grid:
    """Columns placed on rows: row 1 is the header, then one row per quarter hour from `first_hour`."""

    columns: list[Column]
    first_hour: int
    last_hour: int

    @property
    def hours(self) -> list[tuple[str, str]]:
        out = []
        for hour in range(self.first_hour, self.last_hour):
            row = self.row(datetime.combine(date.min, time(hour)))
            out.append((clock(time(hour)), f"rs{row} re{row + 4}"))
        return out

    @property
    def end_row(self) -> int:
        return HEADER_ROWS + 1 + (self.last_hour - self.first_hour) * 4

    def row(self, moment: datetime) -> int:
        minutes = (moment.hour - self.first_hour) * 60 + moment.minute
        return HEADER_ROWS + 1 + max(0, minutes) // 15

    def place(self, index: int, entry: Entry) -> str:
        """The classes that put `entry` in column `index` (0-based) on its rows."""
        top = min(self.row(entry.start), self.end_row - 1)
        bottom = self.end_row if entry.end.date() > entry.start.date() else self.row(entry.end)
        if entry.end.minute % 15 and entry.end.date() == entry.start.date():
            bottom += 1  # an odd end (e.g. :50) still shows the quarter it reaches into
        return f"gc{index + 2} rs{top} re{max(top + 1, min(bottom, self.end_row))}"

    @property
    def body(self) -> str:
        return f"rs{HEADER_ROWS + 1} re{self.end_row}"

    @property
    def cancelled(self) -> list[tuple[Column, Entry]]:
        """Every column's cancelled entries, column by column (listed below the grid)."""
        return [(column, e) for column in self.columns for e in column.cancelled]


def layout(columns: list[Column]) -> Grid:
    """The grid spanning every column's hours and sessions (at least 8 AM to 6 PM)."""
    first, last = EARLIEST, LATEST
    for column in columns:
        for e in column.entries:
            if e.kind == "off":
                continue
            first = min(first, e.start.hour)
            end_hour = 24 if e.end.date() > e.start.date() else e.end.hour + (1 if e.end.minute else 0)
            last = max(last, end_hour)
    return Grid(columns, first, last)


EARLIEST_DAY, LATEST_DAY = date(1970, 1, 1), date(2200, 12, 31)


def parse_day(state, name: str, tz: str, now: datetime) -> date:
    """The date typed into `name` (a query field), else today in `tz`; a message beside a bad one."""
    raw = state.get(name)
    if raw:
        try:
            day = timeutil.parse_date(raw)
        except ValueError as exc:
            state.add(name, str(exc))
        else:
            if EARLIEST_DAY <= day <= LATEST_DAY:
                return day
            state.add(name, f"must be between {EARLIEST_DAY.year} and {LATEST_DAY.year}")
    return timeutil.local_date_of(now, tz)


def monday_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def opening_week(tz: str, now: datetime) -> date:
    """The Monday a week page opens on: this week in `tz`; on Sunday, the coming one (its last day is nearly over)."""
    today = timeutil.local_date_of(now, tz)
    return monday_of(today + timedelta(days=1) if today.weekday() == 6 else today)


"""When can a therapist be booked: weekly local-time rules minus exceptions and busy time.

Pure functions: no database, no Flask. Every instant returned is aware UTC; intervals are
half-open [start, end), so back-to-back bookings never overlap.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

_ONE_DAY = timedelta(days=1)
_MICRO = timedelta(microseconds=1)

Interval = tuple[datetime, datetime]  # aware datetimes, half-open [start, end)


@dataclass(frozen=True)
class WeeklyRule:
    """A weekly working block in the therapist's local wall time."""

    weekday: int  # 0=Mon .. 6=Sun, in the therapist's local zone
    start: time  # local wall time
    end: time  # local wall time, > start; time(0) is the midnight that ends the day (24:00)

    def __post_init__(self) -> None:
        if not 0 <= self.weekday <= 6:
            raise ValueError("weekday must be 0 (Mon) .. 6 (Sun)")
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise ValueError("rule times are local wall times; give them without tzinfo")
        if self.end <= self.start and not self.ends_at_midnight:
            raise ValueError("rule end must be after start (no overnight rules)")

    @property
    def ends_at_midnight(self) -> bool:
        """True when the block runs until 24:00, the midnight that starts the next day."""
        # An end at or before the start is otherwise impossible, so 00:00 can only mean 24:00.
        return self.end == time(0)


def _utc(value: datetime) -> datetime:
    """`value` as aware UTC; ValueError when naive."""
    if not isinstance(value, datetime):
        raise TypeError("expected a datetime")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("naive datetime: give an aware datetime (any zone)")
    return value.astimezone(UTC)


def _normalize(intervals: list[Interval]) -> list[Interval]:
    """Intervals in UTC, empty ones dropped, sorted, overlapping or touching ones merged."""
    cleaned = sorted((_utc(s), _utc(e)) for s, e in intervals)
    merged: list[Interval] = []
    for start, end in cleaned:
        if end <= start:
            continue
        # `<=` merges touching blocks: 09:00-12:00 and 12:00-17:00 form one bookable span.
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def _gap_end(local: datetime, zone: ZoneInfo) -> datetime:
    """The first valid instant after the DST gap that the nonexistent `local` falls in."""
    # Inside a gap, fold=0 reads the wall time with the offset before the change and fold=1
    # with the one after, so the transition instant lies in (after, before]. Offsets are
    # constant on each side, so a bisection to the microsecond finds it in ~32 steps.
    low = local.replace(fold=1).astimezone(UTC)
    high = local.replace(fold=0).astimezone(UTC)
    offset_after = high.astimezone(zone).utcoffset()
    while high - low > _MICRO:
        mid = low + (high - low) // 2
        if mid.astimezone(zone).utcoffset() == offset_after:
            high = mid
        else:
            low = mid
    return high


def _wall_to_utc(day: date, wall: time, zone: ZoneInfo) -> datetime:
    """A rule boundary as UTC: ambiguous → first occurrence, nonexistent → end of the gap."""
    local = datetime.combine(day, wall.replace(fold=0), tzinfo=zone)
    instant = local.astimezone(UTC)
    # zoneinfo accepts nonexistent wall times silently; only a round trip reveals them.
    if instant.astimezone(zone).replace(tzinfo=None) != local.replace(tzinfo=None):
        return _gap_end(local, zone)
    return instant


def _grid_instants(local: datetime, zone: ZoneInfo) -> list[datetime]:
    """Every UTC instant showing wall time `local`: none in a gap, two in a fall-back hour."""
    first = local.replace(fold=0, tzinfo=zone)
    instant = first.astimezone(UTC)
    if instant.astimezone(zone).replace(tzinfo=None) != local:
        return []  # skipped by the clock; mapping it forward would duplicate the next slot
    second = first.replace(fold=1)
    if second.utcoffset() != first.utcoffset():
        # The repeated hour is a real hour of work; both readings are aligned wall times.
        return [instant, second.astimezone(UTC)]
    return [instant]


def _rules_by_weekday(rules: list[WeeklyRule]) -> dict[int, list[WeeklyRule]]:
    """Rules grouped by weekday so each local date looks up only its own."""
    grouped: dict[int, list[WeeklyRule]] = {}
    for rule in rules:
        grouped.setdefault(rule.weekday, []).append(rule)
    return grouped


def _local_dates(zone: ZoneInfo, range_start: datetime, range_end: datetime) -> list[date]:
    """Local dates touched by [range_start, range_end), padded by a day on each side."""
    # The padding costs two cheap days and guards against edge offsets near midnight.
    day = range_start.astimezone(zone).date() - _ONE_DAY
    last = range_end.astimezone(zone).date() + _ONE_DAY
    days = []
    while day <= last:
        days.append(day)
        day += _ONE_DAY
    return days


def open_intervals(
    rules: list[WeeklyRule], tz: str, range_start: datetime, range_end: datetime
) -> list[Interval]:
    """Working hours in [range_start, range_end) as aware UTC intervals, merged and sorted."""
    zone = ZoneInfo(tz)
    range_start, range_end = _utc(range_start), _utc(range_end)
    if range_end <= range_start:
        return []
    by_weekday = _rules_by_weekday(rules)
    raw: list[Interval] = []
    for day in _local_dates(zone, range_start, range_end):
        for rule in by_weekday.get(day.weekday(), ()):
            start = max(_wall_to_utc(day, rule.start, zone), range_start)
            end_day = day + _ONE_DAY if rule.ends_at_midnight else day
            # A block until 24:00 touches the next day's 00:00 block; _normalize joins them.
            end = min(_wall_to_utc(end_day, rule.end, zone), range_end)
            if start < end:  # a rule wholly inside a DST gap collapses to nothing
                raw.append((start, end))
    return _normalize(raw)


def subtract(intervals: list[Interval], holes: list[Interval]) -> list[Interval]:
    """Remove holes (time off, existing appointments, facilitated group occurrences) from intervals."""
    base = _normalize(intervals)
    cut = _normalize(holes)
    result: list[Interval] = []
    j = 0
    # Both lists are sorted and disjoint, so one forward sweep suffices: O(n + m).
    for start, end in base:
        while j < len(cut) and cut[j][1] <= start:
            j += 1
        k = j
        cursor = start
        while k < len(cut) and cut[k][0] < end:
            hole_start, hole_end = cut[k]
            if hole_start > cursor:
                result.append((cursor, hole_start))
            cursor = max(cursor, hole_end)
            if cursor >= end:
                break
            k += 1
        if cursor < end:
            result.append((cursor, end))
        # A hole can span into the next base interval, so `j` is not advanced past `k`.
    return result


def is_available(
    rules: list[WeeklyRule],
    tz: str,
    exceptions: list[Interval],
    start: datetime,
    end: datetime,
) -> bool:
    """True when [start, end) lies wholly inside working hours and touches no exception."""
    start, end = _utc(start), _utc(end)
    if end <= start:
        raise ValueError("end must be after start")
    inside = any(s <= start and end <= e for s, e in open_intervals(rules, tz, start, end))
    if not inside:
        return False
    # Half-open: an exception that begins exactly at `end` (or ends at `start`) is no clash.
    return not any(s < end and start < e for s, e in _normalize(exceptions))


def free_slots(
    rules: list[WeeklyRule],
    tz: str,
    exceptions: list[Interval],
    busy: list[Interval],
    range_start: datetime,
    range_end: datetime,
    duration: timedelta,
    step: timedelta = timedelta(minutes=15),
) -> list[Interval]:
    """Bookable [start, start+duration) slots, starts aligned to `step` in local wall time (e.g. :00 :15 :30 :45), inside working hours, not overlapping exceptions or busy, within the range."""
    if duration <= timedelta(0):
        raise ValueError("duration must be positive")
    if step <= timedelta(0):
        raise ValueError("step must be positive")
    zone = ZoneInfo(tz)
    range_start, range_end = _utc(range_start), _utc(range_end)
    free = subtract(open_intervals(rules, tz, range_start, range_end), list(exceptions) + list(busy))
    if not free:
        return []

    by_weekday = _rules_by_weekday(rules)
    step_us = step // _MICRO
    day_us = _ONE_DAY // _MICRO
    candidates: list[datetime] = []
    for day in _local_dates(zone, range_start, range_end):
        todays = by_weekday.get(day.weekday())
        if not todays:
            continue
        # Only grid points between the day's earliest rule start and latest rule end can
        # begin a slot; the grid restarts at each local midnight.
        first_us = min(_wall_micros(r.start) for r in todays)
        last_us = max(day_us if r.ends_at_midnight else _wall_micros(r.end) for r in todays)
        midnight = datetime.combine(day, time(0))
        k = -(-first_us // step_us)  # ceiling division
        while k * step_us < min(last_us, day_us):
            wall = midnight + timedelta(microseconds=k * step_us)
            candidates.extend(_grid_instants(wall, zone))
            k += 1
    candidates.sort()

    slots: list[Interval] = []
    i = 0
    previous: datetime | None = None
    for slot_start in candidates:
        if slot_start == previous:
            continue  # list each slot once
        previous = slot_start
        # Free intervals are sorted, disjoint and non-touching: only the one containing
        # `slot_start` can hold the slot, and it never moves backwards.
        while i < len(free) and free[i][1] <= slot_start:
            i += 1
        if i == len(free):
            break
        free_start, free_end = free[i]
        slot_end = slot_start + duration
        if free_start <= slot_start and slot_end <= free_end:
            slots.append((slot_start, slot_end))
    return slots


def _wall_micros(wall: time) -> int:
    """Microseconds since midnight of a wall time."""
    return ((wall.hour * 60 + wall.minute) * 60 + wall.second) * 1_000_000 + wall.microsecond

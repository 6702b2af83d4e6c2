"""Properties, not only examples: free slots and recurring series hold across DST in several zones.

Hypothesis draws the rules, bookings, time off, ranges and zones; each property is what a clinic
relies on whatever the calendar looks like.
"""
from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scheduler.core import timeutil
from scheduler.scheduling.availability import WeeklyRule, free_slots, is_available, open_intervals

# Zones with DST both ways, half-hour and 45-minute offsets, southern-hemisphere changes.
ZONES = ("America/New_York", "Europe/London", "Australia/Sydney", "America/Santiago", "Asia/Kolkata",
         "Pacific/Chatham", "Australia/Lord_Howe", "America/Los_Angeles")
CHECKS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# Every day of these years, so the DST change days are drawn often enough (hypothesis favours ends).
DAYS = st.dates(min_value=date(2026, 1, 1), max_value=date(2027, 12, 31))


@st.composite
def weekly_rules(draw) -> list[WeeklyRule]:
    rules = []
    for _ in range(draw(st.integers(1, 8))):
        start = draw(st.integers(0, 23 * 4 - 1)) * 15  # minutes after midnight
        end = draw(st.integers(start // 15 + 1, 23 * 4 + 3)) * 15
        end = min(end, 23 * 60 + 59)
        rules.append(WeeklyRule(draw(st.integers(0, 6)), time(start // 60, start % 60), time(end // 60, end % 60)))
    return rules


@st.composite
def intervals(draw, start: datetime, end: datetime, most: int = 6) -> list[tuple[datetime, datetime]]:
    span = int((end - start).total_seconds() // 60)
    out = []
    for _ in range(draw(st.integers(0, most))):
        a = start + timedelta(minutes=draw(st.integers(0, span)))
        out.append((a, a + timedelta(minutes=draw(st.integers(1, 600)))))
    return out


@st.composite
def calendars(draw):
    tz = draw(st.sampled_from(ZONES))
    first = draw(DAYS)
    start = datetime.combine(first, time(draw(st.integers(0, 23))), tzinfo=ZoneInfo(tz)).astimezone(UTC)
    end = start + timedelta(days=draw(st.integers(1, 10)))
    return (tz, draw(weekly_rules()), draw(intervals(start, end)), draw(intervals(start, end)), start, end,
            timedelta(minutes=draw(st.sampled_from((15, 30, 45, 50, 60, 90, 120)))))


def _overlaps(a: tuple[datetime, datetime], b: tuple[datetime, datetime]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


@CHECKS
@given(calendars())
def test_free_slots_are_inside_hours_and_never_overlap_bookings_or_time_off(calendar):
    tz, rules, time_off, busy, start, end, duration = calendar
    slots = free_slots(rules, tz, time_off, busy, start, end, duration)
    hours = open_intervals(rules, tz, start, end)
    assert slots == sorted(set(slots)), "each slot once, in order"
    for slot in slots:
        assert slot[0].utcoffset() == timedelta(0) and slot[1] - slot[0] == duration
        assert start <= slot[0] and slot[1] <= end
        assert any(h[0] <= slot[0] and slot[1] <= h[1] for h in hours), "inside working hours"
        assert is_available(rules, tz, time_off, *slot)
        assert not any(_overlaps(slot, hole) for hole in (*time_off, *busy)), "overlaps a booking or time off"
        assert slot[0].astimezone(ZoneInfo(tz)).minute % 15 == 0, "starts on the local quarter hour"


@CHECKS
@given(zone=st.sampled_from(ZONES), first=DAYS, hour=st.integers(0, 23), minute=st.sampled_from((0, 15, 30, 45)),
       weeks=st.integers(1, 60), daily=st.booleans())
def test_every_occurrence_keeps_the_local_wall_time_and_none_falls_in_a_gap(zone, first, hour, minute, weeks, daily):
    wall = time(hour, minute)
    start = datetime.combine(first, wall)
    rule = f"FREQ={'DAILY' if daily else 'WEEKLY'};COUNT={weeks}"
    occurrences = timeutil.occurrence_starts(start, zone, rule, first + timedelta(days=7 * weeks))
    assert len(occurrences) == weeks
    for day, instant in occurrences:
        local = instant.astimezone(ZoneInfo(zone))
        try:
            timeutil.localize(datetime.combine(day, wall), zone)
        except timeutil.NonexistentTime:
            # The wall time does not exist that day: the meeting moves forward by the gap, out of it.
            assert local.date() == day and local.time() > wall
            assert local.astimezone(UTC).astimezone(ZoneInfo(zone)) == local
            continue
        assert (local.date(), local.time()) == (day, wall), "same local wall time every time"

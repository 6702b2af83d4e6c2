"""Pure tests for scheduler.availability: rule expansion, DST, exceptions, slots."""
from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from scheduler.scheduling.availability import (
    WeeklyRule,
    free_slots,
    is_available,
    open_intervals,
    subtract,
)

NY = "America/New_York"
BERLIN = "Europe/Berlin"
KOLKATA = "Asia/Kolkata"
HOUR = timedelta(hours=1)
MIN = timedelta(minutes=1)

# 2024-06-10 is a Monday far from any DST change.
MON = date(2024, 6, 10)
WEEKDAYS_9_17 = [WeeklyRule(d, time(9), time(17)) for d in range(5)]


def loc(tz: str, day: date, hh: int, mm: int = 0) -> datetime:
    """An aware datetime at wall time hh:mm on `day` in `tz` (first occurrence)."""
    return datetime.combine(day, time(hh, mm), tzinfo=ZoneInfo(tz))


def utc(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> datetime:
    """An aware UTC datetime."""
    return datetime(y, m, d, hh, mm, tzinfo=UTC)


def wall(instant: datetime, tz: str) -> tuple[date, time]:
    """Local (date, time) of an instant, for readable assertions."""
    local = instant.astimezone(ZoneInfo(tz))
    return local.date(), local.time()


def day_range(tz: str, first: date, days: int = 1) -> tuple[datetime, datetime]:
    """[local midnight of `first`, local midnight `days` later)."""
    return loc(tz, first, 0), loc(tz, first + timedelta(days=days), 0)


def assert_utc(intervals: list[tuple[datetime, datetime]]) -> None:
    """Every returned instant is aware UTC."""
    for start, end in intervals:
        assert start.tzinfo is UTC and end.tzinfo is UTC


# --- WeeklyRule --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "weekday, start, end",
    [
        (7, time(9), time(17)),
        (-1, time(9), time(17)),
        (0, time(17), time(9)),  # overnight
        (0, time(9), time(9)),  # empty
        (0, time(9, tzinfo=UTC), time(17)),  # not a wall time
    ],
)
def test_weekly_rule_rejects_bad_values(weekday: int, start: time, end: time) -> None:
    with pytest.raises(ValueError):
        WeeklyRule(weekday, start, end)


# --- rule expansion on a normal week -----------------------------------------------------


@pytest.mark.parametrize("tz, utc_start_hour", [(NY, 13), (BERLIN, 7), ("UTC", 9)])
def test_normal_week_expands_to_five_blocks(tz: str, utc_start_hour: int) -> None:
    start, end = day_range(tz, MON, 7)
    got = open_intervals(WEEKDAYS_9_17, tz, start, end)
    assert_utc(got)
    assert got == [
        (utc(2024, 6, 10 + i, utc_start_hour), utc(2024, 6, 10 + i, utc_start_hour + 8))
        for i in range(5)
    ]


@pytest.mark.parametrize(
    "rules, expected",
    [
        # Contiguous rules merge into one block.
        ([(9, 12), (12, 17)], [(9, 17)]),
        # Overlapping rules merge too.
        ([(9, 13), (12, 17)], [(9, 17)]),
        # A lunch gap stays a gap.
        ([(9, 12), (13, 17)], [(9, 12), (13, 17)]),
        # Rule order does not matter.
        ([(13, 17), (9, 12)], [(9, 12), (13, 17)]),
    ],
)
def test_same_day_rules_merge_only_when_contiguous(rules, expected) -> None:
    rule_objs = [WeeklyRule(0, time(a), time(b)) for a, b in rules]
    got = open_intervals(rule_objs, NY, *day_range(NY, MON))
    assert got == [(loc(NY, MON, a).astimezone(UTC), loc(NY, MON, b).astimezone(UTC)) for a, b in expected]


def test_open_intervals_accepts_range_in_any_zone() -> None:
    tokyo = ZoneInfo("Asia/Tokyo")
    start = loc(NY, MON, 0).astimezone(tokyo)
    end = loc(NY, MON, 23).astimezone(tokyo)
    assert open_intervals(WEEKDAYS_9_17, NY, start, end) == [(utc(2024, 6, 10, 13), utc(2024, 6, 10, 21))]


# --- DST weeks ---------------------------------------------------------------------------

DST_WEEKS = [
    # tz, a date before the change, a date after it, UTC hour of 09:00 before, after
    pytest.param(NY, date(2024, 3, 6), date(2024, 3, 13), 14, 13, id="new-york-spring-forward"),
    pytest.param(NY, date(2024, 10, 30), date(2024, 11, 6), 13, 14, id="new-york-fall-back"),
    pytest.param(BERLIN, date(2024, 3, 27), date(2024, 4, 3), 8, 7, id="berlin-spring-forward"),
    pytest.param(BERLIN, date(2024, 10, 23), date(2024, 10, 30), 7, 8, id="berlin-fall-back"),
]


@pytest.mark.parametrize("tz, before, after, hour_before, hour_after", DST_WEEKS)
def test_dst_week_keeps_local_wall_time(tz, before, after, hour_before, hour_after) -> None:
    every_day = [WeeklyRule(d, time(9), time(17)) for d in range(7)]
    start, end = day_range(tz, before, (after - before).days + 1)
    got = open_intervals(every_day, tz, start, end)
    assert_utc(got)
    assert len(got) == 8
    for s, e in got:
        # 09:00-17:00 local every day, including the Sunday of the change (it happens at night).
        assert wall(s, tz)[1] == time(9) and wall(e, tz)[1] == time(17)
        assert e - s == 8 * HOUR
    assert got[0][0].hour == hour_before
    assert got[-1][0].hour == hour_after
    assert wall(got[0][0], tz)[0] == before and wall(got[-1][0], tz)[0] == after


@pytest.mark.parametrize("tz, before, after, hour_before, hour_after", DST_WEEKS)
def test_dst_week_first_slot_is_nine_local(tz, before, after, hour_before, hour_after) -> None:
    start, end = day_range(tz, before, (after - before).days + 1)
    slots = free_slots(WEEKDAYS_9_17, tz, [], [], start, end, timedelta(minutes=50), HOUR)
    assert_utc(slots)
    firsts: dict[date, time] = {}
    for s, _ in slots:
        d, t = wall(s, tz)
        firsts.setdefault(d, t)
    assert set(firsts.values()) == {time(9)}
    assert slots[0][0].hour == hour_before and slots[-1][0].hour == hour_after + 7


@pytest.mark.parametrize(
    "tz, day, rule, expected",
    [
        # Start inside the spring-forward gap: the block opens when the clock resumes.
        pytest.param(NY, date(2024, 3, 10), (time(2, 30), time(4)), (utc(2024, 3, 10, 7), utc(2024, 3, 10, 8)), id="ny-start-in-gap"),
        pytest.param(BERLIN, date(2024, 3, 31), (time(2, 30), time(4)), (utc(2024, 3, 31, 1), utc(2024, 3, 31, 2)), id="berlin-start-in-gap"),
        # End inside the gap: the block closes at the first instant after it.
        pytest.param(NY, date(2024, 3, 10), (time(1), time(2, 30)), (utc(2024, 3, 10, 6), utc(2024, 3, 10, 7)), id="ny-end-in-gap"),
        # Wholly inside the gap: no working time at all that day.
        pytest.param(NY, date(2024, 3, 10), (time(2), time(2, 45)), None, id="ny-rule-in-gap"),
        # Ambiguous boundaries on fall-back day use the first occurrence (fold=0).
        pytest.param(NY, date(2024, 11, 3), (time(1, 30), time(3)), (utc(2024, 11, 3, 5, 30), utc(2024, 11, 3, 8)), id="ny-start-ambiguous"),
        pytest.param(NY, date(2024, 11, 3), (time(0), time(1, 30)), (utc(2024, 11, 3, 4), utc(2024, 11, 3, 5, 30)), id="ny-end-ambiguous"),
        pytest.param(BERLIN, date(2024, 10, 27), (time(2, 30), time(4)), (utc(2024, 10, 27, 0, 30), utc(2024, 10, 27, 3)), id="berlin-start-ambiguous"),
    ],
)
def test_rule_boundary_on_dst_night(tz, day, rule, expected) -> None:
    rules = [WeeklyRule(day.weekday(), *rule)]
    got = open_intervals(rules, tz, *day_range(tz, day))
    assert got == ([expected] if expected else [])


@pytest.mark.parametrize(
    "day, expected_utc_hours",
    [
        # 02:00 does not exist: 00:00, 01:00 EST then 03:00 EDT; nothing mapped twice.
        pytest.param(date(2024, 3, 10), [5, 6, 7], id="spring-forward"),
        # 01:00 happens twice and both hours are real working time.
        pytest.param(date(2024, 11, 3), [4, 5, 6, 7, 8], id="fall-back"),
    ],
)
def test_slots_across_dst_night_are_listed_once(day, expected_utc_hours) -> None:
    rules = [WeeklyRule(6, time(0), time(4))]
    slots = free_slots(rules, NY, [], [], *day_range(NY, day), HOUR, HOUR)
    assert [s.hour for s, _ in slots] == expected_utc_hours
    assert len({s for s, _ in slots}) == len(slots)
    assert all(e - s == HOUR for s, e in slots)


def test_grid_point_in_gap_is_skipped_not_shifted() -> None:
    # With 45-minute steps, 02:15 falls in the gap; shifting it would invent an off-grid 03:15.
    rules = [WeeklyRule(6, time(0), time(4))]
    step = timedelta(minutes=45)
    slots = free_slots(rules, NY, [], [], *day_range(NY, date(2024, 3, 10)), step, step)
    assert [wall(s, NY)[1] for s, _ in slots] == [time(0), time(0, 45), time(1, 30), time(3)]


# --- exceptions (time off) ---------------------------------------------------------------


def _starts(tz: str, slots) -> list[tuple[date, time]]:
    return [wall(s, tz) for s, _ in slots]


@pytest.mark.parametrize(
    "exception, removed, kept",
    [
        # A lunch-hour absence on Monday.
        pytest.param(
            (loc(NY, MON, 12), loc(NY, MON, 13)),
            [(MON, time(12)), (MON, time(11, 30))],
            [(MON, time(11)), (MON, time(13)), (MON + timedelta(days=1), time(12))],
            id="one-hour",
        ),
        # A leave from Tuesday noon to Thursday noon spans three working days.
        pytest.param(
            (loc(NY, MON + timedelta(days=1), 12), loc(NY, MON + timedelta(days=3), 12)),
            [(MON + timedelta(days=1), time(12)), (MON + timedelta(days=2), time(9)), (MON + timedelta(days=2), time(16)), (MON + timedelta(days=3), time(11))],
            [(MON + timedelta(days=1), time(11)), (MON + timedelta(days=3), time(12)), (MON + timedelta(days=4), time(9))],
            id="several-days",
        ),
    ],
)
def test_exceptions_remove_slots(exception, removed, kept) -> None:
    start, end = day_range(NY, MON, 7)
    slots = _starts(NY, free_slots(WEEKDAYS_9_17, NY, [exception], [], start, end, HOUR, timedelta(minutes=30)))
    for item in removed:
        assert item not in slots
    for item in kept:
        assert item in slots


def test_multi_day_exception_leaves_nothing_on_wednesday() -> None:
    tue, wed, thu = (MON + timedelta(days=n) for n in (1, 2, 3))
    leave = (loc(NY, tue, 12), loc(NY, thu, 12))
    slots = free_slots(WEEKDAYS_9_17, NY, [leave], [], *day_range(NY, MON, 7), HOUR)
    assert wed not in {d for d, _ in _starts(NY, slots)}
    assert is_available(WEEKDAYS_9_17, NY, [leave], loc(NY, wed, 10), loc(NY, wed, 11)) is False


# --- busy edges --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "busy, expected",
    [
        pytest.param([], [9, 10, 11], id="empty"),
        # Back-to-back on both sides is fine.
        pytest.param([((10, 0), (11, 0))], [9, 11], id="back-to-back"),
        # One minute of overlap refuses the neighbour.
        pytest.param([((9, 59), (11, 0))], [11], id="overlap-start-by-a-minute"),
        pytest.param([((10, 0), (11, 1))], [9], id="overlap-end-by-a-minute"),
        # Unsorted, overlapping busy intervals are handled.
        pytest.param([((11, 30), (11, 45)), ((9, 0), (9, 30)), ((9, 15), (10, 0))], [10], id="unsorted"),
    ],
)
def test_busy_edges(busy, expected) -> None:
    rules = [WeeklyRule(0, time(9), time(12))]
    busy_iv = [(loc(NY, MON, *a), loc(NY, MON, *b)) for a, b in busy]
    slots = free_slots(rules, NY, [], busy_iv, *day_range(NY, MON), HOUR, HOUR)
    assert [wall(s, NY)[1] for s, _ in slots] == [time(h) for h in expected]


def test_busy_in_another_zone_is_compared_as_an_instant() -> None:
    rules = [WeeklyRule(0, time(9), time(12))]
    busy = [(loc(NY, MON, 10).astimezone(ZoneInfo(BERLIN)), loc(NY, MON, 11).astimezone(ZoneInfo("Asia/Tokyo")))]
    slots = free_slots(rules, NY, [], busy, *day_range(NY, MON), HOUR, HOUR)
    assert [wall(s, NY)[1] for s, _ in slots] == [time(9), time(11)]


# --- step alignment ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "tz, rule, busy, duration, step, expected",
    [
        # A block starting off-grid begins at the next quarter hour.
        pytest.param(NY, (time(9, 10), time(10, 30)), None, 30, 15, [(9, 15), (9, 30), (9, 45), (10, 0)], id="quarter-hours"),
        # After a busy interval ending 10:10, the next start is 10:15, not 10:10.
        pytest.param(NY, (time(10), time(11)), ((10, 0), (10, 10)), 30, 15, [(10, 15), (10, 30)], id="after-busy"),
        pytest.param(NY, (time(9), time(10)), None, 20, 20, [(9, 0), (9, 20), (9, 40)], id="twenty-minutes"),
        # The grid is measured from local midnight: 7-minute steps land on 09:06, 09:13 ...
        pytest.param(NY, (time(9), time(9, 30)), None, 7, 7, [(9, 6), (9, 13), (9, 20)], id="from-midnight"),
        # Local alignment in a half-hour-offset zone: 09:00 IST is 03:30 UTC.
        pytest.param(KOLKATA, (time(9), time(12)), None, 60, 60, [(9, 0), (10, 0), (11, 0)], id="kolkata"),
    ],
)
def test_step_alignment(tz, rule, busy, duration, step, expected) -> None:
    rules = [WeeklyRule(MON.weekday(), *rule)]
    busy_iv = [(loc(tz, MON, *busy[0]), loc(tz, MON, *busy[1]))] if busy else []
    slots = free_slots(rules, tz, [], busy_iv, *day_range(tz, MON), timedelta(minutes=duration), timedelta(minutes=step))
    assert [wall(s, tz)[1] for s, _ in slots] == [time(*hm) for hm in expected]
    assert all(e - s == timedelta(minutes=duration) for s, e in slots)


def test_kolkata_slots_are_half_past_in_utc() -> None:
    rules = [WeeklyRule(0, time(9), time(10))]
    slots = free_slots(rules, KOLKATA, [], [], *day_range(KOLKATA, MON), HOUR, HOUR)
    assert slots == [(utc(2024, 6, 10, 3, 30), utc(2024, 6, 10, 4, 30))]


def test_default_step_is_fifteen_minutes() -> None:
    rules = [WeeklyRule(0, time(9), time(10))]
    slots = free_slots(rules, NY, [], [], *day_range(NY, MON), timedelta(minutes=30))
    assert [wall(s, NY)[1] for s, _ in slots] == [time(9), time(9, 15), time(9, 30)]


# --- duration and gaps -------------------------------------------------------------------


@pytest.mark.parametrize(
    "rules, duration, expected_count",
    [
        pytest.param([(9, 10)], 90, 0, id="longer-than-block"),
        pytest.param([(9, 10)], 60, 1, id="exactly-the-block"),
        # A slot must not cross the lunch gap...
        pytest.param([(9, 12), (13, 17)], 240, 1, id="gap-not-crossed"),
        # ... but contiguous rules form one block: 09:00-13:00 .. 13:00-17:00 in hour steps.
        pytest.param([(9, 12), (12, 17)], 240, 5, id="contiguous-crossed"),
    ],
)
def test_duration_against_working_blocks(rules, duration, expected_count) -> None:
    rule_objs = [WeeklyRule(0, time(a), time(b)) for a, b in rules]
    slots = free_slots(rule_objs, NY, [], [], *day_range(NY, MON), timedelta(minutes=duration), HOUR)
    assert len(slots) == expected_count


@pytest.mark.parametrize("duration, step", [(timedelta(0), HOUR), (-HOUR, HOUR), (HOUR, timedelta(0))])
def test_nonpositive_duration_or_step_rejected(duration, step) -> None:
    with pytest.raises(ValueError):
        free_slots(WEEKDAYS_9_17, NY, [], [], *day_range(NY, MON), duration, step)


# --- range boundaries --------------------------------------------------------------------


def test_open_intervals_clip_to_range() -> None:
    start, end = loc(NY, MON, 10, 7), loc(NY, MON + timedelta(days=1), 15)
    got = open_intervals(WEEKDAYS_9_17, NY, start, end)
    assert got == [
        (start.astimezone(UTC), loc(NY, MON, 17).astimezone(UTC)),
        (loc(NY, MON + timedelta(days=1), 9).astimezone(UTC), end.astimezone(UTC)),
    ]


@pytest.mark.parametrize(
    "range_hm, expected_first, expected_last",
    [
        # Slots lie wholly inside the range: none starts before it or ends after it.
        pytest.param(((10, 7), (15, 0)), time(10, 15), time(14, 0), id="mid-day"),
        pytest.param(((0, 0), (9, 59)), None, None, id="ends-before-first-slot-fits"),
        pytest.param(((9, 0), (10, 0)), time(9), time(9), id="exactly-one"),
    ],
)
def test_free_slots_clip_to_range(range_hm, expected_first, expected_last) -> None:
    (a, b) = range_hm
    slots = free_slots(WEEKDAYS_9_17, NY, [], [], loc(NY, MON, *a), loc(NY, MON, *b), HOUR)
    if expected_first is None:
        assert slots == []
        return
    assert wall(slots[0][0], NY)[1] == expected_first
    assert wall(slots[-1][0], NY)[1] == expected_last
    assert slots[-1][1] <= loc(NY, MON, *b)


@pytest.mark.parametrize("offset", [timedelta(0), -HOUR])
def test_empty_or_inverted_range_gives_nothing(offset) -> None:
    start = loc(NY, MON, 9)
    assert open_intervals(WEEKDAYS_9_17, NY, start, start + offset) == []
    assert free_slots(WEEKDAYS_9_17, NY, [], [], start, start + offset, HOUR) == []


# --- naive input -------------------------------------------------------------------------

NAIVE = datetime(2024, 6, 10, 9)
AWARE = loc(NY, MON, 9)
AWARE_END = loc(NY, MON, 10)


@pytest.mark.parametrize(
    "call",
    [
        pytest.param(lambda: open_intervals(WEEKDAYS_9_17, NY, NAIVE, AWARE_END), id="open-start"),
        pytest.param(lambda: open_intervals(WEEKDAYS_9_17, NY, AWARE, NAIVE + HOUR), id="open-end"),
        pytest.param(lambda: subtract([(NAIVE, NAIVE + HOUR)], []), id="subtract-interval"),
        pytest.param(lambda: subtract([(AWARE, AWARE_END)], [(NAIVE, AWARE_END)]), id="subtract-hole"),
        pytest.param(lambda: is_available(WEEKDAYS_9_17, NY, [], NAIVE, AWARE_END), id="available-start"),
        pytest.param(lambda: is_available(WEEKDAYS_9_17, NY, [], AWARE, NAIVE + HOUR), id="available-end"),
        pytest.param(lambda: is_available(WEEKDAYS_9_17, NY, [(NAIVE, NAIVE + HOUR)], AWARE, AWARE_END), id="available-exception"),
        pytest.param(lambda: free_slots(WEEKDAYS_9_17, NY, [], [], NAIVE, AWARE_END, HOUR), id="slots-range"),
        pytest.param(lambda: free_slots(WEEKDAYS_9_17, NY, [(NAIVE, NAIVE + HOUR)], [], AWARE, AWARE_END, HOUR), id="slots-exception"),
        pytest.param(lambda: free_slots(WEEKDAYS_9_17, NY, [], [(NAIVE, NAIVE + HOUR)], AWARE, AWARE_END, HOUR), id="slots-busy"),
    ],
)
def test_naive_input_rejected(call) -> None:
    with pytest.raises(ValueError, match="naive"):
        call()


# --- subtract ----------------------------------------------------------------------------


def _h(*pairs: tuple[int, int]) -> list[tuple[datetime, datetime]]:
    """Intervals given as UTC hours on 2024-06-10."""
    return [(utc(2024, 6, 10, a), utc(2024, 6, 10, b)) for a, b in pairs]


@pytest.mark.parametrize(
    "intervals, holes, expected",
    [
        pytest.param([(9, 17)], [], [(9, 17)], id="no-holes"),
        pytest.param([(9, 17)], [(12, 13)], [(9, 12), (13, 17)], id="middle"),
        pytest.param([(9, 17)], [(8, 10)], [(10, 17)], id="covers-start"),
        pytest.param([(9, 17)], [(16, 18)], [(9, 16)], id="covers-end"),
        pytest.param([(9, 17)], [(8, 18)], [], id="covers-all"),
        pytest.param([(9, 17)], [(7, 9), (17, 18)], [(9, 17)], id="touching-only"),
        pytest.param([(9, 12), (13, 17)], [(11, 14)], [(9, 11), (14, 17)], id="spans-two"),
        pytest.param([(13, 17), (9, 12)], [(15, 16), (10, 11)], [(9, 10), (11, 12), (13, 15), (16, 17)], id="unsorted"),
        pytest.param([(9, 17)], [(10, 12), (11, 13), (13, 14)], [(9, 10), (14, 17)], id="overlapping-holes"),
        pytest.param([(9, 12), (12, 17)], [], [(9, 17)], id="merges-touching"),
    ],
)
def test_subtract(intervals, holes, expected) -> None:
    got = subtract(_h(*intervals), _h(*holes))
    assert got == _h(*expected)
    assert_utc(got)


# --- is_available ------------------------------------------------------------------------

LUNCH_SPLIT = [WeeklyRule(0, time(9), time(12)), WeeklyRule(0, time(13), time(17))]
TIME_OFF = [(loc(NY, MON, 14), loc(NY, MON, 15))]


@pytest.mark.parametrize(
    "start, end, expected",
    [
        pytest.param((9, 30), (10, 20), True, id="inside"),
        pytest.param((9, 0), (12, 0), True, id="exactly-the-block"),
        pytest.param((13, 0), (14, 0), True, id="ends-where-exception-starts"),
        pytest.param((15, 0), (17, 0), True, id="starts-where-exception-ends"),
        pytest.param((8, 59), (9, 30), False, id="starts-before-hours"),
        pytest.param((16, 30), (17, 1), False, id="ends-after-hours"),
        pytest.param((11, 30), (13, 30), False, id="crosses-lunch-gap"),
        pytest.param((18, 0), (19, 0), False, id="outside"),
        pytest.param((13, 30), (14, 1), False, id="overlaps-exception-by-a-minute"),
        pytest.param((14, 15), (14, 45), False, id="inside-exception"),
        pytest.param((13, 30), (15, 30), False, id="covers-exception"),
    ],
)
def test_is_available(start, end, expected) -> None:
    assert is_available(LUNCH_SPLIT, NY, TIME_OFF, loc(NY, MON, *start), loc(NY, MON, *end)) is expected


def test_is_available_on_a_day_without_rules() -> None:
    saturday = MON + timedelta(days=5)
    assert is_available(WEEKDAYS_9_17, NY, [], loc(NY, saturday, 10), loc(NY, saturday, 11)) is False


def test_is_available_accepts_any_zone() -> None:
    berlin = ZoneInfo(BERLIN)
    start = loc(NY, MON, 9).astimezone(berlin)  # 15:00 in Berlin
    assert is_available(WEEKDAYS_9_17, NY, [], start, start + HOUR) is True


@pytest.mark.parametrize("length", [timedelta(0), -HOUR])
def test_is_available_rejects_empty_interval(length) -> None:
    with pytest.raises(ValueError):
        is_available(WEEKDAYS_9_17, NY, [], AWARE, AWARE + length)


def test_is_available_across_spring_forward_gap() -> None:
    # A 02:30 start does not exist on 2024-03-10; the block opens at 03:00 EDT.
    day = date(2024, 3, 10)
    rules = [WeeklyRule(6, time(2, 30), time(4))]
    assert is_available(rules, NY, [], utc(2024, 3, 10, 7), utc(2024, 3, 10, 8)) is True
    assert is_available(rules, NY, [], utc(2024, 3, 10, 6, 59), utc(2024, 3, 10, 8)) is False
    assert wall(utc(2024, 3, 10, 7), NY) == (day, time(3))


def test_a_block_until_midnight_joins_the_next_days_early_block():
    # Mon 18:00-24:00 (end held as 00:00) + Tue 00:00-02:00: a session may cross local midnight.
    rules = [WeeklyRule(0, time(18), time(0)), WeeklyRule(1, time(0), time(2))]
    start = loc(NY, MON, 23, 30)
    assert open_intervals(rules, NY, loc(NY, MON, 0), loc(NY, MON + timedelta(days=2), 0)) == [
        (loc(NY, MON, 18).astimezone(UTC), loc(NY, MON + timedelta(days=1), 2).astimezone(UTC))]
    assert is_available(rules, NY, [], start, start + HOUR)
    slots = free_slots(rules, NY, [], [], loc(NY, MON, 0), loc(NY, MON + timedelta(days=2), 0), HOUR)
    assert (start.astimezone(UTC), (start + HOUR).astimezone(UTC)) in slots
    alone = free_slots(rules[:1], NY, [], [], loc(NY, MON, 0), loc(NY, MON + timedelta(days=2), 0), HOUR)
    assert alone[-1][1] == loc(NY, MON + timedelta(days=1), 0).astimezone(UTC)  # until midnight, no later
    with pytest.raises(ValueError):
        WeeklyRule(0, time(18), time(17))

"""Outgoing texts: one GSM-7 segment, in the patient's language and zone, and never revealing."""
from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from scheduler.messaging import texts
from scheduler.messaging.texts import FORBIDDEN_WORDS, KINDS, check, gsm7_length, is_gsm7, render

NAME = "Northside Health Ctr"  # 20 characters: the longest name we plan for
PHONE = "+1 (555) 555-0123"
TIMED = {"booked", "reminder", "rescheduled", "waitlist_promoted", "booked_weekly", "cancelled_weekly"}

# The longest date strings: "Wed"/"miércoles", two-digit days, two-digit hours in both
# clocks, plus a one-digit hour and the Spanish "1:xx".
MOMENTS = [
    datetime(2026, 9, 30, 12, 59, tzinfo=ZoneInfo("America/New_York")),
    datetime(2026, 12, 23, 23, 59, tzinfo=ZoneInfo("America/Chicago")),
    datetime(2026, 11, 11, 10, 45, tzinfo=ZoneInfo("America/Los_Angeles")),
    datetime(2026, 1, 1, 1, 5, tzinfo=ZoneInfo("America/Puerto_Rico")),
    datetime(2026, 5, 16, 9, 0, tzinfo=ZoneInfo("Pacific/Honolulu")),
]


def assert_sendable(text: str) -> None:
    assert is_gsm7(text), text
    assert gsm7_length(text) <= 160, (gsm7_length(text), text)
    assert texts.forbidden_words_in(text) == [], text
    assert NAME in text and PHONE in text


@pytest.mark.parametrize("language", ["en", "es"])
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("moment", MOMENTS, ids=lambda m: m.strftime("%a%d%b%H%M"))
def test_every_kind_fits_one_neutral_segment(kind, language, moment):
    text = render(kind, language, clinic_name=NAME, clinic_phone=PHONE, start_dt=moment)
    assert_sendable(text)
    if kind in TIMED:
        assert texts.format_when(moment, language) in text


@pytest.mark.parametrize("language", ["en", "es"])
@pytest.mark.parametrize("kind", sorted(set(KINDS) - TIMED))
def test_kinds_without_a_time(kind, language):
    assert_sendable(render(kind, language, clinic_name=NAME, clinic_phone=PHONE))


@pytest.mark.parametrize("language", ["en", "es"])
def test_longest_possible_date_still_fits(language):
    texts.validate_settings(NAME, PHONE)
    assert len(texts.longest_when(language)) >= max(
        len(texts.format_when(m, language)) for m in MOMENTS
    )


@pytest.mark.parametrize("kind", sorted(TIMED))
def test_timed_kinds_need_a_time(kind):
    with pytest.raises(ValueError, match="start_dt"):
        render(kind, "en", clinic_name=NAME, clinic_phone=PHONE)


def test_times_are_shown_in_the_patients_zone():
    start = datetime(2026, 3, 10, 23, 0, tzinfo=UTC)  # 6 PM in Chicago (CDT since Mar 8)
    en = render("reminder", "en", clinic_name=NAME, clinic_phone=PHONE, start_dt=start,
                tz="America/Chicago")
    es = render("reminder", "es", clinic_name=NAME, clinic_phone=PHONE, start_dt=start,
                tz="America/Chicago")
    assert "Tue Mar 10 at 6:00 PM" in en
    assert "martes 10 mar, 18:00" in es
    late = datetime(2026, 3, 11, 3, 30, tzinfo=UTC)  # still the 10th on the west coast
    assert texts.format_when(late, "en", "America/Los_Angeles") == "Tue Mar 10 at 8:30 PM"
    assert texts.format_when(late, "en", "UTC") == "Wed Mar 11 at 3:30 AM"
    assert texts.format_when(datetime(2026, 3, 11, 0, 5, tzinfo=UTC), "en") == "Wed Mar 11 at 12:05 AM"
    assert texts.format_when(datetime(2026, 7, 4, 1, 5, tzinfo=UTC), "es") == "sabado 4 jul, 1:05"


def test_language_fallback_and_regional_tags():
    start = datetime(2026, 3, 10, 18, 0, tzinfo=UTC)
    english = render("booked", "en", clinic_name=NAME, clinic_phone=PHONE, start_dt=start)
    assert render("booked", "fr", clinic_name=NAME, clinic_phone=PHONE, start_dt=start) == english
    assert render("booked", "", clinic_name=NAME, clinic_phone=PHONE, start_dt=start) == english
    spanish = render("booked", "es-MX", clinic_name=NAME, clinic_phone=PHONE, start_dt=start)
    assert spanish.startswith(f"{NAME}: Su cita")


def test_render_refuses_naive_times_unknown_kinds_and_revealing_names():
    with pytest.raises(ValueError):
        render("booked", "en", clinic_name=NAME, clinic_phone=PHONE, start_dt=datetime(2026, 3, 10, 18))
    with pytest.raises(ValueError):
        render("invoice", "en", clinic_name=NAME, clinic_phone=PHONE)
    with pytest.raises(ValueError, match="recovery"):
        render("help", "en", clinic_name="Hope Recovery", clinic_phone=PHONE)


def test_reply_options_are_offered():
    start = datetime(2026, 3, 10, 18, 0, tzinfo=UTC)
    for kind in ("booked", "reminder", "rescheduled"):
        en = render(kind, "en", clinic_name=NAME, clinic_phone=PHONE, start_dt=start)
        assert "Reply C to confirm, R to reschedule, STOP to opt out." in en
        es = render(kind, "es", clinic_name=NAME, clinic_phone=PHONE, start_dt=start)
        assert "C para confirmar" in es and "R para cambiar" in es and "STOP" in es
    assert "START" in render("opt_out_ack", "en", clinic_name=NAME, clinic_phone=PHONE)
    assert "STOP" in render("help", "es", clinic_name=NAME, clinic_phone=PHONE)


def test_templates_never_use_the_word_clinic():
    for table in (texts._TIMED, texts._PLAIN):
        for by_kind in table.values():
            for template in by_kind.values():
                assert "clinic" not in template.lower()
                assert not texts.forbidden_words_in(template)


@pytest.mark.parametrize("bad", [
    "See you soon \u2019",  # curly quote
    "See you soon \u2014 ok",  # em dash
    "Cita el sábado",
    "x" * 161,
    "€" * 81,
    "Reminder: your therapy session is Tue",
    "Tu TERAPIA es el martes",
    "Adicción",
    "Group meets Tue",
    "Your counselor will call",
])
def test_check_rejects(bad):
    with pytest.raises(ValueError):
        check(bad)


@pytest.mark.parametrize("good", [
    "x" * 160,
    "€" * 80,
    "¿Viene? ¡Gracias! ñ ü é Ñ Ü É",
    "Northside Clinic: regrouping tomorrow at 6:00 PM [C] {R}",
    "Call +1 (555) 555-0123 @ 5 & bring ID; 100% ok?",
])
def test_check_accepts(good):
    assert check(good) == good


def test_gsm7_counting():
    assert gsm7_length("abc") == 3
    assert gsm7_length("[]{}~^|\\€") == 18
    assert is_gsm7("¿¡") and not is_gsm7("á") and not is_gsm7("í") and not is_gsm7("`")
    with pytest.raises(ValueError):
        gsm7_length("ó")


def test_forbidden_words_cover_the_contract():
    required = {
        "detox", "rehab", "addiction", "recovery", "therapy", "therapist", "counseling",
        "counselor", "group", "treatment", "sober", "sobriety", "substance", "drug", "alcohol",
        "opioid", "methadone", "suboxone", "terapia", "grupo", "tratamiento",
        "desintoxicacion", "adiccion", "rehabilitacion", "recuperacion", "consejeria",
        "sobriedad", "droga",
    }
    assert required <= FORBIDDEN_WORDS
    assert "clinic" not in FORBIDDEN_WORDS and "health" not in FORBIDDEN_WORDS


def test_validate_settings_rejects_names_that_do_not_fit():
    texts.validate_settings("Northside", "555-0100")
    with pytest.raises(ValueError):
        texts.validate_settings("Northside Detox", PHONE)
    with pytest.raises(ValueError):
        texts.validate_settings("N" * 60, PHONE)
    with pytest.raises(ValueError):
        texts.validate_settings("", PHONE)

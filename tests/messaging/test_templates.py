"""Admins' text templates: the checker's verdicts, and stored wording used when texts go out."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from scheduler.core import timeutil
from scheduler.core.settings import current
from scheduler.errors import Invalid
from scheduler.extensions import db
from scheduler.messaging import dispatch, sms, templates, texts
from scheduler.models import Message, TextTemplate
from scheduler.scheduling import appointments

NAME, PHONE = "Northside Health", "555-0100"
BOOKED_AT = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)


def verdict(body: str, kind: str = "reminder", language: str = "en") -> templates.Verdict:
    return templates.check_template(kind, language, body, clinic_name=NAME, clinic_phone=PHONE)


@pytest.mark.parametrize("kind", texts.KINDS)
@pytest.mark.parametrize("language", texts.LANGUAGES)
def test_every_builtin_wording_passes_the_checker(kind, language):
    assert verdict(texts.builtin(kind, language), kind, language).reasons == ()


def test_counts_characters_with_the_longest_date_and_the_clinic_name():
    body = "{clinic}: see you {when}. Call {phone}"
    longest = f"{NAME}: see you {texts.longest_when('en')}. Call {PHONE}"
    assert verdict(body) == templates.Verdict(len(longest), 1, ())


@pytest.mark.parametrize(("body", "kind", "reason"), [
    ("{clinic}: " + "x" * 150 + " {when}", "reminder", "one text holds 160"),
    ("{clinic}: your therapy is {when}", "reminder", "reveals the kind of care: therapy"),
    ("{clinic}: su terapia es el {when}", "reminder", "reveals the kind of care: terapia"),
    ("{clinic}: it’s {when}", "reminder", "GSM-7: ’ (U+2019)"),
    ("{clinic}: hi {name}, {when}", "reminder", "{name}: only {clinic}, {phone}, {when} may be used"),
    ("{clinic}: we found nothing {when}", "nothing_to_confirm", "(this text has no date)"),
    ("{clinic}: {when!r}", "reminder", "write blanks plainly"),
    ("{clinic}: a { here {when}", "reminder", "not part of a blank"),
    ("Reminder: {when}. Call {phone}", "reminder", "put {clinic} in it"),
    ("{clinic}: Reminder. Call {phone}", "reminder", "put {when} in it"),
    ("   ", "reminder", "is empty"),
])
def test_refuses_a_template_that_breaks_a_rule(body, kind, reason):
    found = verdict(body, kind)
    assert not found.ok
    assert any(reason in r for r in found.reasons), found.reasons


def test_a_text_too_long_counts_its_segments():
    found = verdict("{clinic}: " + "y" * 300 + " {when}")
    assert found.characters > 306 and found.segments == 3


def test_non_gsm_text_is_counted_in_ucs2_units():
    assert templates.size("ü" * 70) == (70, 1)  # ü is GSM-7
    assert templates.size("ú" * 71) == (71, 2)


def test_a_dated_kind_may_leave_the_date_out_when_it_has_an_undated_form():
    assert verdict("{clinic}: Your visit is cancelled. Call {phone}", "cancelled").ok


def test_render_uses_an_override_and_falls_back_when_it_no_longer_fits():
    start = datetime(2026, 3, 10, 22, 0, tzinfo=UTC)
    wording = {("reminder", "en"): "{clinic}: see you {when}. Call {phone}"}
    text = texts.render("reminder", "en", clinic_name=NAME, clinic_phone=PHONE, start_dt=start,
                        tz="America/New_York", overrides=wording)
    assert text == "Northside Health: see you Tue Mar 10 at 6:00 PM. Call 555-0100"
    text = texts.render("reminder", "en", clinic_name=NAME, clinic_phone=PHONE,
                        start_dt=start, tz="America/New_York",
                        overrides={("reminder", "en"): "{clinic}: " + "z" * 130 + " {when}"})
    assert "Reminder, your appointment is" in text  # the built-in wording went out instead


def test_a_dated_override_is_not_used_for_the_undated_form():
    wording = {("cancelled", "en"): "{clinic}: Your visit {when} is off. Call {phone}"}
    text = texts.render("cancelled", "en", clinic_name=NAME, clinic_phone=PHONE, overrides=wording)
    assert text.startswith("Northside Health: Your appointment is cancelled.")


def test_save_refuses_with_reasons_and_stores_nothing(ctx):
    with pytest.raises(Invalid) as caught:
        templates.save(ctx, "reminder", "en", "{clinic}: your rehab visit {when}", clinic_name=NAME,
                       clinic_phone=PHONE, user_id=None, now=BOOKED_AT)
    assert "rehab" in caught.value.errors["body"]
    ctx.rollback()
    assert ctx.scalars(select(TextTemplate)).all() == []


def test_save_replaces_and_reset_restores_the_builtin(ctx):
    for body in ("{clinic}: see you {when}", "{clinic}: until {when}. {phone}"):
        templates.save(ctx, "reminder", "es", body, clinic_name=NAME, clinic_phone=PHONE, user_id=None,
                       now=BOOKED_AT)
        ctx.commit()
    assert templates.overrides(ctx) == {("reminder", "es"): "{clinic}: until {when}. {phone}"}
    assert templates.reset(ctx, "reminder", "es") is True
    ctx.commit()
    assert templates.overrides(ctx) == {} and templates.reset(ctx, "reminder", "es") is False


def test_dispatch_sends_the_stored_wording(app, ctx, make_therapist, make_patient):
    therapist, patient = make_therapist(), make_patient()
    templates.save(ctx, "booked", "en", "{clinic}: You are set for {when}. Reply C to confirm. {phone}",
                   clinic_name=NAME, clinic_phone=PHONE, user_id=None, now=BOOKED_AT)
    start = timeutil.localize(datetime(2026, 3, 5, 10, 0), "America/New_York")
    appointments.book(ctx, therapist, patient, start, 50, BOOKED_AT, settings=current())
    ctx.commit()
    dispatch.run_once(db.session, lambda: BOOKED_AT, sms.make_backend(current().sms), settings=current())
    ctx.expire_all()
    sent = ctx.scalars(select(Message).where(Message.kind == "booked")).one()
    assert sent.body == "Northside Health: You are set for Thu Mar 5 at 10:00 AM. Reply C to confirm. 555-0100"

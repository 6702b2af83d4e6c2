"""The no_show_outreach text: one neutral invitation to come back after a missed session, under every text rule."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from scheduler.core.settings import current
from scheduler.extensions import db
from scheduler.messaging import dispatch, sms, templates, texts
from scheduler.models import Message, Patient
from scheduler.scheduling import appointments, roster
from tests.support.aftercare import local

MISSED_AT = local(date(2026, 3, 2), 10)  # Monday 10:00-10:50 in New York
AFTER = MISSED_AT + timedelta(hours=2)  # noon: outside quiet hours


def outreach(ctx) -> list[tuple[str, str | None]]:
    ctx.expire_all()
    return [(m.status, m.skip_reason) for m in ctx.scalars(
        select(Message).where(Message.kind == "no_show_outreach").order_by(Message.id))]


def missed(ctx, clinic, pid, start=MISSED_AT, now=AFTER, status="no_show") -> int:
    appt = clinic.appointment(pid, start, status="scheduled")
    appointments.record_attendance(ctx, appt, status, now)
    ctx.commit()
    return appt


def send(app, now) -> dict:
    with app.app_context():
        return dispatch.run_once(db.session, lambda: now, sms.make_backend(current().sms), settings=current())


@pytest.fixture
def patient(clinic):
    pid = clinic.patient()
    clinic.discharge(pid, date(2026, 2, 25))
    return pid


def test_one_text_after_a_no_show_and_only_one_per_session(app, ctx, clinic, patient):
    appt = missed(ctx, clinic, patient)
    assert outreach(ctx) == [("pending", None)]
    appointments.record_attendance(ctx, appt, "no_show", AFTER + timedelta(minutes=5))  # the same again
    ctx.commit()
    ctx.close()
    counts = send(app, AFTER)
    assert counts["sent"] == 1
    body = ctx.scalar(select(Message.body).where(Message.kind == "no_show_outreach"))
    assert body == ("Northside Health: We missed you and would be glad to see you again. To book a new time "
                    "call 555-0100. Reply STOP to opt out.")
    assert texts.check(body) and len(outreach(ctx)) == 1


@pytest.mark.parametrize(("hours_after_end", "sent"), [(47, True), (48, True), (49, False)])
def test_only_when_recorded_within_48_hours_of_the_end(ctx, clinic, patient, hours_after_end, sent):
    end = MISSED_AT + timedelta(minutes=50)
    missed(ctx, clinic, patient, now=end + timedelta(hours=hours_after_end))
    assert outreach(ctx) == ([("pending", None)] if sent else [])


def test_late_cancel_is_not_a_no_show(ctx, clinic, patient):
    missed(ctx, clinic, patient, status="late_cancelled")
    assert outreach(ctx) == []


def test_never_when_a_later_session_is_booked(ctx, clinic, patient):
    clinic.appointment(patient, local(date(2026, 3, 5), 10), status="scheduled")
    missed(ctx, clinic, patient)
    assert outreach(ctx) == []


def test_never_when_a_later_group_meeting_is_booked(ctx, clinic, patient):
    clinic.group(local(date(2026, 3, 4), 18), members=(patient,))
    missed(ctx, clinic, patient)
    assert outreach(ctx) == []


def test_withdrawn_when_attendance_changes_before_it_goes(ctx, clinic, patient):
    appt = missed(ctx, clinic, patient)
    appointments.record_attendance(ctx, appt, "attended", AFTER + timedelta(minutes=1))
    ctx.commit()
    assert outreach(ctx) == [("withdrawn", None)]
    appointments.record_attendance(ctx, appt, "no_show", AFTER + timedelta(minutes=2))  # corrected back
    ctx.commit()
    assert outreach(ctx) == [("pending", None)]


def test_skipped_at_send_time_when_booked_meanwhile(app, ctx, clinic, patient):
    missed(ctx, clinic, patient, now=MISSED_AT + timedelta(hours=11))  # 21:00: quiet hours, it waits
    ctx.close()
    assert send(app, MISSED_AT + timedelta(hours=11))["deferred"] == 1
    clinic.appointment(patient, local(date(2026, 3, 6), 10), status="scheduled")
    ctx.close()
    assert send(app, MISSED_AT + timedelta(hours=23))["skipped"] == 1
    assert outreach(ctx) == [("skipped", "booked_again")]


def test_quiet_hours_defer_it_to_the_morning(app, ctx, clinic, patient):
    missed(ctx, clinic, patient, now=MISSED_AT + timedelta(hours=11))
    ctx.close()
    send(app, MISSED_AT + timedelta(hours=11))
    due = ctx.scalar(select(Message.due_at).where(Message.kind == "no_show_outreach"))
    assert due == local(date(2026, 3, 3), 8)


def test_at_most_one_per_seven_days_per_patient(ctx, clinic, patient):
    missed(ctx, clinic, patient)
    missed(ctx, clinic, patient, start=MISSED_AT + timedelta(days=3), now=AFTER + timedelta(days=3))
    assert len(outreach(ctx)) == 1
    missed(ctx, clinic, patient, start=MISSED_AT + timedelta(days=7, hours=1), now=AFTER + timedelta(days=7, hours=1))
    assert len(outreach(ctx)) == 2


@pytest.mark.parametrize("who", ["no_consent", "opted_out", "plan_ended", "plan_ran_out"])
def test_not_for_patients_who_may_not_be_texted_or_whose_plan_ended(ctx, clinic, who):
    pid = clinic.patient(consent=who != "no_consent")
    if who == "opted_out":
        ctx.get(Patient, pid).opted_out_at = AFTER - timedelta(days=1)
        ctx.commit()
    if who == "plan_ended":
        clinic.discharge(pid, date(2026, 2, 25), ended_reason="declined", ended_at=AFTER - timedelta(days=1))
    if who == "plan_ran_out":
        clinic.discharge(pid, date(2026, 1, 1), plan_days=30)
    missed(ctx, clinic, pid)
    assert outreach(ctx) == []


def test_a_group_no_show_counts_too(ctx, clinic, patient):
    _, (occ,) = clinic.group(MISSED_AT - timedelta(hours=2), members=(patient,))
    roster.record_attendance(ctx, *_group_of(ctx, occ), patient, "no_show", AFTER)
    ctx.commit()
    assert [m.dedupe_key for m in ctx.scalars(select(Message).where(Message.kind == "no_show_outreach"))] == [
        f"outreach:occ{occ}:p{patient}"]


def _group_of(ctx, occ_id):
    from scheduler.models import Occurrence

    return ctx.get(Occurrence, occ_id).group_id, occ_id


def test_in_spanish_and_editable_by_admins(app, ctx, clinic, make_patient):
    pid = make_patient(language="es", phone="+12015558888")
    clinic.discharge(pid, date(2026, 2, 25))
    missed(ctx, clinic, pid)
    ctx.close()
    send(app, AFTER)
    body = ctx.scalar(select(Message.body).where(Message.kind == "no_show_outreach"))
    assert body.startswith("Northside Health: Le esperamos") and texts.check(body)
    # The template editor offers it, refuses revealing wording, and what it stores is what goes out.
    assert "no_show_outreach" in texts.KINDS
    verdict = templates.check_template("no_show_outreach", "en", "{clinic}: Back to therapy? Call {phone}",
                                       clinic_name="Northside Health", clinic_phone="555-0100")
    assert not verdict.ok and any("therapy" in r for r in verdict.reasons)
    assert not templates.check_template("no_show_outreach", "en", "{clinic}: {when} Call {phone}",
                                        clinic_name="Northside Health", clinic_phone="555-0100").ok
    templates.save(ctx, "no_show_outreach", "en", "{clinic}: We hope to see you soon. Call {phone}",
                   clinic_name="Northside Health", clinic_phone="555-0100", user_id=None, now=AFTER)
    ctx.commit()
    other = clinic.patient(phone="+12015558889")
    missed(ctx, clinic, other, start=MISSED_AT - timedelta(hours=3))
    ctx.close()
    send(app, AFTER)
    bodies = ctx.scalars(select(Message.body).where(Message.kind == "no_show_outreach").order_by(Message.id)).all()
    assert bodies[-1] == "Northside Health: We hope to see you soon. Call 555-0100"


def test_every_built_in_wording_passes_the_text_rules():
    for lang in texts.LANGUAGES:
        body = texts.builtin("no_show_outreach", lang)
        assert templates.check_template("no_show_outreach", lang, body, clinic_name="Northside Health",
                                        clinic_phone="555-0100").ok

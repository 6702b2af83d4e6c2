"""Admins add clinicians (issue 17, item 11): names for users, a therapist user with their therapist
record made or linked in one step, a bad email beside its field; `users create --name`."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from scheduler.extensions import db
from scheduler.models import AuditEvent, Therapist, User

NEW = {"name": "Jo Rivera", "email": "jo.rivera@clinic.test", "role": "therapist", "therapist": "",
       "timezone": "America/Chicago", "password": "long enough pass"}


def user_named(app, email: str) -> User | None:
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == email))
        if user is not None:
            db.session.expunge(user)
        return user


def test_new_user_form_names_its_fields(staff):
    html = staff.admin.get("/admin").get_data(as_text=True)
    for label in ("Name", "Email", "Role", "Therapist record", "Time zone", "Password"):
        assert f">{label}</label>" in html, label
    assert ">Name</th>" in html and ">Create user</button>" in html


def test_a_therapist_user_gets_a_new_therapist_record_with_name_and_zone(staff, app):
    response = staff.admin.post("/admin/users", data={**NEW, "form_id": "c1"})
    assert response.status_code == 302
    user = user_named(app, "jo.rivera@clinic.test")
    with app.app_context():
        therapist = db.session.get(Therapist, user.therapist_id)
        assert (user.name, user.role) == ("Jo Rivera", "therapist")
        assert (therapist.name, therapist.email, therapist.timezone) == ("Jo Rivera", "jo.rivera@clinic.test",
                                                                         "America/Chicago")
        assert db.session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "create", AuditEvent.entity == "therapist")) == 1
    listing = staff.admin.get("/admin").get_data(as_text=True)
    assert '<th scope="row">Jo Rivera</th>' in listing and "therapist (Jo Rivera)" in listing
    assert "Jo Rivera" in staff.coordinator.get("/calendar").get_data(as_text=True)  # bookable


def test_a_therapist_user_is_linked_to_the_record_with_their_email(staff, app, make_therapist):
    existing = make_therapist(name="Jo R.", email="Jo.Rivera@clinic.test")
    assert staff.admin.post("/admin/users", data={**NEW, "form_id": "c2"}).status_code == 302
    assert user_named(app, "jo.rivera@clinic.test").therapist_id == existing
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Therapist)) == 3  # none added


@pytest.mark.parametrize(("changes", "field", "message"), [
    ({"email": "jo@clinic"}, "email", "Email must be an email address such as name@clinic.org"),
    ({"email": "jo rivera@clinic.test"}, "email", "Email must be an email address"),
    ({"name": "  "}, "name", "Name is required"),
    ({"timezone": "Mars/Base"}, "timezone", "Time zone must be a time zone from the list"),
])
def test_bad_input_is_flagged_beside_its_field(staff, app, changes, field, message):
    response = staff.admin.post("/admin/users", data={**NEW, **changes, "form_id": "c3"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and f'<small id="e-{field}" class="field-error">{message}' in html
    assert f'id="f-{field}"' in html and 'aria-invalid="true"' in html
    assert user_named(app, "jo.rivera@clinic.test") is None
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Therapist)) == 2


def test_a_coordinator_needs_no_therapist_record(staff, app):
    data = {**NEW, "role": "coordinator", "email": "front.desk@clinic.test", "name": "Front Desk", "form_id": "c4"}
    assert staff.admin.post("/admin/users", data=data).status_code == 302
    user = user_named(app, "front.desk@clinic.test")
    assert (user.name, user.therapist_id) == ("Front Desk", None)


def test_cli_create_takes_a_name_and_makes_a_therapist_in_the_clinic_zone(make_app):
    app = make_app(CLINIC_TIMEZONE="America/Denver")
    runner = app.test_cli_runner()
    result = runner.invoke(args=["users", "create", "--email", "kim@clinic.test", "--role", "therapist",
                                 "--name", "Kim Lowe"])
    assert result.exit_code == 0, result.output
    coordinator = runner.invoke(args=["users", "create", "--email", "cy@clinic.test", "--role", "coordinator",
                                      "--name", "Cy Desk"])
    assert coordinator.exit_code == 0, coordinator.output
    bad = runner.invoke(args=["users", "create", "--email", "nope@", "--role", "coordinator"])
    assert bad.exit_code != 0 and "must be an email address" in bad.output
    with app.app_context():
        kim = db.session.scalar(select(User).where(User.email == "kim@clinic.test"))
        assert kim.name == "Kim Lowe" and (kim.therapist.name, kim.therapist.timezone) == ("Kim Lowe",
                                                                                            "America/Denver")
        assert db.session.scalar(select(User.name).where(User.email == "cy@clinic.test")) == "Cy Desk"

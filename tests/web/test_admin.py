"""`/admin`: admins only; staff users, API tokens, text templates with the counter, settings."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from scheduler.core import auth
from scheduler.extensions import db
from scheduler.models import ApiToken, TextTemplate, User

PATHS = ["/admin", "/admin/templates/reminder/en"]


@pytest.mark.parametrize("path", PATHS)
def test_admins_only(staff, pages, path):
    assert staff.admin.get(path).status_code == 200
    assert staff.coordinator.get(path).status_code == 403
    assert staff.therapist.get(path).status_code == 403
    assert "/login" in pages.get(path).location


@pytest.mark.parametrize("path", ["/admin/users", "/admin/tokens", "/admin/tokens/1/revoke",
                                  "/admin/users/1/role", "/admin/templates/reminder/en"])
def test_coordinators_may_not_post(staff, path):
    assert staff.coordinator.post(path, data={}).status_code == 403


def test_settings_are_shown_without_secrets(make_app, make_therapist):
    from tests.support.web import Pages, add_user
    app = make_app(SECRET_KEY="very-secret-key-value", SMS_BACKEND="twilio", TWILIO_ACCOUNT_SID="AC" + "1" * 32,
                   TWILIO_AUTH_TOKEN="auth-token-value-secret", TWILIO_FROM_NUMBER="+12015550100",
                   PUBLIC_BASE_URL="https://clinic.example")
    client = Pages(app.test_client())
    client.sign_in(add_user(app, "admin"))
    html = client.text("/admin")
    assert "Northside Health" in html and "+12015550100" in html and "https://clinic.example" in html
    assert "very-secret-key-value" not in html and "auth-token-value-secret" not in html
    assert "AC" + "1" * 32 not in html


def test_create_user_change_role_deactivate_reset_password(staff, app):
    bad = staff.admin.post("/admin/users", data={"email": "nope", "name": "Noa Park", "role": "coordinator", "password": "x" * 12,
                                                 "form_id": "u0"})
    assert bad.status_code == 422 and "Email must be an email address" in bad.get_data(as_text=True)
    short = staff.admin.post("/admin/users", data={"email": "new@clinic.test", "name": "Noa Park", "role": "coordinator",
                                                   "password": "short", "form_id": "u1"})
    assert short.status_code == 422 and "at least 10 characters" in short.get_data(as_text=True)
    ok = staff.admin.post("/admin/users", data={"email": "new@clinic.test", "name": "Noa Park", "role": "coordinator",
                                                "password": "long enough pass", "form_id": "u2"})
    again = staff.admin.post("/admin/users", data={"email": "new@clinic.test", "name": "Noa Park", "role": "coordinator",
                                                   "password": "long enough pass", "form_id": "u2"})
    assert ok.status_code == 302 and again.status_code == 302
    with app.app_context():
        uid = db.session.scalar(select(User.id).where(User.email == "new@clinic.test"))
    assert staff.admin.post(f"/admin/users/{uid}/role", data={"role": "admin"}).status_code == 302
    refused = staff.admin.post(f"/admin/users/{uid}/role", data={"role": "therapist", "therapist": ""})
    assert refused.status_code == 422 and "choose the therapist" in refused.get_data(as_text=True)
    assert staff.admin.post(f"/admin/users/{uid}/password", data={"password": "another long one"}).status_code == 302
    assert staff.admin.post(f"/admin/users/{uid}/active", data={"active": "0", "confirm": "yes"}).status_code == 302
    with app.app_context():
        user = db.session.get(User, uid)
        assert (user.role, user.active) == ("admin", False)
    assert staff.admin.post("/admin/users/999999/role", data={"role": "admin"}).status_code == 404


def test_an_admin_cannot_deactivate_themselves(staff, app):
    with app.app_context():
        me = db.session.scalar(select(User.id).where(User.role == "admin"))
    response = staff.admin.post(f"/admin/users/{me}/active", data={"active": "0"})
    assert response.status_code == 409 and "cannot deactivate yourself" in response.get_data(as_text=True)


def test_token_is_shown_once_and_can_be_revoked(staff, app):
    with app.app_context():
        uid = db.session.scalar(select(User.id).where(User.role == "coordinator"))
    response = staff.admin.post("/admin/tokens", data={"user": str(uid), "form_id": "t1"})
    token = re.search(r'<code class="token">([^<]+)</code>', response.get_data(as_text=True)).group(1)
    assert staff.admin.post("/admin/tokens", data={"user": str(uid), "form_id": "t1"}).status_code == 302
    assert token not in staff.admin.get("/admin").get_data(as_text=True)
    with app.app_context():
        assert auth.user_for_token(db.session, token).id == uid
        token_id = db.session.scalar(select(ApiToken.id))
        assert db.session.scalar(select(func.count()).select_from(ApiToken)) == 1
    assert staff.admin.post(f"/admin/tokens/{token_id}/revoke").status_code == 302
    with app.app_context():
        assert auth.user_for_token(db.session, token) is None


def test_template_counter_and_save(staff, app):
    counter = staff.admin.post("/admin/templates/reminder/en/check",
                               data={"body": "{clinic}: " + "x" * 150 + " {when}"}).get_data(as_text=True)
    assert "2 segments" in counter and "one text holds 160" in counter and "<html" not in counter
    ok = staff.admin.post("/admin/templates/reminder/en/check", data={"body": "{clinic}: see you {when}"})
    assert "This text can be sent." in ok.get_data(as_text=True)
    refused = staff.admin.post("/admin/templates/reminder/en", data={"body": "{clinic}: your therapy {when}"})
    assert refused.status_code == 422 and "reveals the kind of care: therapy" in refused.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(TextTemplate)) == 0
    saved = staff.admin.post("/admin/templates/reminder/en", data={"body": "{clinic}: see you {when}. {phone}"})
    assert saved.status_code == 302
    page = staff.admin.get("/admin/templates/reminder/en").get_data(as_text=True)
    assert "A custom wording is in use" in page and "{clinic}: see you {when}. {phone}" in page
    assert staff.admin.post("/admin/templates/reminder/en", data={"action": "reset"}).status_code == 302
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(TextTemplate)) == 0
    assert staff.admin.get("/admin/templates/nonsense/en").status_code == 404
    assert staff.admin.get("/admin/templates/reminder/fr").status_code == 404

"""Helpers for the staff pages: CSRF tokens, signing in a test client, reading pages."""
from __future__ import annotations

import re
from functools import cache

from werkzeug.security import generate_password_hash

from scheduler.core import auth
from scheduler.extensions import db
from scheduler.models import User
from tests.support import NOW

PASSWORD = "correct horse battery"
_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


@cache
def cheap_hash() -> str:
    """A real scrypt hash of PASSWORD with low cost: tests sign in often."""
    return generate_password_hash(PASSWORD, method="scrypt:1024:8:1")


def csrf_token(html: str) -> str:
    """The CSRF token a page carries in its forms."""
    match = _TOKEN.search(html)
    assert match, "the page has no CSRF token"
    return match.group(1)


class Pages:
    """A test client that signs in through /login and posts forms with their CSRF token."""

    def __init__(self, client):
        self.client = client
        self.token: str | None = None

    def sign_in(self, email: str, password: str = PASSWORD, **kwargs):
        """Sign in through /login; `kwargs` go to both requests (headers, base_url)."""
        token = csrf_token(self.client.get("/login", follow_redirects=True, **kwargs).get_data(as_text=True))
        response = self.client.post("/login", data={"email": email, "password": password,
                                                    "csrf_token": token}, **kwargs)
        self.token = None
        return response

    def get(self, path: str, **kwargs):
        return self.client.get(path, **kwargs)

    def post(self, path: str, data: dict | None = None, csrf: bool = True, **kwargs):
        data = dict(data or {})
        if csrf:
            if self.token is None:
                self.token = csrf_token(self.client.get("/").get_data(as_text=True))
            data.setdefault("csrf_token", self.token)
        return self.client.post(path, data=data, **kwargs)

    def text(self, path: str) -> str:
        response = self.client.get(path)
        assert response.status_code == 200, (path, response.status_code)
        return response.get_data(as_text=True)


def add_user(app, role: str, therapist_id: int | None = None, email: str | None = None,
             active: bool = True) -> str:
    """A staff user who signs in with PASSWORD; returns the email."""
    with app.app_context():
        n = db.session.query(User).count() + 1
        email = email or f"{role}{n}@clinic.test"
        user = auth.create_user(db.session, email, role, NOW, therapist_id=therapist_id)
        user.password_hash = cheap_hash()
        user.active = active
        db.session.commit()
        return email

"""In the browser: sign in as a person would, sign out; the sign-in page passes axe."""
from __future__ import annotations

import pytest

from tests.support.browser import assert_accessible
from tests.support.web import PASSWORD, add_user

pytestmark = pytest.mark.browser


def test_sign_in_then_sign_out(page, live_app, shot):
    page.goto("/calendar")
    assert "/login" in page.url
    assert_accessible(page, "sign-in page")
    page.get_by_label("Email").fill("nobody@clinic.test")
    page.get_by_label("Password").fill("wrong")
    page.get_by_role("button", name="Sign in").click()
    assert page.get_by_text("Wrong email or password.").is_visible()
    assert page.get_by_label("Email").input_value() == "nobody@clinic.test"
    assert_accessible(page, "sign-in page with an error")
    shot(page, "login")
    page.get_by_label("Email").fill(add_user(live_app, "admin"))
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/calendar")
    assert page.url.endswith("/calendar")  # back where they were going
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/login")
    assert page.get_by_text("You are signed out.").is_visible()


def test_focus_ring_is_visible(page):
    page.goto("/login")
    page.keyboard.press("Tab")  # the skip link first
    assert page.evaluate("() => document.activeElement.textContent") == "Skip to main content"
    style = page.evaluate("() => getComputedStyle(document.activeElement).outlineWidth")
    assert style == "3px"

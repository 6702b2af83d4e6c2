"""In the browser: upload a discharge file, Check only, then Import it without choosing it again; axe-core."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from scheduler.extensions import db
from scheduler.models import Patient
from tests.support.browser import assert_accessible

pytestmark = pytest.mark.browser

FILE = ("name,phone,timezone,discharge_date,sms_consent\r\n"
        "Ana Import,(201) 555-0131,America/New_York,2026-02-20,yes\r\n"
        "Ben Import,2015550131,America/New_York,2026-02-21,no\r\n").encode()


def _patients(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Patient))


def test_check_only_then_import_the_same_file(signed_in, live_app, tmp_path, shot):
    path = tmp_path / "discharges.csv"
    path.write_bytes(FILE)
    page = signed_in("coordinator")
    page.get_by_role("link", name="Imports").click()
    expect(page.get_by_role("heading", name="Import discharges", level=1)).to_be_visible()
    page.get_by_label("CSV file").set_input_files(str(path))
    page.get_by_label("Check only").check()
    page.get_by_role("button", name="Import").click()
    expect(page.get_by_text("1 created, 0 updated, 0 unchanged, 1 refused")).to_be_visible(timeout=20_000)
    expect(page.get_by_role("heading", name="Check: Checked")).to_be_visible()
    report = page.get_by_role("table")
    expect(report.get_by_role("row")).to_have_count(3)  # the head and two rows
    expect(report).to_contain_text("phone belongs to another patient")
    assert _patients(live_app) == 0
    assert_accessible(page, "imports page after Check only")
    shot(page, "imports-check")
    # Import the same file: nothing chosen again.
    page.get_by_role("button", name="Import").click()
    expect(page.get_by_role("heading", name="Import: Imported")).to_be_visible(timeout=20_000)
    expect(page.get_by_text("1 created, 0 updated, 0 unchanged, 1 refused")).to_be_visible()
    assert _patients(live_app) == 1
    assert_accessible(page, "imports page after the import")

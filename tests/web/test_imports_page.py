"""/imports: upload, Check only (nothing saved), then Import the same file without choosing it again."""
from __future__ import annotations

import io
import time

from sqlalchemy import func, select

from scheduler.extensions import db
from scheduler.models import AuditEvent, DischargeImport, Patient
from scheduler.web.helpers import new_form_id

GOOD = ("name,phone,timezone,discharge_date,sms_consent\r\n"
        "Ana Ruiz,(201) 555-0101,America/New_York,2026-02-20,yes\r\n"
        "Ben Ode,2015550101,America/New_York,2026-02-21,no\r\n"
        "Cy Bad,2015550102,Nowhere/Zone,2026-02-21,no\r\n").encode()


def _post(client, data: bytes | None = None, check_only: bool = False):
    form = {"form_id": new_form_id()}
    if data is not None:
        form["file"] = (io.BytesIO(data), "discharges.csv")
    if check_only:
        form["check_only"] = "on"
    return client.post("/imports", data=form, content_type="multipart/form-data")


def _wait(client) -> str:
    """The page once its run has ended (it polls while rows are processed)."""
    for _ in range(300):
        html = client.text("/imports/status")
        if "hx-trigger" not in html:
            return client.text("/imports")
        time.sleep(0.1)
    raise AssertionError("the import did not finish")


def _patients(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Patient))


def test_check_only_then_import_the_same_file(app, staff, frozen_clock):
    coordinator = staff.coordinator
    page = coordinator.text("/imports")
    assert 'for="f-file">CSV file<' in page and "Check only" in page and ">Import</button>" in page
    assert '<a href="/imports"' in page  # the nav link
    assert _post(coordinator, GOOD, check_only=True).status_code == 302
    html = _wait(coordinator)
    assert "1 created, 0 updated, 0 unchanged, 2 refused" in html and "Nothing was saved" in html
    assert "phone belongs to another patient" in html and "Nowhere" not in html and "Ben Ode" not in html
    assert "Leave it empty to import the file you just checked (3 rows)" in html
    assert _patients(app) == 0
    # Import, without choosing the file again: it was kept on the server, its id in the session.
    assert _post(coordinator).status_code == 302
    html = _wait(coordinator)
    assert "Import: Imported" in html and "1 created, 0 updated, 0 unchanged, 2 refused" in html
    assert _patients(app) == 1
    with app.app_context():
        record = db.session.scalar(select(DischargeImport))
        assert record.content is None and record.created == 1 and record.refused == 2
        actions = db.session.scalars(select(AuditEvent.action).where(AuditEvent.entity == "discharge_import",
                                                                     AuditEvent.action != "read")).all()
        assert sorted(actions) == ["check", "import", "import"]  # the two posts, and the import itself
    report = coordinator.get("/imports/report.csv")
    assert report.mimetype == "text/csv"
    assert report.get_data(as_text=True).splitlines() == [
        "row,result,column,rule", "2,created,,", "3,refused,phone,phone belongs to another patient",
        '4,refused,timezone,"must be a time zone from the list, such as America/New_York"']
    # Nothing waits to be imported any more: Import with no file asks for one.
    again = _post(coordinator)
    assert again.status_code == 422 and "CSV file: choose a CSV file" in again.get_data(as_text=True)


def test_a_file_that_cannot_be_read_is_refused_beside_the_field(app, staff):
    bad = _post(staff.admin, b"name,phone,timezone,discharge_date,diagnosis\r\nA,1,Z,D,x\r\n")
    html = bad.get_data(as_text=True)
    assert bad.status_code == 422 and "CSV file: unknown column &#39;diagnosis&#39;" in html
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(DischargeImport)) == 0


def test_therapists_may_not_import(staff):
    assert staff.therapist.get("/imports").status_code == 403
    assert _post(staff.therapist, GOOD).status_code == 403
    assert '<a href="/imports"' not in staff.therapist.text("/")


def test_a_run_shows_its_progress_and_a_silent_one_is_marked_failed(app, staff, frozen_clock):
    """The bar while rows are processed (a refresh shows it without JavaScript); a dead thread's run fails."""
    from datetime import timedelta

    from scheduler.models import User
    from tests.support import NOW

    coordinator = staff.coordinator
    assert _post(coordinator, GOOD, check_only=True).status_code == 302
    _wait(coordinator)
    with app.app_context():
        record = db.session.scalar(select(DischargeImport))
        record.status, record.rows_done, record.rows_total, record.beat_at = "running", 1, 3, NOW
        assert db.session.get(User, record.user_id).role == "coordinator"
        db.session.commit()
    html = coordinator.text("/imports")
    assert '<progress id="import-progress" value="1" max="3"' in html and "1 of 3 rows processed" in html
    assert 'hx-trigger="every 1s"' in html and ">Refresh</a>" in html
    frozen_clock.move_to(NOW + timedelta(minutes=11))
    html = coordinator.text("/imports")
    assert "The import stopped before it finished" in html and "<progress" not in html

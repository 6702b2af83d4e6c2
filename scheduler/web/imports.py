"""`/imports`: upload a discharge file, Check only or Import, and watch the rows being processed.

The upload is kept on the server (aftercare/import_jobs: a `discharge_imports` row), and its id
in the server-side session, never in a URL: after Check only, Import runs the same file without
choosing it again. A file runs in a thread of its own, so no request waits for it: the page
shows a progress bar of the rows processed, which htmx refreshes every second and a reload
refreshes without JavaScript.
"""
from __future__ import annotations

import threading

from flask import Response, current_app, render_template, request, url_for
from flask import session as staff_session

from scheduler.aftercare import import_files, import_jobs, imports
from scheduler.core import audit, settings
from scheduler.core.clock import now
from scheduler.core.spreadsheet import to_csv
from scheduler.extensions import db
from scheduler.models import DischargeImport, Role
from scheduler.models.enums import ImportStatus
from scheduler.schemas.imports import COLUMNS, REQUIRED
from scheduler.web import bp, roles, user
from scheduler.web.forms import FormState
from scheduler.web.helpers import new_form_id
from scheduler.web.posts import Done, go, submit

KEY = "discharge_import"  # the session's pointer to this user's latest upload
SHOWN = 2_000  # rows listed on the page; the CSV report has them all
STAFF = (Role.ADMIN, Role.COORDINATOR)


def _record() -> DischargeImport | None:
    return import_jobs.of_user(db.session, staff_session.get(KEY), user().id)


def _view(record: DischargeImport | None) -> dict:
    """What the status part of the page shows."""
    if record is None:
        return {"record": None}
    report = import_jobs.report_of(record) if record.report else []
    listed = report if len(report) <= SHOWN else [o for o in report if o.result == imports.REFUSED][:SHOWN]
    running = record.status in (ImportStatus.PENDING, ImportStatus.RUNNING)
    return {"record": record, "running": running, "listed": listed, "all_listed": len(listed) == len(report),
            "saving": running and not record.check_only and record.rows_done >= record.rows_total,
            "summary": imports.summary(report) if report else ""}


def _look(record: DischargeImport | None) -> None:
    """A run left pending gets its thread; one whose thread died is marked failed."""
    if record is None:
        return
    if record.status == ImportStatus.PENDING:
        _start(record.id)
    import_jobs.notice_stopped(db.session, record, now())


def _page(state: FormState, status: int = 200):
    record = _record()
    html = render_template("imports/imports.html", form=state, columns=COLUMNS, required=REQUIRED,
                           max_rows=import_files.MAX_ROWS, **_view(record))
    return html, status


@bp.get("/imports")
@roles(*STAFF)
def imports_page():
    """The upload form, and the latest upload's progress or report."""
    record = _record()
    _look(record)
    answer = _page(FormState({"form_id": new_form_id()}))
    audit.commit(db.session, "read", "discharge_import", record.id if record else None, now())
    return answer


@bp.get("/imports/status")
@roles(*STAFF)
def import_status():
    """The status part alone, for htmx to poll while the rows are processed."""
    record = _record()
    _look(record)
    html = render_template("imports/_status.html", **_view(record))
    audit.commit(db.session, "read", "discharge_import", record.id if record else None, now())
    return html


@bp.get("/imports/report.csv")
@roles(*STAFF)
def import_report_csv():
    """The latest upload's per-row report as CSV (row, result, column, rule: never a value)."""
    record = _record()
    rows = [{"row": o.row, "result": o.result, "column": o.column, "rule": o.rule}
            for o in (import_jobs.report_of(record) if record else [])]
    body = to_csv(("row", "result", "column", "rule"), rows)
    audit.commit(db.session, "export", "discharge_import", record.id if record else None, now())
    return Response(body, mimetype="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="import-report.csv"'})


@bp.post("/imports")
@roles(*STAFF)
def imports_upload():
    """Keep the chosen file (or take the checked one again) and start its run."""
    state = FormState(request.form)
    upload = request.files.get("file")
    check_only = state.get("check_only") == "on"

    def act(clock):
        if upload is not None and upload.filename:
            data = upload.read(import_files.MAX_BYTES + 1)
            record = import_jobs.upload(db.session, data, clock, user().id, check_only=check_only)
        else:
            record = import_jobs.again(db.session, staff_session.get(KEY), user().id, check_only=check_only)
        ident = record.id
        return Done(url_for("web.imports_page"), ("check" if check_only else "import", "discharge_import", ident),
                    answer=lambda: _begin(ident))

    return submit(state, act, _page, once_only=True)


def _begin(import_id: int):
    staff_session[KEY] = import_id
    _start(import_id)
    return go(url_for("web.imports_page"))


def _start(import_id: int) -> None:
    """Run the import in a thread of this process (the run claims it: a second start does nothing)."""
    app = current_app._get_current_object()
    threading.Thread(target=_work, args=(app, import_id), name=f"import-{import_id}", daemon=True).start()


def _work(app, import_id: int) -> None:
    with app.app_context():
        try:
            import_jobs.process(db.session, import_id, clock=now, settings=settings.current())
        finally:
            db.session.remove()

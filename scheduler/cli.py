"""flask commands: users, demo, reminders, import, worker, serve, status, backup, restore."""
from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext

from scheduler.core import audit, auth, settings
from scheduler.core.clock import now as _now
from scheduler.errors import DomainError
from scheduler.extensions import db
from scheduler.models import Role, User
from scheduler.scheduling import therapists

users = AppGroup("users", help="Staff users and API tokens.")


def _user(email: str) -> User:
    user = auth.find_user(db.session, email)
    if user is None:
        raise click.ClickException("no user with that email")
    return user


@users.command("create")
@click.option("--email", required=True)
@click.option("--role", required=True, type=click.Choice([role.value for role in Role]))
@click.option("--password", default=None, help="for the staff pages; omit for API-only users")
@click.option("--name", default=None, help="the person's name for the staff list; a therapist with no record "
                                           "yet gets one with this name, in CLINIC_TIMEZONE")
def create_user(email: str, role: str, password: str | None, name: str | None) -> None:
    """Create a staff user (a therapist user is linked to the therapist with that email)."""
    try:
        therapist_id = None
        if role == Role.THERAPIST and name:
            therapist, _ = therapists.for_new_user(db.session, auth.checked_email(email), auth.checked_name(name),
                                                   current_app.config["CLINIC_TIMEZONE"], _now())
            therapist_id = therapist.id
        user = auth.create_user(db.session, email, role, _now(), password=password, therapist_id=therapist_id,
                                name=name)
        audit.commit(db.session, "create", "user", user.id, _now(), route="cli users create")
    except DomainError as exc:
        db.session.rollback()
        raise click.ClickException(exc.message) from None
    click.echo(f"created {user.role} {user.email}")


@users.command("token")
@click.option("--email", required=True)
@click.option("--days", default=auth.TOKEN_DAYS, show_default=True, type=click.IntRange(1, auth.MAX_TOKEN_DAYS),
              help="how long the token works")
def create_token(email: str, days: int) -> None:
    """Print one new API bearer token for that user, valid DAYS days (only its hash is stored)."""
    user = _user(email)
    if not user.active:
        raise click.ClickException("that user is deactivated")
    token = auth.issue_token(db.session, user, _now(), days)
    audit.commit(db.session, "create", "api_token", user.id, _now(), route="cli users token")
    click.echo(token)


@users.command("revoke")
@click.option("--email", required=True)
def revoke_tokens(email: str) -> None:
    """End every API token of that user at once."""
    user = _user(email)
    revoked = auth.revoke_tokens(db.session, user, _now())
    audit.commit(db.session, "revoke", "api_token", user.id, _now(), route="cli users revoke")
    click.echo(f"revoked {len(revoked)} API tokens of {user.email}")


@users.command("feed")
@click.option("--email", required=True)
@click.option("--revoke", is_flag=True, help="end the feed link instead of making a new one")
def feed_link(email: str, revoke: bool) -> None:
    """Print a therapist's new private calendar-feed URL (the old one stops working), or revoke it."""
    from scheduler.scheduling import feeds

    user = _user(email)
    if user.therapist_id is None:
        raise click.ClickException("that user is not a therapist")
    if revoke:
        ended = feeds.revoke(db.session, user.therapist_id, _now())
        audit.commit(db.session, "revoke", "feed", user.therapist_id, _now(), route="cli users feed")
        click.echo("feed link revoked" if ended else "there was no feed link")
        return
    try:
        url = feeds.create(db.session, user.therapist_id, settings.current(), _now(), None)
    except DomainError as exc:
        db.session.rollback()
        raise click.ClickException(exc.message) from None
    audit.commit(db.session, "create", "feed", user.therapist_id, _now(), route="cli users feed")
    click.echo(url)


@users.command("deactivate")
@click.option("--email", required=True)
def deactivate_user(email: str) -> None:
    """The user can no longer sign in or use the API: every token and session ends now."""
    user = _user(email)
    revoked = auth.deactivate(db.session, user, _now())
    audit.commit(db.session, "deactivate", "user", user.id, _now(), route="cli users deactivate")
    click.echo(f"deactivated {user.email}: {len(revoked)} API tokens revoked, sessions ended")


@click.command("demo")
@with_appcontext
def demo_command() -> None:
    """Fill an EMPTY database with a demo clinic and print its logins."""
    from scheduler import demo

    try:
        result = demo.seed(db.session, _now(), settings.current())
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        raise click.ClickException(exc.message) from None
    counts = result.counts
    click.echo(f"Demo clinic ready: {counts['therapists']} therapists, {counts['patients']} patients, "
               f"{counts['appointments']} appointments in the coming week, {counts['awaiting_attendance']} past ones "
               f"awaiting attendance, one weekly group with a waitlist, {counts['replies']} patients' replies.")
    click.echo("Logins (shown once; only password hashes are stored):")
    for role, email, password in result.logins:
        click.echo(f"  {role:<12} {email:<32} {password}")
    click.echo(f"API token for admin@demo.clinic: {result.admin_token}")


reminders = AppGroup("reminders", help="Text reminders and notices.")


@reminders.command("dispatch")
def dispatch_command() -> None:
    """One pass: plan missing reminders, send every text due now, print counts (no patient data).

    "Now" is the database server's clock, as for the worker (dispatch.run_once).
    """
    from scheduler.messaging import dispatch, sms

    backend = sms.make_backend(settings.current().sms)
    counts = dispatch.run_once(db.session, None, backend, settings=settings.current())
    click.echo("dispatch: " + " ".join(f"{k}={v}" for k, v in counts.items()))


@click.command("followups")
@with_appcontext
def followups_command() -> None:
    """One pass of the aftercare follow-up checks (the worker runs it every 15 minutes); prints counts."""
    from scheduler import jobs

    counts = jobs.aftercare_followups(db.session, _now())
    click.echo("followups: " + " ".join(f"{k}={v}" for k, v in counts.items()))


@click.command("worker")
@with_appcontext
def worker_command() -> None:
    """Run the worker (dispatch loop, group horizon, follow-ups, housekeeping) until stopped."""
    from flask import current_app

    from scheduler import jobs

    jobs.run_worker(current_app._get_current_object())


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="the web app's address")
@click.option("--port", default=5000, show_default=True, type=click.IntRange(1, 65535), help="the web app's port")
def serve_command(host: str, port: int) -> None:
    """Run the web app and a worker beside it as two processes; one Ctrl-C stops both."""
    from flask.cli import ScriptInfo

    from scheduler.ops import launch

    app_path = click.get_current_context().find_object(ScriptInfo).app_import_path or "wsgi"
    click.echo(f"Aftercare Scheduler: sign in at http://{host}:{port}/login; the worker beside it sends the "
               "texts and raises the tasks. Ctrl-C stops both.")
    raise SystemExit(launch.run(launch.commands(app_path, host, port),
                                say=lambda line: click.echo(f"serve: {line}")))


@click.command("status")
@with_appcontext
def status_command() -> None:
    """Database, workers alive, texts due; exit 1 when texts are due and no worker beats."""
    from scheduler.ops import status

    try:
        report = status.status(db.session, _now())
    except Exception as exc:  # the database itself is what failed: say so, exit non-zero
        click.echo(f"database: unreachable ({type(exc).__name__})")
        raise SystemExit(1) from None
    for line in status.describe(report):
        click.echo(line)
    if report["stalled"]:
        raise SystemExit(1)


@click.command("backup")
@click.argument("file", type=click.Path(dir_okay=False, writable=True))
@with_appcontext
def backup_command(file: str) -> None:
    """Write a consistent copy of the database to FILE (readable by its owner alone)."""
    from scheduler.ops import backup

    try:
        backup.backup(db.engine, file)
    except DomainError as exc:
        raise click.ClickException(exc.message) from None
    audit.commit(db.session, "backup", "database", None, _now(), route="cli backup")
    click.echo(f"backup written to {file}")


@click.command("restore")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@with_appcontext
def restore_command(file: str) -> None:
    """Restore FILE into an EMPTY database; texts due before now are marked skipped (stale)."""
    from scheduler.ops import backup

    db.session.remove()
    try:
        stale = backup.restore(db.engine, file, _now())
    except DomainError as exc:
        raise click.ClickException(exc.message) from None
    audit.commit(db.session, "restore", "database", None, _now(), route="cli restore")
    click.echo(f"restored from {file}; {stale} texts that were due before now marked skipped (stale). "
               "Run `flask --app wsgi db upgrade` if the backup is from an older release.")


importer = AppGroup("import", help="Import records from another system.")


@importer.command("discharges")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--dry-run", is_flag=True, help="check every row and print the report; write nothing")
def import_discharges(file: str, dry_run: bool) -> None:
    """Import discharges (and their patients) from a CSV file; prints one line per row, never a value.

    Exit 0 when it ran (even with refused rows), 2 when the file could not be read, 1 when the
    database refused the import (then nothing was saved).
    """
    from sqlalchemy.exc import SQLAlchemyError

    from scheduler.aftercare import import_files, import_jobs, imports

    try:
        with open(file, "rb") as handle:
            data = handle.read(import_files.MAX_BYTES + 1)
        outcomes = import_jobs.import_file(db.session, data, _now(), settings=settings.current(),
                                           route="cli import discharges", dry_run=dry_run)
    except OSError as exc:
        click.echo(f"file refused: it could not be read ({exc.strerror or type(exc).__name__})", err=True)
        raise SystemExit(2) from None
    except import_files.FileRefused as exc:
        click.echo(f"file refused: {exc.message}; nothing was imported", err=True)
        raise SystemExit(2) from None
    except SQLAlchemyError as exc:
        click.echo(f"database error ({type(exc).__name__}): the import was rolled back; nothing was saved",
                   err=True)
        raise SystemExit(1) from None
    for outcome in outcomes:
        click.echo(outcome.line())
    click.echo(imports.summary(outcomes) + (" (dry run: nothing was written)" if dry_run else ""))


def register(app: Flask) -> None:
    """Attach every command group to the app."""
    app.cli.add_command(users)
    app.cli.add_command(demo_command)
    app.cli.add_command(reminders)
    app.cli.add_command(importer)
    app.cli.add_command(worker_command)
    app.cli.add_command(serve_command)
    app.cli.add_command(status_command)
    app.cli.add_command(backup_command)
    app.cli.add_command(restore_command)
    app.cli.add_command(followups_command)

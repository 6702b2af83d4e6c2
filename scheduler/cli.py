"""flask commands: users, demo, reminders, worker."""
from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup, with_appcontext

from scheduler.core import audit, auth, settings
from scheduler.core.clock import now as _now
from scheduler.errors import DomainError
from scheduler.extensions import db
from scheduler.models import User

users = AppGroup("users", help="Staff users and API tokens.")


def _user(email: str) -> User:
    user = auth.find_user(db.session, email)
    if user is None:
        raise click.ClickException("no user with that email")
    return user


@users.command("create")
@click.option("--email", required=True)
@click.option("--role", required=True, type=click.Choice(["admin", "coordinator", "therapist"]))
@click.option("--password", default=None, help="for the staff pages; omit for API-only users")
def create_user(email: str, role: str, password: str | None) -> None:
    """Create a staff user (a therapist user is linked to the therapist with that email)."""
    try:
        user = auth.create_user(db.session, email, role, _now(), password=password)
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
               f"{counts['appointments']} appointments in the coming week, one weekly group with a waitlist.")
    click.echo("Logins (shown once; only password hashes are stored):")
    for role, email, password in result.logins:
        click.echo(f"  {role:<12} {email:<32} {password}")
    click.echo(f"API token for admin@demo.clinic: {result.admin_token}")


reminders = AppGroup("reminders", help="Text reminders and notices.")


@reminders.command("dispatch")
def dispatch_command() -> None:
    """One pass: plan missing reminders, send every text due now, print counts (no patient data)."""
    from flask import current_app

    from scheduler.messaging import dispatch, sms

    backend = sms.make_backend(current_app.config)
    counts = dispatch.run_once(db.session, _now, backend, settings=settings.current())
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


def register(app: Flask) -> None:
    """Attach every command group to the app."""
    app.cli.add_command(users)
    app.cli.add_command(demo_command)
    app.cli.add_command(reminders)
    app.cli.add_command(worker_command)
    app.cli.add_command(followups_command)

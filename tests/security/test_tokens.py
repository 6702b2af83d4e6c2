"""API tokens expire and are revoked at once; a deactivated user's tokens and sessions end; guessing is slowed."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from scheduler.core import auth, clock
from scheduler.extensions import db
from scheduler.models import ApiToken, AuditEvent, User
from tests.support import Api


def cli(runner, *args) -> str:
    result = runner.invoke(args=list(args))
    assert result.exit_code == 0, result.output
    return result.output.strip()


def test_token_days_and_expiry(app, client, runner):
    cli(runner, "users", "create", "--email", "a@x.test", "--role", "admin")
    token = cli(runner, "users", "token", "--email", "a@x.test", "--days", "2")
    assert Api(client, token, 0).get("/reports/follow-up?from=2026-01-01&to=2026-01-31").status_code == 200
    with app.app_context():
        [row] = db.session.scalars(select(ApiToken)).all()
        assert timedelta(days=2) - timedelta(minutes=1) < row.expires_at - row.created_at <= timedelta(days=2)
        assert auth.user_for_token(db.session, token, clock.now() + timedelta(days=2, seconds=1)) is None
        row.expires_at = clock.now() - timedelta(seconds=1)
        db.session.commit()
    assert Api(client, token, 0).get("/reports/follow-up?from=2026-01-01&to=2026-01-31").status_code == 401
    default = cli(runner, "users", "token", "--email", "a@x.test")
    with app.app_context():
        row = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == auth.hash_token(default)))
        assert (row.expires_at - row.created_at).days == 90
    assert runner.invoke(args=["users", "token", "--email", "a@x.test", "--days", "0"]).exit_code != 0


def test_revoke_ends_every_token_at_once(app, client, runner):
    cli(runner, "users", "create", "--email", "c@x.test", "--role", "coordinator")
    tokens = [cli(runner, "users", "token", "--email", "c@x.test") for _ in range(3)]
    assert "revoked 3 API tokens" in cli(runner, "users", "revoke", "--email", "c@x.test")
    for token in tokens:
        assert Api(client, token, 0).get("/groups/1").status_code == 401
    fresh = cli(runner, "users", "token", "--email", "c@x.test")
    assert Api(client, fresh, 0).get("/groups/1").status_code == 404


def test_deactivation_ends_tokens_and_sessions(app, client, runner):
    cli(runner, "users", "create", "--email", "d@x.test", "--role", "admin")
    token = cli(runner, "users", "token", "--email", "d@x.test")
    with app.app_context():
        user = auth.find_user(db.session, "d@x.test")
        session_value = auth.session_id(user)
        assert auth.user_for_session(db.session, session_value) is user
    cli(runner, "users", "deactivate", "--email", "d@x.test")
    assert Api(client, token, 0).get("/groups/1").status_code == 401
    with app.app_context():
        assert auth.user_for_session(db.session, session_value) is None
        assert not db.session.scalar(select(User)).active
    assert runner.invoke(args=["users", "token", "--email", "d@x.test"]).exit_code != 0


def test_cli_user_and_token_changes_are_audited(app, runner):
    cli(runner, "users", "create", "--email", "e@x.test", "--role", "admin")
    cli(runner, "users", "token", "--email", "e@x.test")
    cli(runner, "users", "revoke", "--email", "e@x.test")
    cli(runner, "users", "deactivate", "--email", "e@x.test")
    with app.app_context():
        rows = db.session.execute(select(AuditEvent.action, AuditEvent.entity, AuditEvent.route)
                                  .order_by(AuditEvent.id)).all()
    assert rows == [("create", "user", "cli users create"), ("create", "api_token", "cli users token"),
                    ("revoke", "api_token", "cli users revoke"), ("deactivate", "user", "cli users deactivate")]


def test_session_ids_that_do_not_name_a_current_session_are_refused(app, ctx):
    user = auth.create_user(ctx, "f@x.test", "admin", clock.now())
    ctx.commit()
    for value in (None, "", "x", f"{user.id}", f"{user.id}:1", f"{user.id}:-0", f"{user.id + 1}:0"):
        assert auth.user_for_session(ctx, value) is None, value
    assert auth.user_for_session(ctx, f"{user.id}:0") is user


def test_failed_token_checks_are_limited_per_address_and_logged_without_the_token(
        make_app, caplog, probed):
    app = make_app(API_AUTH_FAILURE_LIMIT="5 per minute")
    client = app.test_client()
    guesses = [f"guess-{i}-secretish" for i in range(7)]
    codes = [client.get("/api/v1/groups/1", headers={"Authorization": f"Bearer {g}"},
                        environ_base={"REMOTE_ADDR": "10.0.0.7"}).status_code for g in guesses]
    assert codes == [401] * 5 + [429] * 2
    # Another address is not held back by the first one's failures.
    assert client.get("/api/v1/groups/1", environ_base={"REMOTE_ADDR": "10.0.0.8"}).status_code == 401
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "10.0.0.7" in text and not any(g in text for g in guesses)
    probed["token guesses"] += len(guesses)


def test_bad_tokens_from_an_address_never_lock_out_a_valid_token(app, client, make_api):
    """Behind a clinic's proxy every client shares one address: one client's bad token (or a
    guesser's many) is throttled, while the valid tokens of the others keep working."""
    good = make_api("coordinator")
    office = {"REMOTE_ADDR": "10.0.0.9"}

    def call(token: str) -> int:
        return client.get("/api/v1/groups/1", headers={"Authorization": f"Bearer {token}"},
                          environ_base=office).status_code

    repeated = [call("stale-token-from-a-script") for _ in range(25)]
    assert repeated[0] == 401 and repeated[-5:] == [429] * 5
    assert call(good.headers["Authorization"].removeprefix("Bearer ")) == 404  # 200s where it exists
    guesses = [call(f"guess-{i:03d}-secretish") for i in range(120)]
    assert guesses[0] == 401 and guesses[-5:] == [429] * 5  # the address's ceiling, for bad tokens only
    r = good.get("/reports/follow-up?from=2026-01-01&to=2026-01-31", environ_base=office)
    assert r.status_code == 200
    # No token at all guesses nothing: always the plain 401.
    assert client.get("/api/v1/groups/1", environ_base=office).status_code == 401

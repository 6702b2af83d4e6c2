"""Aftercare Scheduler: books sessions after detox and texts reminders so fewer are missed."""
from __future__ import annotations

import logging
import sys

from flask import Flask

from scheduler import headers


def create_app(test_config: dict | None = None) -> Flask:
    """Build the app: settings, extensions, blueprints, error handlers, commands."""
    app = Flask(__name__, instance_relative_config=True,
                template_folder="../templates", static_folder="../static")
    load_config(app, test_config)
    register_extensions(app)
    headers.init_app(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_commands(app)
    migrate_embedded_database(app)
    return app


def load_config(app: Flask, test_config: dict | None) -> None:
    """Settings from the environment (or the test's dict); a bad one stops start-up in one line."""
    from scheduler.config import ConfigError, load

    try:
        app.config.update(load(app.instance_path))
    except ConfigError as exc:
        # One clear line for the operator, not a traceback.
        print(f"configuration error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    if test_config:
        app.config.update(test_config)
    from scheduler.core import settings

    settings.init_app(app)  # after the last change to app.config: domain code sees only this
    # A restarted PostgreSQL costs no failed request: a connection its server closed is replaced
    # as the pool hands it out (extensions._still_open), without a ping on every request.
    # hide_parameters: a failed statement's error (and so the log) never quotes its values,
    # which are names, phone numbers and texts.
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {**app.config.get("SQLALCHEMY_ENGINE_OPTIONS", {}),
                                               "hide_parameters": True}
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)


def register_extensions(app: Flask) -> None:
    """Database, migrations, sign-in sessions, CSRF, rate limits, proxy headers."""
    from werkzeug.middleware.proxy_fix import ProxyFix

    from scheduler.extensions import csrf, db, limiter, login_manager, migrate

    db.init_app(app)
    migrate.init_app(app, db, directory=str(app.root_path + "/../migrations"))
    login_manager.init_app(app)
    csrf.init_app(app)
    # In-process counts unless RATELIMIT_STORAGE_URI names a shared store (see extensions.py).
    app.config.setdefault("RATELIMIT_STORAGE_URI", "memory://")
    limiter.init_app(app)
    proxies = int(app.config.get("TRUSTED_PROXIES") or 0)
    if proxies:
        # The client's address (sign-in throttling), scheme (Secure cookie, HSTS) and host as the
        # nearest `proxies` proxies report them; with 0 a forged X-Forwarded-* header is ignored.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)


def register_blueprints(app: Flask) -> None:
    """The JSON API, the Twilio webhooks, the staff pages and the health check."""
    from scheduler import api, feeds, web, webhooks
    from scheduler.extensions import csrf, db

    # Bearer tokens and Twilio's signature authenticate these; there is no cookie to forge.
    csrf.exempt(api.bp)
    csrf.exempt(webhooks.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(webhooks.bp)
    app.register_blueprint(feeds.bp)  # calendar apps: the link's secret is the key, no cookie, no form
    web.init_app(app)
    app.register_blueprint(web.bp)

    @app.get("/healthz")
    def healthz():
        """For a load balancer: the database answers (nothing about workers, nothing more)."""
        from scheduler.ops import status

        body, ok = status.health(db.session)
        return body, 200 if ok else 503


def register_errorhandlers(app: Flask) -> None:
    """API clients get JSON even for routes that do not exist; people get a page."""
    from flask import jsonify, request
    from werkzeug.exceptions import HTTPException

    from scheduler.web import error_page

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        if request.path.startswith(("/api/", "/sms/")):
            # A 405 keeps its Allow header (RFC 9110): only the body becomes JSON.
            allow = {k: v for k, v in exc.get_headers() if k == "Allow"}
            return jsonify(error=exc.name), exc.code, allow
        return error_page(exc)


def register_commands(app: Flask) -> None:
    """flask users / demo / reminders / worker."""
    from scheduler import cli

    cli.register(app)


def migrate_embedded_database(app: Flask) -> None:
    """On the embedded SQLite default the schema follows the code on every start."""
    if app.config.get("TESTING") or not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        return
    from flask_migrate import upgrade

    with app.app_context():
        upgrade()

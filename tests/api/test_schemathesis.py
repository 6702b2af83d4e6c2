"""Schemathesis, from outside: the served document against a live app with the demo clinic.

Every check runs (`--checks all`: schema-valid data accepted, invalid and missing data,
headers and auth refused, answers match their schemas, documented status codes, ...) with a
bounded number of examples per operation, on SQLite and on PostgreSQL. The 404, 409 and 422 the
contract gives are acceptable answers to schema-valid data (a 422 only for a rule the document
names as checked in code: tests/support/schemathesis_hooks.py). The app runs as deployed with its
rate limiter on: the fuzzer's bad tokens must never lock its valid one out.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from scheduler import demo
from scheduler.core import settings
from scheduler.extensions import db

pytestmark = pytest.mark.slow
HERE = Path(__file__).parent
EXAMPLES = 15  # per operation and phase: about 2,600 cases, a minute or two per engine


@pytest.fixture
def live(make_app):
    """The app served on a free port, filled with the demo clinic; yields (base URL, admin token).

    The limiter stays on; only its ceilings for failed token checks are raised, since the fuzzer is
    one client sending thousands of deliberately bad tokens, whose throttling (a 429 where
    Schemathesis expects a 401) is tests/security/test_tokens.py's to prove.
    """
    app = make_app(RATELIMIT_ENABLED=True, API_AUTH_TOKEN_FAILURE_LIMIT="100000 per minute",
                   API_AUTH_FAILURE_LIMIT="100000 per minute")
    with app.app_context():
        token = demo.seed(db.session, datetime.now(UTC), settings.current()).admin_token
        db.session.commit()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/api/v1", token
    server.shutdown()
    thread.join()


def test_schemathesis_finds_nothing(live, tmp_path):
    base, token = live
    env = {**os.environ, "SCHEMATHESIS_HOOKS": "tests.support.schemathesis_hooks",
           "PYTHONPATH": str(HERE.parent.parent)}
    run = subprocess.run(
        [sys.executable, "-m", "schemathesis.cli", "--config-file", str(HERE / "schemathesis.toml"),
         "--no-color", "run", f"{base}/openapi.json", "--url", base,
         "-H", f"Authorization: Bearer {token}", "--checks", "all", "--max-examples", str(EXAMPLES),
         "--seed", "20260302", "--workers", "1", "--report-dir", str(tmp_path)],
        capture_output=True, text=True, timeout=600, env=env, cwd=tmp_path)
    assert run.returncode == 0, run.stdout[-20000:] + run.stderr[-3000:]
    cases = re.search(r"(\d+) generated", run.stdout)
    assert cases and int(cases.group(1)) > 1000, run.stdout[-3000:]  # it really ran
    print(run.stdout[run.stdout.rfind("SUMMARY"):])  # cases and warnings, seen with -s

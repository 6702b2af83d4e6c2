"""`flask --app wsgi serve`: the web app and a worker started as two processes and stopped as one."""
from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import sqlalchemy as sa

from scheduler.ops import launch

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as answer:
            return answer.status == 200
    except OSError:
        return False


def _heartbeats(url: str) -> int:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(sa.text("SELECT count(*) FROM workers")).scalar_one()
    finally:
        engine.dispose()


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_serve_runs_the_web_app_and_a_worker_and_one_sigint_stops_both(sqlite_template, tmp_path):
    path = tmp_path / "serve.sqlite3"
    shutil.copy(sqlite_template, path)
    url, port, log = f"sqlite:///{path}", _free_port(), tmp_path / "serve.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TWILIO_", "FLASK_", "DEMO_"))}
    env.update(DATABASE_URL=url, SECRET_KEY="test", SMS_BACKEND="console", PYTHONUNBUFFERED="1")
    with log.open("w") as out:
        serve = subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "serve", "--port", str(port)],
                                 cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        # "worker: started" is logged once its stop handlers are in place: a SIGINT before that is
        # a Ctrl-C during start-up, which click answers with "Aborted!" and exit 1.
        deadline = time.monotonic() + 120
        while not (_healthy(port) and _heartbeats(url) and "worker: started" in log.read_text()) \
                and time.monotonic() < deadline:
            assert serve.poll() is None, log.read_text()
            time.sleep(0.25)
        assert _healthy(port) and _heartbeats(url) == 1, log.read_text()
        text = log.read_text()
        assert f"sign in at http://127.0.0.1:{port}/login" in text
        pids = {name: int(pid) for name, pid in re.findall(r"started the (web app|worker) \(pid (\d+)\)", text)}
        assert set(pids) == {"web app", "worker"}, text

        serve.send_signal(signal.SIGINT)
        assert serve.wait(timeout=60) == 0, log.read_text()
    finally:
        if serve.poll() is None:
            serve.kill()
    text = log.read_text()
    assert "SIGINT: stopping the web app and the worker" in text and "worker: stopped" in text
    assert all(_gone(pid) for pid in pids.values()), text
    assert not _healthy(port)


def _child(name: str, code: str) -> launch.Child:
    return launch.Child(name, [sys.executable, "-c", code])


def test_when_one_process_ends_the_other_is_stopped_and_the_launcher_says_which():
    said = []
    children = [_child("web app", "import time; time.sleep(60)"), _child("worker", "import time; time.sleep(1.5); raise SystemExit(3)")]
    assert launch.run(children, say=said.append, poll=0.05) == 1
    assert "the worker exited with code 3: stopping the web app too" in said
    assert children[0].process.returncode == -signal.SIGINT  # asked once, and it stopped
    assert said[-1] == "stopped"


def test_a_process_that_ignores_the_stop_is_killed_after_the_grace_period():
    said = []
    stubborn = "import signal, time; signal.signal(signal.SIGINT, signal.SIG_IGN); time.sleep(60)"
    children = [_child("web app", stubborn), _child("worker", "import time; time.sleep(2); raise SystemExit(1)")]
    started = time.monotonic()
    assert launch.run(children, say=said.append, grace=0.5, poll=0.05) == 1
    assert time.monotonic() - started < 30
    assert children[0].process.returncode == -signal.SIGKILL
    assert "the web app did not stop within 0.5 s: killing it" in said

"""`flask --app wsgi serve`: the web app and a worker as two child processes, started and stopped as one.

The scheduler never runs inside the app factory (under gunicorn it would run once per web
process); the worker is its own process, as in production. This only saves a laptop user a
second terminal:
- one Ctrl-C (SIGINT), SIGTERM or SIGHUP stops both: each child gets one SIGINT and a grace
  period, then SIGKILL;
- when either child ends on its own, the other is stopped too, with a line saying which ended
  and how, so nobody keeps using a web app whose texts no longer go out.
Each child runs in a process group of its own, so a terminal's Ctrl-C reaches the launcher
alone and each child is asked to stop exactly once; on Linux a child also gets SIGTERM if the
launcher itself is killed, so no orphan keeps the port.
"""
from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

GRACE_SECONDS = 10.0
POLL_SECONDS = 0.2
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
_PR_SET_PDEATHSIG = 1


@dataclass
class Child:
    """One process the launcher runs: its name for people, its command, and the process."""

    name: str
    argv: list[str]
    process: subprocess.Popen | None = None


def commands(app_path: str, host: str, port: int) -> list[Child]:
    """The web app (`flask run`, unchanged) and the worker, as the same app import path."""
    flask = [sys.executable, "-m", "flask", "--app", app_path]
    return [Child("web app", [*flask, "run", "--host", host, "--port", str(port)]),
            Child("worker", [*flask, "worker"])]


def _detach_and_tie() -> None:
    """In the child before exec: its own process group, and SIGTERM when the launcher dies (Linux)."""
    os.setpgid(0, 0)
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        except (OSError, AttributeError):
            pass  # no prctl: the launcher's own stop path still ends the child


def _describe(code: int) -> str:
    if code < 0:
        return f"was killed by {signal.Signals(-code).name}"
    return f"exited with code {code}"


def _stop(children: list[Child], say: Callable[[str], None], grace: float) -> None:
    """Ask every child still running to stop (one SIGINT each); SIGKILL whatever outlives `grace`."""
    running = [c for c in children if c.process is not None and c.process.poll() is None]
    for child in running:
        child.process.send_signal(signal.SIGINT)
    deadline = time.monotonic() + grace
    for child in running:
        try:
            child.process.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            say(f"the {child.name} did not stop within {grace:g} s: killing it")
            child.process.kill()
            child.process.wait()


def run(children: list[Child], say: Callable[[str], None] = print, grace: float = GRACE_SECONDS,
        poll: float = POLL_SECONDS) -> int:
    """Start every child, wait for a stop signal or for one to end, then stop the rest.

    Returns 0 after a requested stop in which every child ended cleanly; otherwise 1.
    """
    asked: list[int] = []
    previous = {sig: signal.signal(sig, lambda signum, _frame: asked.append(signum)) for sig in STOP_SIGNALS}
    try:
        for child in children:
            child.process = subprocess.Popen(child.argv, preexec_fn=_detach_and_tie)
            say(f"started the {child.name} (pid {child.process.pid})")
        ended: Child | None = None
        while not asked and ended is None:
            ended = next((c for c in children if c.process.poll() is not None), None)
            if ended is None:
                time.sleep(poll)
        if asked:
            say(f"{signal.Signals(asked[0]).name}: stopping the web app and the worker")
        else:
            others = " and ".join(f"the {c.name}" for c in children if c is not ended)
            say(f"the {ended.name} {_describe(ended.process.returncode)}: stopping {others} too")
        _stop(children, say, grace)
    finally:
        _stop(children, say, grace)  # an error in the launcher itself leaves no child behind
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    clean = all(c.process is not None and c.process.returncode == 0 for c in children)
    say("stopped")
    return 0 if asked and clean else 1

"""The chaos benchmark, short: workers killed while texts come due and Twilio fails or stalls.

A few hundred texts, three workers (one SIGKILLed and restarted every few seconds), the stand-in
failing 20% of sends with 500 and stalling 5%: no text twice, none lost, takeover within 30 s.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


def test_killed_workers_and_a_failing_twilio_lose_and_double_no_text(make_app, database_url):
    make_app()  # the test database, migrated (and wiped afterwards)
    done = subprocess.run([sys.executable, "bench/chaos.py", "--url", database_url, "--texts", "200",
                           "--spread", "8", "--kill-every", "3", "--deadline", "45", "--check"],
                          cwd=ROOT, capture_output=True, text=True, timeout=90)
    assert done.returncode == 0, done.stdout + done.stderr[-2000:]
    assert "duplicates 0  lost 0" in done.stdout

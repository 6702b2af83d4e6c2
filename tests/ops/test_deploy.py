"""The production layout of docs/DEPLOY.md, proved end to end: nginx with TLS, two gunicorns, three workers."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_the_deploy_script_brings_the_stack_up_and_its_smoke_run_passes(postgres_url):
    done = subprocess.run([sys.executable, "deploy/prove.py"], cwd=ROOT, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-5000:]
    assert "deploy proof passed" in done.stdout
    for check in ("session cookie is Secure", "booking text", "forged one got 403", "not the claimed",
                  "no feed token"):
        assert check in done.stdout, check

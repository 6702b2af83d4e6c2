"""The settings object domain functions are given: read once from the config, never changed."""
import dataclasses
import os
import subprocess
import sys
from datetime import time, timedelta
from pathlib import Path

import pytest

from scheduler import config
from scheduler.core.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def test_settings_come_from_the_config_and_are_frozen(tmp_path):
    env = {"REMINDER_OFFSETS": "2h,1d", "QUIET_HOURS": "21:30-07:00", "GROUP_HORIZON_WEEKS": "4",
           "PUBLIC_BASE_URL": "https://clinic.example.org/", "DISPATCH_LEASE_SECONDS": "30"}
    settings = Settings.from_config(config.load(str(tmp_path), env=env))
    assert settings.reminder_offsets == (timedelta(days=1), timedelta(hours=2))
    assert settings.quiet_hours == (time(21, 30), time(7, 0))
    assert (settings.group_horizon_weeks, settings.dispatch_lease_seconds) == (4, 30.0)
    assert settings.public_base_url == "https://clinic.example.org"
    assert settings.clinic_sms_name == "Northside Health"
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.quiet_hours = None
    assert Settings.from_config(config.load(str(tmp_path), env={"QUIET_HOURS": "off"})).quiet_hours is None


@pytest.mark.parametrize("name", ["Hope R3hab", "D-E-T-O-X Partners", "Adictos Anonimos", "AA Northside"])
def test_a_clinic_name_that_reveals_the_care_stops_the_app_in_one_line(tmp_path, name):
    """Issue 14 item 5: disguised and inflected forms too, not only the dictionary words."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("TWILIO_", "SMS_", "CLINIC_", "DATABASE_URL"))}
    clean.update({"SECRET_KEY": "test", "DATABASE_URL": f"sqlite:///{tmp_path}/x.sqlite3", "CLINIC_SMS_NAME": name})
    proc = subprocess.run([sys.executable, "-c", "from scheduler import create_app; create_app()"],
                          cwd=ROOT, env=clean, capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode != 0
    [line] = proc.stderr.strip().splitlines()
    assert "CLINIC_SMS_NAME" in line and "reveals the kind of care" in line


@pytest.mark.parametrize("name", ["Methodist Health", "Nashville Health", "Northside Health"])
def test_an_everyday_clinic_name_starts(tmp_path, name):
    assert config.load(str(tmp_path), env={"CLINIC_SMS_NAME": name})["CLINIC_SMS_NAME"] == name

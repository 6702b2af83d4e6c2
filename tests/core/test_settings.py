"""The settings object domain functions are given: read once from the config, never changed."""
import dataclasses
from datetime import time, timedelta

import pytest

from scheduler import config
from scheduler.core.settings import Settings


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

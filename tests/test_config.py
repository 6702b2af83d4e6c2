"""Number settings the texting path uses: anything not a sane finite number stops start-up in one line."""
from __future__ import annotations

import pytest

from scheduler import config
from scheduler.core.settings import current
from scheduler.extensions import db
from scheduler.messaging import dispatch, sms
from tests.support import NOW

FLOATS = ("SMS_TIMEOUT_SECONDS", "SMS_MAX_PER_SECOND", "DISPATCH_INTERVAL_SECONDS",
          "DISPATCH_LEASE_SECONDS", "SMS_RETRY_SECONDS")
BAD = ("nan", "NaN", "inf", "-inf", "infinity", "1e400", "1e308", "0", "-1", "ten", "")


@pytest.mark.parametrize("name", FLOATS)
@pytest.mark.parametrize("value", BAD)
def test_a_float_setting_that_is_not_a_sane_number_stops_start_up(tmp_path, name, value):
    with pytest.raises(config.ConfigError) as raised:
        config.load(str(tmp_path), env={name: value})
    message = str(raised.value)
    assert message.startswith(f"{name}: ") and "\n" not in message


@pytest.mark.parametrize("name", ("DISPATCH_BATCH_SIZE", "GROUP_HORIZON_WEEKS"))
@pytest.mark.parametrize("value", ("nan", "inf", "1e3", "99999999999999999999", "0"))
def test_an_integer_setting_out_of_range_stops_start_up(tmp_path, name, value):
    with pytest.raises(config.ConfigError) as raised:
        config.load(str(tmp_path), env={name: value})
    assert str(raised.value).startswith(f"{name}: ")


def test_the_largest_accepted_values_run_a_dispatch_pass(make_app, tmp_path):
    """Whatever start-up accepts, dispatch can compute with (no OverflowError, no nan pacing)."""
    env = {name: str(config.LIMITS[name][1]) for name in FLOATS}
    env.update(DISPATCH_BATCH_SIZE=str(config.LIMITS["DISPATCH_BATCH_SIZE"][1]))
    cfg = config.load(str(tmp_path), env=env)
    app = make_app(**{k: cfg[k] for k in (*FLOATS, "DISPATCH_BATCH_SIZE")})
    with app.app_context():
        counts = dispatch.run_once(db.session, lambda: NOW, sms.make_backend(current().sms), settings=current())
    assert counts["claimed"] == 0

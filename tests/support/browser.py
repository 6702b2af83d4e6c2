"""Browser helpers: where Chromium and axe-core are, the accessibility check, screenshots."""
from __future__ import annotations

import os
from functools import cache
from pathlib import Path

CHROMIUM = os.environ.get("CHROMIUM", "/usr/lib/chromium/chromium")
ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "tests" / "web" / "vendor" / "axe-4.14.1.min.js"  # npm axe-core 4.14.1, unmodified
# Key screenshots are kept in docs/; refresh them with UPDATE_SCREENSHOTS=1.
SCREENSHOTS = ROOT / "docs" / "screenshots"


@cache
def _axe_source() -> str:
    return "() => {\n" + AXE.read_text() + "\n}"


def assert_accessible(page, context: str = "") -> None:
    """axe-core on the page as it is now: no serious or critical WCAG 2.1 A/AA violation."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        # Evaluated through DevTools, not added as a <script>: the page's CSP refuses inline scripts.
        page.evaluate(_axe_source())
    result = page.evaluate("""() => axe.run(document, {runOnly: {type: 'tag',
        values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})""")
    bad = [v for v in result["violations"] if v["impact"] in ("serious", "critical")]
    assert not bad, f"{context or page.url}: " + "; ".join(
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes'][:3]]}" for v in bad)


def screenshot(page, name: str, tmp_path: Path | None = None) -> Path:
    """Save a full-page screenshot: into docs/screenshots with UPDATE_SCREENSHOTS=1, else tmp."""
    folder = SCREENSHOTS if os.environ.get("UPDATE_SCREENSHOTS") else (tmp_path or Path("/tmp")) / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def dana_and_two_patients(session, now):
    """The browser tests' clinic: Dana Reyes (Mon-Fri 9-5, New York) with Alex Morgan and Jordan
    Price on her care team (a coordinator put them there; a booking alone grants a therapist nothing)."""
    from datetime import time

    from scheduler.models import AvailabilityRule, Patient, Therapist
    from scheduler.scheduling import care_teams
    from tests.support import NOW

    therapist = Therapist(name="Dana Reyes", email="dana@clinic.test", timezone="America/New_York", created_at=NOW)
    therapist.rules = [AvailabilityRule(weekday=day, start_time=time(9), end_time=time(17)) for day in range(5)]
    people = [Patient(name=name, phone=phone, timezone="America/New_York", language="en",
                      sms_consent=True, consent_at=NOW, consent_source="test", created_at=NOW)
              for name, phone in (("Alex Morgan", "+12015550101"), ("Jordan Price", "+12015550102"))]
    session.add_all([therapist, *people])
    session.commit()
    for person in people:
        care_teams.add(session, person.id, [therapist.id], now, None)
    return therapist, people

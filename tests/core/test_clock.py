"""The one clock: what views and commands stamp is what the frozen clock says."""
from datetime import timedelta

from scheduler.core import clock
from scheduler.extensions import db
from scheduler.models import AuditEvent, Patient
from tests.support import NOW


def test_frozen_clock_pins_the_edges(app, api, frozen_clock):
    assert clock.now() == NOW
    created = api.post("/patients", json={"name": "Ana", "phone": "+12015550999",
                                          "timezone": "America/New_York", "sms_consent": True})
    assert created.status_code == 201, created.get_json()
    frozen_clock.move_to(NOW + timedelta(hours=1), tick=False)
    assert api.get(f"/patients/{created.get_json()['id']}").status_code == 200
    with app.app_context():
        assert db.session.get(Patient, created.get_json()["id"]).created_at == NOW
        stamps = db.session.scalars(db.select(AuditEvent.at).order_by(AuditEvent.id)).all()
    assert stamps[-2:] == [NOW, NOW + timedelta(hours=1)]

"""Aftercare fixtures: a clinic whose records are written straight to the database."""
from __future__ import annotations

from datetime import timedelta

import pytest

from scheduler.core import timeutil
from scheduler.models import (
    Appointment,
    Attendance,
    CareTeamMember,
    Discharge,
    Enrollment,
    GroupSeries,
    Occurrence,
)
from tests.support import NOW
from tests.support.aftercare import NY


@pytest.fixture
def clinic(ctx, make_therapist, make_patient):
    """Callable builders for discharges, appointments, group seats and care teams."""

    class Clinic:
        therapist = make_therapist()

        def patient(self, tz=NY, **kw) -> int:
            return make_patient(tz=tz, **kw)

        def discharge(self, pid, day, plan_days=90, individual=1, groups=1, **kw) -> int:
            d = Discharge(patient_id=pid, discharge_date=day, plan_days=plan_days,
                          individual_per_week=individual, groups_per_week=groups, **kw)
            ctx.add(d)
            ctx.flush()
            ident = d.id  # read before the commit: a read after it would open a transaction
            ctx.commit()
            return ident

        def appointment(self, pid, start, status="attended", therapist=None, minutes=50) -> int:
            a = Appointment(therapist_id=therapist or self.therapist, patient_id=pid, start_dt=start,
                            end_dt=start + timedelta(minutes=minutes), status=status, version=1,
                            created_at=NOW, updated_at=NOW)
            ctx.add(a)
            ctx.flush()
            ident = a.id
            ctx.commit()
            return ident

        def group(self, start, capacity=8, facilitator=None, members=(), weeks=1, tz=NY) -> tuple[int, list[int]]:
            """A weekly group of `weeks` meetings from `start`; returns its id and its occurrences' ids."""
            local_start = start.astimezone(timeutil.zone(tz)).replace(tzinfo=None)
            g = GroupSeries(title="Evening", facilitator_id=facilitator or self.therapist, capacity=capacity,
                            duration_minutes=60, timezone=tz, local_start=local_start,
                            rrule=f"FREQ=WEEKLY;COUNT={weeks}", created_at=NOW)
            ctx.add(g)
            ctx.flush()
            group_id, occs = g.id, []
            for week in range(weeks):
                wall = local_start + timedelta(weeks=week)
                begins = timeutil.localize(wall, tz).astimezone(timeutil.UTC)
                o = Occurrence(group_id=g.id, local_date=wall.date(), start_dt=begins,
                               end_dt=begins + timedelta(hours=1), cancelled=False)
                ctx.add(o)
                ctx.flush()
                occs.append(o.id)
            for pid in members:
                ctx.add(Enrollment(group_id=g.id, patient_id=pid, status="enrolled",
                                   created_at=start - timedelta(days=30), enrolled_at=start - timedelta(days=30)))
            ctx.commit()
            return group_id, occs

        def seat(self, occurrence_id, pid, status) -> None:
            ctx.add(Attendance(occurrence_id=occurrence_id, patient_id=pid, status=status, recorded_at=NOW))
            ctx.commit()

        def care_team(self, pid, therapist_id) -> None:
            ctx.add(CareTeamMember(patient_id=pid, therapist_id=therapist_id, added_at=NOW))
            ctx.commit()

    return Clinic()

"""Payloads only a staff page posts (the API has no such request): read with the same field types."""
from __future__ import annotations

from scheduler.scheduling.limits import MAX_GROUP_CAPACITY, MAX_MEETINGS, MAX_REPLY_CHARACTERS
from scheduler.schemas.common import Id, LocalDateTime, Request, TimeZone, text, whole


class GroupEdit(Request):
    """The group edit page: what may change once a group meets (its meetings keep their times)."""

    title: text(200)
    facilitator_id: Id
    capacity: whole(1, MAX_GROUP_CAPACITY)
    location: text(200) | None = None


class GroupPreview(Request):
    """The new-group form's preview: the first meeting, the zone, and how many weekly meetings."""

    start: LocalDateTime
    timezone: TimeZone
    meetings: whole(1, MAX_MEETINGS) = 1


class SimulatedReply(Request):
    """A patient's page with DEMO_REPLIES on: a reply staff send as the patient (C, R, STOP, HELP, anything)."""

    reply: text(MAX_REPLY_CHARACTERS)

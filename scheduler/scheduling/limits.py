"""Limits of the clinic's sessions, stated once for the domain checks, the clash queries and the schemas."""
from __future__ import annotations

from datetime import timedelta

# The clash queries ask "overlaps [start, end)" as "starts in (start - MAX_SESSION, end)" so
# they can scan an index range; a longer session would slip past them and double-book.
MIN_SESSION_MINUTES = 5
MAX_SESSION_MINUTES = 480
MAX_SESSION = timedelta(minutes=MAX_SESSION_MINUTES)
MAX_GROUP_CAPACITY = 100
MAX_MEETINGS = 104  # weekly meetings a new group is made with: two years; a longer series is a new group
MAX_REPLY_CHARACTERS = 160  # a reply sent as a patient (DEMO_REPLIES): one text's worth
MAX_REPEAT_WEEKS = 26  # weekly individual sessions booked at once: half a year; the plan's 90 days fit
# Cancelling a session of a weekly series: this one, or this one and the later ones.
CANCEL_SCOPES = ("one", "later")

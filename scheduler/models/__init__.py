"""The clinic's records as typed SQLAlchemy models, by topic. Instants are UTCDateTime; wall times are local.

This package imports nothing from the domain: scheduling and messaging import it, never the reverse.
"""
from scheduler.models.calendar import (
    Appointment,
    AppointmentEvent,
    AvailabilityException,
    AvailabilityRule,
    Therapist,
)
from scheduler.models.enums import (
    APPOINTMENT_STATUSES,
    ATTENDANCE_STATUSES,
    ENROLLMENT_STATUSES,
    MESSAGE_STATUSES,
    ROLES,
)
from scheduler.models.groups import Attendance, Enrollment, GroupSeries, Occurrence
from scheduler.models.messaging import EarlyStatus, Message, OptedOutNumber, Task, Worker
from scheduler.models.patients import Discharge, Patient
from scheduler.models.staff import ApiToken, AuditEvent, User

__all__ = [
    "APPOINTMENT_STATUSES", "ATTENDANCE_STATUSES", "ENROLLMENT_STATUSES", "MESSAGE_STATUSES", "ROLES",
    "ApiToken", "Appointment", "AppointmentEvent", "Attendance", "AuditEvent", "AvailabilityException",
    "AvailabilityRule", "Discharge", "EarlyStatus", "Enrollment", "GroupSeries", "Message", "Occurrence",
    "OptedOutNumber", "Patient", "Task", "Therapist", "User", "Worker",
]

"""The clinic's records as typed SQLAlchemy models, by topic. Instants are UTCDateTime; wall times are local.

This package imports nothing from the domain: scheduling and messaging import it, never the reverse.
"""
from scheduler.models.calendar import (
    Appointment,
    AppointmentEvent,
    AppointmentSeries,
    AvailabilityException,
    AvailabilityRule,
    Therapist,
)
from scheduler.models.closures import ClinicClosure
from scheduler.models.enums import (
    ACTIVE_APPOINTMENT_STATUSES,
    APPOINTMENT_STATUSES,
    ATTENDANCE_STATUSES,
    BUSY_APPOINTMENT_STATUSES,
    ENROLLMENT_STATUSES,
    MESSAGE_KINDS,
    MESSAGE_STATUSES,
    ROLES,
    AppointmentStatus,
    Direction,
    EnrollmentStatus,
    FeedMode,
    FollowUpReason,
    Language,
    MessageKind,
    MessageStatus,
    Role,
    SkipReason,
    TaskKind,
)
from scheduler.models.feeds import CalendarFeed, ClinicOption
from scheduler.models.forms import FormSubmission
from scheduler.models.groups import Attendance, Enrollment, GroupSeries, Occurrence
from scheduler.models.imports import DischargeImport
from scheduler.models.messaging import EarlyStatus, Message, OptedOutNumber, Task, TextTemplate, Worker
from scheduler.models.patients import CareTeamMember, Discharge, Patient
from scheduler.models.staff import ApiToken, AuditEvent, StaffSession, User
from scheduler.models.webhooks import SeenSignature

__all__ = [
    "ACTIVE_APPOINTMENT_STATUSES", "APPOINTMENT_STATUSES", "ATTENDANCE_STATUSES", "BUSY_APPOINTMENT_STATUSES",
    "ENROLLMENT_STATUSES", "MESSAGE_KINDS", "MESSAGE_STATUSES", "ROLES",
    "AppointmentStatus", "Direction", "EnrollmentStatus", "FeedMode", "FollowUpReason", "Language", "MessageKind",
    "MessageStatus", "Role", "SkipReason", "TaskKind",
    "ApiToken", "Appointment", "AppointmentEvent", "AppointmentSeries", "Attendance", "AuditEvent",
    "AvailabilityException", "AvailabilityRule", "CalendarFeed", "CareTeamMember", "ClinicClosure", "ClinicOption",
    "Discharge", "DischargeImport", "EarlyStatus", "Enrollment",
    "FormSubmission", "GroupSeries", "Message", "Occurrence", "OptedOutNumber", "Patient", "SeenSignature",
    "StaffSession", "Task", "TextTemplate", "Therapist", "User", "Worker",
]

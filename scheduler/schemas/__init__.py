"""One declared schema per payload, shared by the API, the staff pages and imports.

`parse(Model, data)` turns a JSON body, a form post or a CSV row into a model, or raises
`Invalid({field: message})` naming every bad field at once. The OpenAPI document is generated
from these models (api/spec.py), so what is checked and what is documented cannot drift.
"""
from scheduler.schemas.aftercare import (
    Discharge,
    DischargeCreate,
    Discharges,
    DischargeUpdate,
    FirstSlots,
    FirstSlotsQuery,
    PlanEnd,
    Tasks,
    TasksQuery,
)
from scheduler.schemas.appointments import (
    Appointment,
    AppointmentCreate,
    AppointmentSeries,
    AppointmentUpdate,
    AppointmentWithHistory,
    AttendanceRequest,
    Booked,
    CancelRequest,
)
from scheduler.schemas.common import Record, Request, Response, errors_of, form_values, parse, valid_fields
from scheduler.schemas.groups import (
    Attendance,
    Dropped,
    Enrollment,
    EnrollmentCreate,
    Group,
    GroupCreate,
    OccurrenceAttendance,
)
from scheduler.schemas.patients import Messages, Patient, PatientCreate, PatientUpdate
from scheduler.schemas.reports import Engagement, EngagementQuery, FollowUp, FollowUpQuery, Status
from scheduler.schemas.therapists import (
    Availability,
    AvailabilityPut,
    Calendar,
    CalendarQuery,
    Slots,
    SlotsQuery,
    Therapist,
    TherapistCreate,
)

__all__ = [
    "Appointment", "AppointmentCreate", "AppointmentSeries", "AppointmentUpdate", "Booked", "AppointmentWithHistory",
    "AttendanceRequest", "CancelRequest", "Attendance", "Dropped", "Enrollment", "EnrollmentCreate",
    "Group", "GroupCreate", "OccurrenceAttendance", "Messages", "Patient", "PatientCreate",
    "PatientUpdate", "FollowUp", "FollowUpQuery", "Status", "Engagement", "EngagementQuery", "Availability",
    "AvailabilityPut", "Calendar", "CalendarQuery", "Slots", "SlotsQuery", "Therapist", "TherapistCreate", "Record",
    "Request", "Response",
    "errors_of", "form_values", "parse", "valid_fields",
    "Discharge", "DischargeCreate", "Discharges", "DischargeUpdate", "FirstSlots", "FirstSlotsQuery",
    "PlanEnd", "Tasks", "TasksQuery",
]

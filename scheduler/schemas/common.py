"""Building blocks of every payload: field types, the base models, and `parse` with its errors.

A field type carries its rule twice from one declaration: pydantic enforces it, and the same
constraints appear in the JSON Schema the OpenAPI document is generated from. What no schema
can say (a real calendar date, a future start, a DST gap, a valid phone number) is checked in
code, and the type's description names it.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time
from functools import cache
from typing import Annotated, Any, ClassVar, Literal, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    model_validator,
)
from pydantic_core import PydanticCustomError

from scheduler.core import timeutil
from scheduler.errors import Invalid
from scheduler.models.enums import LANGUAGES

M = TypeVar("M", bound=BaseModel)
MAX_ID = 2**31 - 1  # the id columns are 32-bit on PostgreSQL

# Years are bounded so that reading a wall time in any zone never overflows datetime.
_YEAR = r"(19|20|21)\d\d"
_DATE = _YEAR + r"-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])"
_HHMM = r"([01]\d|2[0-3]):[0-5]\d"
DATE_PATTERN = f"^{_DATE}$"
HHMM_PATTERN = f"^{_HHMM}$"
END_PATTERN = f"^({_HHMM}|24:00)$"
DATETIME_PATTERN = f"^{_DATE}T{_HHMM}(:[0-5]\\d(\\.\\d{{1,6}})?)?([Zz]|[+-]([01]\\d|2[0-3]):[0-5]\\d)?$"
# Not empty after trimming, and no NUL (PostgreSQL cannot store one in text).
TEXT_PATTERN = r"^[^\x00]*[^\s\x00][^\x00]*$"
NO_NUL_PATTERN = r"^[^\x00]*$"

PATTERN_MESSAGES = {
    DATE_PATTERN: "expected a date like 2026-03-10",
    HHMM_PATTERN: "expected a time like 09:30",
    END_PATTERN: "expected a time like 17:30 (24:00 is midnight at the end of the day)",
    DATETIME_PATTERN: "expected an ISO 8601 date-time such as 2026-03-10T18:00:00-05:00 "
                      "(without an offset it is read in the resource's time zone)",
    TEXT_PATTERN: "must not be empty or contain a NUL character",
    NO_NUL_PATTERN: "must not contain a NUL character",
}


def _local_datetime(value: str) -> datetime:
    try:
        return timeutil.parse_datetime_input(value)
    except ValueError:
        raise PydanticCustomError("datetime", "is not a real date and time") from None


def _date(value: str) -> date:
    try:
        return timeutil.parse_date(value)
    except ValueError:
        raise PydanticCustomError("date", "is not a real calendar date") from None


def _zone(value: str) -> str:
    try:
        timeutil.zone(value)
    except ValueError:
        raise PydanticCustomError("timezone", "must be a time zone from the list, such as America/New_York") from None
    return value


def _hhmm(value: str) -> time:
    return timeutil.parse_hhmm(value)


WHOLE = "written without a fraction (50, not 50.0: JSON Schema cannot tell them apart)"
CODE_RULES = "x-rules-in-code"


def rules_in_code(*rules: str) -> dict:
    """The `json_schema_extra` naming rules that code checks beyond the schema (422 when broken)."""
    return {CODE_RULES: list(rules)}


def whole(ge: int, le: int, description: str | None = None, *rules: str):
    """An integer from ge to le; in a JSON body it must be written as one (strict)."""
    return Annotated[int, Field(ge=ge, le=le, description=description,
                                json_schema_extra=rules_in_code(WHOLE, *rules))]


def text(max_length: int, description: str | None = None):
    """A trimmed text of 1..max_length characters (counted as sent)."""
    return Annotated[str, Field(min_length=1, max_length=max_length, pattern=TEXT_PATTERN,
                                description=description), AfterValidator(str.strip)]


Id = whole(1, MAX_ID, "A record's id; an unknown one is a 404.")
LocalDateTime = Annotated[str, Field(
    pattern=DATETIME_PATTERN, json_schema_extra=rules_in_code("a real calendar date",
                                                              "not in a DST gap of the resource's zone"),
    description="ISO 8601 date and time, e.g. 2026-03-10T18:00 or 2026-03-10T23:00:00Z. Without an "
                "offset it is the wall time in the resource's zone (the therapist's for appointments "
                "and slots, the group's for groups); a wall time that does not exist there (a DST "
                "gap) is refused. Date-only and basic-format (20260310T1800) values are refused."),
    AfterValidator(_local_datetime)]
Date = Annotated[str, Field(pattern=DATE_PATTERN, description="A calendar date, YYYY-MM-DD.",
                             json_schema_extra=rules_in_code("a real calendar date")),
                 AfterValidator(_date)]
HHMM = Annotated[str, Field(pattern=HHMM_PATTERN, description="A wall-clock time, HH:MM (00:00-23:59)."),
                 AfterValidator(_hhmm)]
# 24:00 (and 00:00 as an end) is the midnight ending the day, held as time(0).
HHMMEnd = Annotated[str, Field(pattern=END_PATTERN, description="A wall-clock time, HH:MM (00:00-24:00); "
                                                                 "24:00 or 00:00 is midnight at the end of the day."),
                    AfterValidator(lambda value: time(0) if value == "24:00" else _hhmm(value))]
TimeZone = Annotated[str, Field(
    description="An IANA time zone name such as America/New_York.",
    json_schema_extra={"enum": sorted(timeutil._zone_names())}), AfterValidator(_zone)]
Language = Literal[tuple(str(language) for language in LANGUAGES)]


class Request(BaseModel):
    """A request body or query: strict types (50.0 is not an integer, true is not 1), no unknown fields.

    Fields hold the values as read (datetime, date, time, an E.164 phone), not the text sent:
    use `dict(model)` or attributes, not `model_dump()`.

    null means "no value": accepted on a field that may have none (declared `X | None`: a group's
    rrule or location, a reason, a new patient's discharge date), where it is the same as leaving
    the field out; refused on every other field ("must not be null").
    """

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


class Record:
    """A row seen with a few more attributes, for a response model to read (e.g. roster counts)."""

    __slots__ = ("_row", "_extra")

    def __init__(self, row: Any, **extra: Any):
        self._row, self._extra = row, extra

    def __getattr__(self, name: str) -> Any:
        extra = self._extra
        return extra[name] if name in extra else getattr(self._row, name)


class Response(BaseModel):
    """An answer's shape, for the document and for the body: every field present, nothing else.

    A response is validated from what the view hands over: a dict with the answer's field names,
    or a record (an ORM row or a `Record`) read by attribute. `from_record` names the fields no
    attribute holds as such, each computed from the record (a renamed column, a length, a flag).
    Instants are written in the zone the view gives as context (`{"zone": ...}`), else UTC.
    """

    model_config = ConfigDict(extra="forbid", from_attributes=True)
    from_record: ClassVar[dict[str, Callable[[Any], Any]]] = {}

    @model_validator(mode="wrap")
    @classmethod
    def _read_record(cls, data: Any, handler):
        if cls.from_record and not isinstance(data, (dict, BaseModel)):
            data = Record(data, **{name: get(data) for name, get in cls.from_record.items()})
        return handler(data)


def _instant(value: Any, info: ValidationInfo) -> Any:
    """An aware datetime as ISO 8601 with the offset of the answer's zone."""
    if isinstance(value, datetime):
        return timeutil.iso(value, (info.context or {}).get("zone"))
    return value


def _wall_time(value: Any, info: ValidationInfo) -> Any:
    """An aware datetime as the wall time in the answer's zone, YYYY-MM-DDTHH:MM."""
    if isinstance(value, datetime):
        zone = (info.context or {}).get("zone")
        return value.astimezone(timeutil.zone(zone) if zone else UTC).strftime(WALL_TIME)
    return value


WALL_TIME = "%Y-%m-%dT%H:%M"
Instant = Annotated[str, Field(json_schema_extra={"format": "date-time"}), BeforeValidator(_instant)]
WallTime = Annotated[str, Field(pattern=f"^{_DATE}T{_HHMM}$", description="The local wall time, YYYY-MM-DDTHH:MM."),
                     BeforeValidator(_wall_time)]
# What answers hold: facts the database keeps (ids from 1, counts from 0), stated in the document.
RecordId = Annotated[int, Field(ge=1)]
Count = Annotated[int, Field(ge=0)]
Minutes = Annotated[int, Field(ge=1, description="Minutes.")]
ZoneName = Annotated[str, Field(description="The IANA time zone its times are written in.")]


# --- parse ----------------------------------------------------------------------------------


def field_name(loc: tuple) -> str:
    """('rules', 0, 'start') -> 'rules[0].start'."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _message(error: dict) -> str:
    kind, ctx = error["type"], error.get("ctx") or {}
    if kind == "missing":
        return "is required"
    if kind == "extra_forbidden":
        return "unknown field"
    if error.get("input", "") is None:
        return "must not be null (leave the field out instead)"
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return "must be a whole number"
    if kind in ("bool_type", "bool_parsing"):
        return "must be true or false"
    if kind == "string_type":
        return "must be a string"
    if kind in ("list_type",):
        return "must be a list"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return "must be an object"
    if kind == "greater_than_equal":
        return f"must be at least {ctx['ge']}"
    if kind == "less_than_equal":
        return f"must be at most {ctx['le']}"
    if kind == "string_too_short":
        return "must not be empty"
    if kind == "string_too_long":
        return f"must be at most {ctx['max_length']} characters"
    if kind == "too_long":
        return f"at most {ctx['max_length']} entries"
    if kind == "literal_error":
        return "must be one of: " + ctx["expected"].replace("'", "").replace(" or ", ", ")
    if kind == "string_pattern_mismatch":
        return PATTERN_MESSAGES.get(ctx.get("pattern"), "has the wrong format")
    if kind == "value_error":
        return str(ctx.get("error", error["msg"]))
    return error["msg"]


def errors_of(exc: ValidationError, unknown: str = "unknown field") -> dict[str, str]:
    """Field -> message for every bad field (the first problem of each)."""
    out: dict[str, str] = {}
    for error in exc.errors(include_url=False):
        name = field_name(error["loc"]) or "body"
        if name not in out:
            out[name] = unknown if error["type"] == "extra_forbidden" else _message(error)
    return out


def form_values(data: dict[str, Any]) -> dict[str, Any]:
    """A form post or CSV row: an empty field is a field left out (a checkbox sends "on")."""
    return {k: v for k, v in data.items() if v != ""}


def parse(model: type[M], data: Any, *, strings: bool = False, unknown: str = "unknown field") -> M:
    """`data` as `model`, or Invalid naming every bad field at once.

    JSON bodies are read strictly. With `strings=True` (a query string, a form post, a CSV row)
    every value arrives as text, so "50" may be an integer and "on"/"true" a boolean, and an
    empty value counts as absent.
    """
    if strings:
        data = form_values(data)
    try:
        return model.model_validate(data, strict=False if strings else None)
    except ValidationError as exc:
        raise Invalid(errors_of(exc, unknown)) from None


@cache
def _field_adapter(model: type[BaseModel], name: str) -> TypeAdapter:
    info = model.model_fields[name]
    return TypeAdapter(Annotated[info.annotation, info], config=ConfigDict(strict=True))


def valid_fields(model: type[BaseModel], data: dict, names: tuple[str, ...]) -> dict[str, Any]:
    """The named fields of `data` that are valid on their own, to check a rule across fields
    in the same answer as the fields' own errors."""
    out = {}
    for name in names:
        if name in data:
            try:
                out[name] = _field_adapter(model, name).validate_python(data[name])
            except ValidationError:
                pass
    return out

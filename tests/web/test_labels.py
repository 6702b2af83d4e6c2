"""The pages' vocabularies: every value of every enum has its wording, and roles() takes Role only."""
from __future__ import annotations

import inspect
from enum import StrEnum

import pytest

from scheduler.models import enums
from scheduler.web import roles
from scheduler.web.labels import LABELS, choices, label

PENDING: set[str] = set()  # every vocabulary has its wording


def test_every_member_of_every_enum_has_a_label():
    vocabularies = [cls for _, cls in inspect.getmembers(enums, inspect.isclass)
                    if issubclass(cls, StrEnum) and cls is not StrEnum and cls.__name__ not in PENDING]
    assert len(vocabularies) >= 8
    for enum in vocabularies:
        assert set(LABELS.get(enum, {})) == set(enum), enum.__name__
        assert all(LABELS[enum][member].strip() for member in enum), enum.__name__


def test_labels_read_as_the_pages_did():
    assert label("no_show", "AppointmentStatus") == "no show"
    assert label("undelivered", "MessageStatus") == "Not delivered"
    assert label("something_new", "MessageStatus") == "something new"
    assert choices(enums.Language) == [("en", "English"), ("es", "Spanish")]


@pytest.mark.parametrize("allowed", [("admin",), (enums.Role.ADMIN, "coordinator"), ("admn",), ()])
def test_roles_refuses_anything_but_role_members_when_it_decorates(allowed):
    with pytest.raises(TypeError):
        roles(*allowed)


def test_roles_takes_role_members():
    view = roles(enums.Role.ADMIN, enums.Role.COORDINATOR)(lambda: "ok")
    assert view.allowed_roles == (enums.Role.ADMIN, enums.Role.COORDINATOR)

"""Limits of stored and parsed text (SPEC §11 "Details"): parsing `{{variables}}` is linear in
the text's length, and a substitution value is at most 1,000 characters on every database,
while rendered subjects and locations are never truncated."""

from __future__ import annotations

import re
import time

import pytest
import time_machine
from hypothesis import given, settings
from hypothesis import strategies as st

from scheduler.models import Booking, Event
from scheduler.rules.variables import MAX_VALUE_LENGTH, additional_fields, render
from scheduler.services import bookings
from scheduler.services.errors import InvalidInput
from tests.api.helpers import (
    BOOKINGS,
    NOW,
    ApiClient,
    assert_error,
    meeting_path,
    public_path,
)
from tests.factory import make_profile, make_token

# --- parsing is linear -----------------------------------------------------------------------

# The parser as it was: a lazy `.*?` under DOTALL, which rescans to the end of the text from
# every `{{name:` that has no `}}` after it. Kept here as the reference of what matches.
REFERENCE = re.compile(r"\{\{\s*([A-Za-z0-9_]+)\s*(?::(.*?))?\}\}", re.DOTALL)

SIZE = 10 * 1024
ADVERSARIAL = ["{{a:", "{{", "{{a:}", "{{a:{{b}", "{{ a ", "{{a" + "b" * 40, "{{a:}}}", "{{a}}"]


@pytest.mark.parametrize("shape", ADVERSARIAL)
def test_parsing_10_kb_of_adversarial_text_is_fast(shape):
    text = (shape * (SIZE // len(shape) + 1))[:SIZE]
    started = time.perf_counter()
    additional_fields(text, text, text)
    render(text, {"a": "x"})
    render(text, {"a": "x"}, as_html=True)
    elapsed = time.perf_counter() - started
    # Linear parsing takes a few milliseconds here; the lazy regex took about a second.
    assert elapsed < 0.2, f"{shape!r}: {elapsed:.3f} s"


def reference_fields(text: str) -> list[tuple[str, str | None]]:
    seen: dict[str, str | None] = {}
    for match in REFERENCE.finditer(text):
        seen.setdefault(match.group(1), match.group(2))
    return [(name, default) for name, default in seen.items() if name != "name"]


def reference_render(text: str, values: dict[str, str]) -> str:
    return REFERENCE.sub(lambda m: values.get(m.group(1), m.group(2) or ""), text)


# Texts made of the characters that matter to the grammar, so hypothesis finds the edges.
grammar = st.text(alphabet=st.sampled_from("{}:ab_1 \n\u00a0é"), max_size=40)


@settings(max_examples=500, deadline=None)
@given(grammar)
def test_the_parser_finds_what_the_old_regex_found(text):
    found = [(f.name, f.default) for f in additional_fields(text)]
    assert found == reference_fields(text)
    values = {"a": "<A>", "b": ""}
    assert render(text, values) == reference_render(text, values)


def test_shapes_near_the_edges_match_the_old_regex():
    for text in [
        "{{a:}}}",
        "{{{a}}}",
        "{{a:{{b}}}",
        "{{a:x}y}}",
        "{{ a \n}}",
        "{{a b}}",
        "{{a:" * 3 + "}}",
        "{{a:}" * 3 + "{{b}}",
        "{{a: no end {{b}} {{c:d}}",
        "{{é}} {{a\u00a0}}",
    ]:
        assert [(f.name, f.default) for f in additional_fields(text)] == reference_fields(text)
        assert render(text, {"a": "1", "b": "2"}) == reference_render(text, {"a": "1", "b": "2"})


# --- substitution values: at most 1,000 characters; rendered text never truncated -----------

UTC_WEEK = {
    "timezone": "UTC",
    "daySchedules": [
        {"dayOfWeek": day, "workingIntervals": [{"start": "09:00:00", "end": "17:00:00"}]}
        for day in ("monday", "tuesday", "wednesday", "thursday", "friday")
    ],
}


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def api(client, account, frozen) -> ApiClient:
    return ApiClient(client, make_token(account))


def booking_request(**values: str) -> dict:
    return {
        "time": {"start": "2030-01-07T09:00:00Z", "end": "2030-01-07T09:30:00Z"},
        "schedulerInfo": {"name": "Ann", "email": "ann@example.com"},
        "substitutionData": values,
    }


def test_a_value_longer_than_1000_characters_is_400_naming_it(api, account):
    profile = make_profile(account, name="intro", subject="{{topic}}", work_hours=UTC_WEEK)
    too_long = booking_request(topic="x" * (MAX_VALUE_LENGTH + 1))
    for path in (meeting_path(profile), public_path(profile)):
        error = assert_error(
            api("POST", path, too_long), 400, "bad_request", "substitutionData.topic"
        )
        assert "1000" in error["fields"]["substitutionData.topic"][0]
    assert not Booking.objects.exists()
    made = api("POST", meeting_path(profile), booking_request(topic="x" * MAX_VALUE_LENGTH))
    assert made.status_code == 201, made.content
    assert made.json()["subject"] == "x" * MAX_VALUE_LENGTH


def test_the_service_refuses_a_long_value_whatever_the_adapter(account, frozen):
    profile = make_profile(account, name="intro", location="{{room:}}", work_hours=UTC_WEEK)
    with pytest.raises(InvalidInput) as refused:
        bookings.validate_substitution(profile, {"room": "r" * 1001})
    assert list(refused.value.fields) == ["substitutionData.room"]
    assert bookings.validate_substitution(profile, {"room": "r" * 1000}) == {"room": "r" * 1000}


def test_rendered_subject_and_location_are_stored_whole(api, account):
    # The longest templates a profile takes (500 characters), each variable at its longest
    # value: 100,000 characters, far beyond any fixed column (PostgreSQL answered 500).
    subject = "{{a}}" * 100
    location = "{{b:}}" * 83
    assert len(subject) == 500 and len(location) <= 500
    profile = make_profile(
        account, name="intro", subject=subject, location=location, work_hours=UTC_WEEK
    )
    values = {"a": "A" * MAX_VALUE_LENGTH, "b": "é" * MAX_VALUE_LENGTH}
    made = api("POST", meeting_path(profile), booking_request(**values))
    assert made.status_code == 201, made.content
    stored = Booking.objects.get()
    assert stored.subject == "A" * MAX_VALUE_LENGTH * 100
    assert stored.location == "é" * MAX_VALUE_LENGTH * 83
    assert made.json()["subject"] == stored.subject
    assert made.json()["location"] == stored.location
    read = api("GET", f"{BOOKINGS}/{stored.pk}").json()
    assert read["subject"] == stored.subject and read["location"] == stored.location
    # The builtin calendar's copy of the booking carries the whole subject too.
    assert Event.objects.get(booking=stored).summary == stored.subject


def test_rendered_text_columns_have_no_fixed_length():
    # SQLite ignores a varchar's length, PostgreSQL refuses the write: no fixed length at all.
    for model, name in [
        (Booking, "subject"),
        (Booking, "description"),
        (Booking, "location"),
        (Event, "summary"),
    ]:
        field = model._meta.get_field(name)
        assert field.get_internal_type() == "TextField" and field.max_length is None, name

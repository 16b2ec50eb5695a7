"""`{{variables}}` (SPEC §4): parsing, additionalFields, rendering as text and as HTML."""

from __future__ import annotations

import html

from hypothesis import given, settings
from hypothesis import strategies as st

from scheduler.rules.variables import (
    BUILTINS,
    Field,
    additional_fields,
    missing_required,
    preview,
    render,
    unknown_keys,
    values_for,
)


def names(*templates: str) -> list[str]:
    return [f.name for f in additional_fields(*templates)]


def test_required_default_and_optional():
    fields = additional_fields("{{topic}} {{company:ACME Ltd}} {{phone:}}")
    assert fields == [Field("topic", None), Field("company", "ACME Ltd"), Field("phone", "")]
    assert [f.required for f in fields] == [True, False, False]


def test_additional_fields_wire_shape_leaves_out_a_missing_default():
    topic, company, phone = additional_fields("{{topic}} {{company:ACME}} {{phone:}}")
    assert topic.as_dict() == {"name": "topic", "type": "string", "required": True}
    assert company.as_dict() == {
        "name": "company",
        "type": "string",
        "required": False,
        "default": "ACME",
    }
    assert phone.as_dict()["default"] == ""


def test_order_of_first_appearance_subject_then_description_then_location():
    subject = "Call about {{topic}} with {{company:}}"
    description = "{{agenda}} then {{topic}} again, {{company:other}}"
    location = "{{room:Main}} / {{agenda}}"
    assert names(subject, description, location) == ["topic", "company", "agenda", "room"]
    # The first occurrence decides the default.
    company = additional_fields(subject, description, location)[1]
    assert company.default == ""


def test_builtins_are_never_listed():
    template = " ".join(f"{{{{{name}}}}}" for name in sorted(BUILTINS)) + " {{mine}}"
    assert names(template) == ["mine"]
    assert names("{{name:Someone}}") == []


def test_names_are_letters_digits_and_underscore():
    assert names("{{a_1}} {{B2}} {{_x}}") == ["a_1", "B2", "_x"]
    assert names("{{bad-name}} {{with space}} {{}} {{é}} {single}") == []


def test_default_may_hold_colons_and_single_braces():
    assert additional_fields("{{link:https://example.com/a}}")[0].default == (
        "https://example.com/a"
    )
    assert additional_fields("{{x:a}b}}")[0].default == "a}b"


def test_missing_required_and_unknown_keys():
    fields = additional_fields("{{topic}} {{company:}}")
    assert missing_required(fields, {}) == ["topic"]
    assert missing_required(fields, {"topic": "   "}) == ["topic"]
    assert missing_required(fields, {"topic": "Plans"}) == []
    assert unknown_keys(fields, {"topic": "x", "colour": "red", "name": "n"}) == ["colour", "name"]


def test_values_for_fills_defaults():
    fields = additional_fields("{{topic}} {{company:ACME}} {{phone:}}")
    assert values_for(fields, {"topic": "Plans", "stray": "x"}) == {
        "topic": "Plans",
        "company": "ACME",
        "phone": "",
    }
    assert values_for(fields, {"topic": 5, "company": "Beta"})["topic"] == "5"


def test_render_text_escapes_nothing():
    template = "<b>{{topic}}</b> & {{company:A&B}}"
    assert render(template, {"topic": "<script>"}) == "<b><script></b> & A&B"


def test_render_html_escapes_template_and_values():
    template = "<b>{{topic}}</b> & {{company:A&B}}"
    assert render(template, {"topic": "<script>'x'"}, as_html=True) == (
        "&lt;b&gt;&lt;script&gt;&#x27;x&#x27;&lt;/b&gt; &amp; A&amp;B"
    )


def test_render_fills_builtins_and_leaves_missing_required_empty():
    assert render("Hi {{name}}, {{topic}}.", {"name": "Ann"}) == "Hi Ann, ."
    assert render("{{startTime}}", {"startTime": "2026-05-04T10:00:00+01:00"}) == (
        "2026-05-04T10:00:00+01:00"
    )


plain = st.text(alphabet=st.characters(blacklist_characters="{}"), max_size=30)


@settings(max_examples=100, deadline=None)
@given(plain, plain, plain)
def test_html_render_equals_escaped_text_render(before, value, after):
    template = before + "{{v}}" + after
    as_text = render(template, {"v": value})
    assert as_text == before + value + after
    assert render(template, {"v": value}, as_html=True) == html.escape(as_text)


@settings(max_examples=100, deadline=None)
@given(plain)
def test_template_without_variables_renders_itself(text):
    assert render(text, {}) == text
    assert additional_fields(text) == []


# --- before booking (SPEC §10) -----------------------------------------------------------


def test_preview_shows_placeholders_and_drops_lines_of_empty_optional_variables():
    shown = {"name": "[name]", "topic": "[topic]", "openMeetingUrl": ""}
    text = "A short first conversation.\nJoin: {{openMeetingUrl}}\nCompany: {{company:}}"
    assert preview(text, shown) == "A short first conversation."
    assert (
        preview("Intro with {{name}} about {{topic}}", shown) == "Intro with [name] about [topic]"
    )
    # A default shows as it is; a line with other text keeps its empty variable's place.
    assert preview("Room: {{room:Lobby}}", shown) == "Room: Lobby"
    assert preview("We meet {{company:}} soon", shown) == "We meet  soon"
    assert preview("{{company:}}", shown) == ""
    assert preview("Notes:\n\nBring {{topic}}", shown) == "Notes:\n\nBring [topic]"

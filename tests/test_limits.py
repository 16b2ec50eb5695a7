"""Limits of stored and parsed text (SPEC §11 "Details"): parsing `{{variables}}` is linear in
the text's length, and a substitution value is at most 1,000 characters on every database,
while rendered subjects and locations are never truncated."""

from __future__ import annotations

import re
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scheduler.rules.variables import additional_fields, render

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

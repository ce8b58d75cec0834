"""Property tests of what phones type: nicknames and room codes, for any Unicode text (lone
surrogates, control and format characters, combining marks, right-to-left marks, emoji):
never an exception, always bounded, always shown as plain text."""

from __future__ import annotations

import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

from classifier.store.rooms import CODE_ALPHABET, ROOM_CODE_LENGTH, new_room_code
from classifier.views import room as view
from classifier.views.text import escape_markdown, plotly_text

ANY_TEXT = st.text(st.characters(codec=None), max_size=400)  # surrogates included
CODES = st.text(st.sampled_from(CODE_ALPHABET), min_size=6, max_size=6)


@settings(max_examples=400, deadline=None)
@given(ANY_TEXT)
def test_a_nickname_is_bounded_printable_and_escaped(typed):
    name = view.clean_nickname(typed)
    assert isinstance(name, str) and len(name) <= view.MAX_NICKNAME_CHARS
    assert name == name.strip() and "  " not in name
    assert not any(unicodedata.category(char).startswith("C") for char in name)
    name.encode("utf-8")  # no lone surrogate is left
    shown = escape_markdown(name)
    for special in "<>[]`*_#|":  # every markup character arrives escaped
        assert shown.count(special) == shown.count("\\" + special)
    assert "<" not in plotly_text(name) and ">" not in plotly_text(name)
    assert view.clean_nickname(name) == name  # cleaning is stable


@given(st.one_of(st.none(), st.integers(), st.binary(), st.lists(st.text())))
def test_a_nickname_that_is_not_text_is_empty(value):
    assert view.clean_nickname(value) == ""


@settings(max_examples=400, deadline=None)
@given(ANY_TEXT)
def test_a_typed_room_code_is_one_code_or_none(typed):
    code = view.normalize_code(typed)
    if code is not None:
        assert len(code) == ROOM_CODE_LENGTH and set(code) <= set(CODE_ALPHABET)


@given(CODES, st.sampled_from([" ", "-", "  ", "\t"]), st.booleans())
def test_a_code_typed_loosely_is_still_found(code, separator, lower):
    typed = code[:3] + separator + code[3:]
    assert view.normalize_code(typed.lower() if lower else typed) == code
    assert view.normalize_code(f"  {code}\n") == code


@given(st.one_of(st.none(), st.integers(), st.binary()))
def test_a_code_that_is_not_text_is_none(value):
    assert view.normalize_code(value) is None


def test_new_codes_normalize_to_themselves():
    for _ in range(200):
        code = new_room_code()
        assert view.normalize_code(code) == code

"""The chat API's input checks (domain/genai/api.py): nesting counted without recursion and in
linear time, strings' brackets and escapes not counted, the message's refused characters, events
that are not API Gateway's, and refusals that quote nothing a client sent."""

from __future__ import annotations

import contextlib
import re
import sys
import time
from typing import Any

import pytest

from petclinic_ops.domain.genai.api import (
    MAX_BODY_BYTES,
    MAX_DEPTH,
    ChatInputError,
    chat_request,
    check_event,
    check_message,
    for_chat_widget,
    json_body,
    too_deep,
)


@pytest.mark.parametrize(
    ("text", "deep"),
    [
        ('{"message": "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["}', False),  # brackets in a string
        ('{"message": "a \\" [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["}', False),  # an escaped quote stays inside
        ('{"message": "\\\\"}' + "[" * 17, True),  # an escaped backslash ends the string
        ("[" * MAX_DEPTH + "]" * MAX_DEPTH, False),
        ("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1), True),
        ('{"a": {"b": {"c": []}}}', False),
    ],
)
def test_nesting_is_counted_outside_strings(text: str, deep: bool) -> None:
    assert too_deep(text, MAX_DEPTH) is deep


def test_a_deep_body_is_refused_under_lambdas_recursion_limit() -> None:
    """What Lambda runs with (1,000): json.loads would raise RecursionError on this body."""
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(1000)
    try:
        with pytest.raises(ChatInputError, match="nests more than 16 levels deep") as refused:
            json_body("[" * 16000 + "]" * 16000)
    finally:
        sys.setrecursionlimit(limit)
    assert refused.value.status == 400


@pytest.mark.parametrize(
    "body",
    ['"' + '\\"' * 16000, '"' * 32000, "[" * 32000, '"' + "\\\\" * 16000 + '"'],
    ids=["escaped quotes", "quotes", "brackets", "escaped backslashes"],
)
def test_the_checks_take_linear_time_on_hostile_bodies(body: str) -> None:
    started = time.perf_counter()
    with contextlib.suppress(ChatInputError):  # refused or not, quickly
        json_body(body)
    assert time.perf_counter() - started < 0.5


def test_a_body_over_the_limit_is_413_before_it_is_parsed() -> None:
    with pytest.raises(ChatInputError) as refused:
        json_body('"' + "x" * MAX_BODY_BYTES + '"')
    assert (refused.value.status, refused.value.problem) == (413, "too_large")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("hi\x00", "a control character, U+0000, at character 3"),
        ("\x1b[31mred", "a control character, U+001B, at character 1"),
        ("abc\u202edef", "a bidirectional control character, U+202E, at character 4"),
        ("x\ud800", "an unpaired surrogate (not valid Unicode), U+D800, at character 2"),
    ],
)
def test_a_message_with_a_refused_character_names_it_by_code_point(text: str, problem: str) -> None:
    with pytest.raises(ChatInputError, match=re.escape(f"the message holds {problem}")):
        check_message(text)


def test_what_people_write_is_accepted() -> None:
    text = "Which vets do surgery?\nAnd dentistry\t(both)? Ünïcödé, עברית, 😀 emoji and a ZWJ 👩\u200d⚕️"
    assert check_message(f"  {text}  ") == text


@pytest.mark.parametrize(
    ("event", "problem"),
    [
        ("hello", "the event is a string, not an object"),
        ([1], "the event is an array, not an object"),
        (7, "the event is a number, not an object"),
        (None, "the event is null, not an object"),
        ({"path": "/api/genai/chat"}, "it has no httpMethod"),
        ({"httpMethod": "POST", "path": 1}, "path must be a string, not a number"),
        ({"httpMethod": "POST", "path": "/", "headers": {"a": 1}}, "headers must map strings to strings"),
        ({"httpMethod": "POST", "path": "/", "body": []}, "body must be a string or null, not an array"),
    ],
)
def test_an_event_that_is_not_api_gateways_is_named_without_quoting_it(event: Any, problem: str) -> None:
    with pytest.raises(ChatInputError, match=re.escape(problem)) as refused:
        check_event(event)
    assert refused.value.problem == "not_api_event"
    assert "hello" not in str(refused.value)


def test_unknown_fields_are_counted_not_named() -> None:
    with pytest.raises(ChatInputError) as refused:
        chat_request({"message": "hi", "<script>": 1, "secret-name": 2})
    assert (
        str(refused.value)
        == "the body has 2 fields that are not known: it takes message and conversationId only"
    )
    assert refused.value.sentence.startswith("The body has 2 fields")


def test_the_chat_widgets_answer_keeps_markdown_and_drops_markup() -> None:
    assert (
        for_chat_widget("**Jane** <img src=x onerror=alert(1)>")
        == "**Jane** &lt;img src=x onerror=alert(1)&gt;"
    )

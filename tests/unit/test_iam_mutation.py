"""tools/iam_mutation.py's pure parts: the mutations of the roles, the record read back, the tests
chosen for a mutation and the verdicts (the runner, which starts pytest, replaced by what a run
would answer)."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("iam_mutation", ROOT / "tools" / "iam_mutation.py")
assert _spec
assert _spec.loader
iam_mutation: Any = importlib.util.module_from_spec(_spec)
sys.modules["iam_mutation"] = iam_mutation  # its dataclasses look their module up
_spec.loader.exec_module(iam_mutation)
Mutation = iam_mutation.Mutation


class _Role:
    def __init__(self, *statements: tuple[str, dict[str, Any]]) -> None:
        self.statements = list(statements)


ROLES = {
    "SmRole": _Role(
        ("P0/Read", {"Effect": "Allow", "Action": ["lambda:GetAlias", "lambda:GetFunctionConfiguration"]}),
        ("P0/1", {"Effect": "Allow", "Action": ["sns:Publish"], "Resource": "*"}),
        ("P0/2", {"Effect": "Deny", "Action": "iam:*", "Resource": "*"}),
        ("P0/3", {"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}),
    ),
    "FnRole": _Role(("P1/Logs", {"Effect": "Allow", "Action": "logs:PutLogEvents", "Resource": "*"})),
}

SLOW, FAST, FAILED = (
    "tests/integration/test_a.py::test_slow",
    "tests/integration/test_a.py::test_fast[x]",
    "f",
)
USED = iam_mutation.read_record(
    json.dumps({"test": test, "role": "SmRole", "statement": statement, "action": action})
    for test, statement, action in [
        (SLOW, "P0/Read", "lambda:GetAlias"),
        (FAST, "P0/Read", "lambda:GetAlias"),
        (FAILED, "P0/Read", "lambda:GetFunctionConfiguration"),
        (SLOW, "P0/1", "sns:Publish"),
    ]
)
DURATIONS = {SLOW: 30.0, FAST: 12.5, FAILED: None}


def test_each_single_action_statement_and_each_action_of_several_is_a_mutation() -> None:
    found, statements, actions = iam_mutation.mutations(ROLES)
    assert [str(m) for m in found] == [
        "FnRole/P1/Logs",
        "SmRole/P0/Read/lambda:GetAlias",
        "SmRole/P0/Read/lambda:GetFunctionConfiguration",
        "SmRole/P0/1",  # one action, in a list: the statement
    ]
    assert (statements, actions) == (3, 2)  # a Deny and a NotAction are no grants to prove


def test_a_reason_is_found_for_the_action_its_statement_or_its_role() -> None:
    kept = {"SmRole/P0/Read/lambda:GetAlias": "action", "SmRole/P0/1": "statement", "FnRole": "role"}
    reasons = [iam_mutation.kept_reason(m, kept) for m in iam_mutation.mutations(ROLES)[0]]
    assert reasons == ["role", "action", None, "statement"]
    patterns = {"*/Read": "any role's Read", "SmRole/P0/Read/lambda:GetAlias": "by name first"}
    reasons = [iam_mutation.kept_reason(m, patterns) for m in iam_mutation.mutations(ROLES)[0]]
    assert reasons == [None, "by name first", "any role's Read", None]


def test_the_fastest_passing_tests_that_used_what_is_removed_are_chosen() -> None:
    read = Mutation("SmRole", "P0/Read", "LAMBDA:getalias")
    assert iam_mutation.users_of(read, USED, DURATIONS, 1) == [FAST]
    assert iam_mutation.users_of(read, USED, DURATIONS, 5) == [FAST, SLOW]
    assert iam_mutation.users_of(Mutation("SmRole", "P0/Read"), USED, DURATIONS, 5) == [FAST, SLOW]
    configuration = Mutation("SmRole", "P0/Read", "lambda:GetFunctionConfiguration")
    assert iam_mutation.users_of(configuration, USED, DURATIONS, 5) == []  # only a failing test used it


def test_durations_are_read_from_pytests_junit_xml_by_node_id() -> None:
    xml = """<testsuites><testsuite>
      <testcase classname="tests.unit.test_iam_mutation" name="test_a[x-1]" time="1.5"/>
      <testcase classname="tests.unit.test_iam_mutation.TestClass" name="test_b" time="2"/>
      <testcase classname="tests.unit.test_iam_mutation" name="test_c" time="3"><failure/></testcase>
    </testsuite></testsuites>"""
    assert iam_mutation.read_durations(xml) == {
        "tests/unit/test_iam_mutation.py::test_a[x-1]": 1.5,
        "tests/unit/test_iam_mutation.py::TestClass::test_b": 2.0,
        "tests/unit/test_iam_mutation.py::test_c": None,
    }


def test_verdicts_proven_kept_stale_and_survived() -> None:
    found = iam_mutation.mutations(ROLES)[0]
    fails = {"SmRole/P0/Read/lambda:GetAlias": iam_mutation.PROVEN, "SmRole/P0/1": "passed"}
    ran: list[tuple[str, list[str]]] = []

    def runner(mutation: Any, tests: list[str]) -> str:
        ran.append((str(mutation), tests))
        return str(fails[str(mutation)])

    outcome = iam_mutation.check(found, USED, DURATIONS, batch=1, runner=runner, kept={"FnRole": "AWS only"})
    assert ran == [("SmRole/P0/Read/lambda:GetAlias", [FAST]), ("SmRole/P0/1", [SLOW])]
    assert [str(m) for m in outcome.proven] == ["SmRole/P0/Read/lambda:GetAlias"]
    assert [(str(m), why) for m, why in outcome.kept] == [("FnRole/P1/Logs", "AWS only")]
    assert [(str(m), why) for m, why in outcome.survived] == [
        (
            "SmRole/P0/Read/lambda:GetFunctionConfiguration",
            "no recorded test uses it, and KEPT gives no reason",
        ),
        ("SmRole/P0/1", "every test that used it passed without it"),
    ]
    assert iam_mutation.summary(found, 3, 2, outcome) == (
        "iam_mutation: 3 statements, 2 actions of several-action statements; 4 mutations: 1 proven "
        "necessary by a failing test (1 statements), 1 kept with a reason, 2 without"
    )
    stale = iam_mutation.check(found, USED, DURATIONS, batch=1, runner=runner, kept={"SmRole/P0/Read": "AWS"})
    assert (
        "SmRole/P0/Read/lambda:GetAlias",
        f"{FAST} needs it: drop its KEPT reason",
    ) in [(str(m), why) for m, why in stale.survived]


def test_mutations_tried_at_once_are_judged_in_the_template_order() -> None:
    found = iam_mutation.mutations(ROLES)[0]
    proven = {"SmRole/P0/Read/lambda:GetAlias", "SmRole/P0/1"}
    ran: list[str] = []

    def runner(mutation: Any, tests: list[str]) -> str:
        ran.append(str(mutation))
        return iam_mutation.PROVEN if str(mutation) in proven else "passed"

    one = iam_mutation.check(found, USED, DURATIONS, batch=1, runner=runner, kept={})
    two = iam_mutation.check(found, USED, DURATIONS, batch=1, runner=runner, kept={}, jobs=2)
    assert sorted(ran) == sorted(2 * ["SmRole/P0/Read/lambda:GetAlias", "SmRole/P0/1"])
    assert (two.proven, two.kept, two.survived) == (one.proven, one.kept, one.survived)
    assert [str(m) for m in two.proven] == ["SmRole/P0/Read/lambda:GetAlias", "SmRole/P0/1"]


def test_every_kept_reason_names_a_mutation_of_the_template() -> None:
    """A reason for a statement the template no longer has is dropped with it."""
    iam_check = iam_mutation.iam_check
    found = iam_mutation.mutations(iam_check.roles_of(iam_check.evaluated()))[0]
    for key in iam_mutation.KEPT:
        assert any(iam_mutation.kept_reason(m, {key: "why"}) for m in found), key


def test_a_failure_proves_a_statement_necessary_only_with_a_refusal_of_the_role() -> None:
    mutation = Mutation("SmRole", "P0/1")
    refusal = (
        "User: arn:aws:sts::123456789012:assumed-role/petclinic-ops-local-SmRole-N0IA8ERCWEG7/x is not "
        "authorized to perform: sns:Publish on resource: arn:aws:sns:us-west-2:123456789012:t because ..."
    )
    other = refusal.replace("-SmRole-", "-OtherRole-")
    failed = "FAILED tests/integration/test_a.py::test_slow - AssertionError"
    assert iam_mutation.verdict(mutation, 1, f"{refusal}\n{failed}") == iam_mutation.PROVEN
    assert iam_mutation.verdict(mutation, 1, f"{other}\n{failed}") == f"{failed}, with no refusal of SmRole"
    assert iam_mutation.verdict(mutation, 0, "1 passed") == "passed"
    with pytest.raises(iam_mutation.MutationError, match="pytest exited 4"):
        iam_mutation.verdict(mutation, 4, "ERROR: file or directory not found")


def test_a_mutation_runs_its_tests_fastest_first_until_one_fails_or_the_limit() -> None:
    """A test may tolerate the refusal by design (a notification that may fail): the next runs."""
    found = [Mutation("SmRole", "P0/Read", "lambda:GetAlias")]
    ran: list[list[str]] = []

    def runner(mutation: Any, tests: list[str]) -> str:
        ran.append(tests)
        return iam_mutation.PROVEN if SLOW in tests else "passed"

    outcome = iam_mutation.check(found, USED, DURATIONS, batch=1, runner=runner, kept={})
    assert ran == [[FAST], [SLOW]]
    assert outcome.proven == found
    ran.clear()
    limited = iam_mutation.check(found, USED, DURATIONS, batch=1, limit=1, runner=runner, kept={})
    assert ran == [[FAST]]
    assert [str(m) for m, _ in limited.survived] == ["SmRole/P0/Read/lambda:GetAlias"]

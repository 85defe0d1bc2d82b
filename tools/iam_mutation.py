"""Every statement of the control plane's roles is needed: removing it makes a test fail.

tools/iam_check.py proves the roles sufficient for what their states and calls require; this
proves them necessary, on the local cloud, which enforces IAM (petclinic_local/moto_compat/iam.py):
each statement of each role template.yaml deploys (the CloudFormation role is tools/cfn_role.py's),
and each action of a statement that lists several, is removed in turn
(``PETCLINIC_IAM_WITHOUT``), and the tests that used it are run: at least one must fail, with the
local cloud refusing the role a request (a failure for another reason proves nothing).

Which tests use which statement is recorded first (``--record``: the tests ``RECORD_TESTS`` lists
run with ``PETCLINIC_IAM_RECORD``; each authorised request of a template role names the first
``Allow`` statement that allowed it, and the action of it that matched), with each test's
duration (pytest's JUnit XML): a mutation runs the passing tests that used what it removes,
fastest first, ``--tests`` (3) to a pytest run, until one fails (or ``--max-tests`` have run: a
test may tolerate the refusal by design, as a workflow whose notification fails). Removing a statement of
several actions removes each of them, so a statement of several actions is proven necessary by
any of its actions' mutations. A mutation no recorded test uses, or that no test fails without,
must be in ``KEPT`` with its reason (a path only AWS takes), or the statement leaves the template::

    python tools/iam_mutation.py --record [TEST...]    # RECORD_TESTS: ~12 min, 2 workers
    python tools/iam_mutation.py --append --record TEST...  # add these tests to the record
    python tools/iam_mutation.py --list [--role R]     # each mutation, its tests or its reason
    python tools/iam_mutation.py [--role R ...] [--jobs 2]  # run them: ~30 s a mutation (a fresh local cloud)

It prints each mutation's outcome and the counts (statements, actions mutated, proven necessary,
kept with a reason) and exits 1 if a mutation survives without a reason, or a reason is kept for
what a test proves necessary.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

if str(Path(__file__).parent) not in sys.path:  # its sibling tools, as when it runs as a script
    sys.path.insert(0, str(Path(__file__).parent))
import iam_check

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / ".cache" / "iam-mutation"
WITHOUT = "PETCLINIC_IAM_WITHOUT"  # petclinic_local/moto_compat/iam.py reads both
RECORD = "PETCLINIC_IAM_RECORD"

# What --record runs: the integration tests that drive the control plane's workflows and
# functions on the local cloud, each as its role (the fault-injection suites repeat the same calls
# with faults; the end-to-end tests the same workflows through the CLI). About 160 tests, ~20 s
# each on 2 busy cores (a fresh local cloud each): ~55 min; ``--record FILE...`` records fewer.
RECORD_TESTS: tuple[str, ...] = (
    "tests/integration/test_deploy_workflow.py",
    "tests/integration/test_deploy_fault_paths.py",
    "tests/integration/test_lifecycle_hook_on_canaries.py",
    "tests/integration/test_edge_stack.py",
    "tests/integration/test_genai_function.py",
    "tests/integration/test_genai_release.py",
    "tests/integration/test_genai_release_attack.py",
    "tests/integration/test_lease_protocol.py",
    "tests/integration/test_provision_workflow.py",
    "tests/integration/test_rotation_cancel.py",
    "tests/integration/test_rotation_function.py",
    "tests/integration/test_rotation_rollout.py",
    "tests/integration/test_runner_on_local_cloud.py",
    "tests/integration/test_scale_workflow.py",
)

_LOG_DELIVERY = (
    "Step Functions' delivery of execution logs to CloudWatch Logs: AWS calls these with the "
    "state machine's role when it creates or updates the state machine with a logging "
    "configuration; the local cloud delivers no execution logs"
)
_OPS_KEY = (
    "KMS behind the encrypted ops topic, queue and tables: AWS's SNS, SQS and DynamoDB call KMS with "
    "the caller's permissions; the local cloud encrypts nothing, so it makes no KMS request"
)

# Mutations no test of the local cloud can need, each with its reason: a mutation's id
# (<role>/<policy>/<Sid or index>[/<action>]), its statement's or its role's, or a pattern of
# them ("*" for any text).
KEPT: dict[str, str] = {
    "*/DeliverExecutionLogs": _LOG_DELIVERY,
    "*/UseTheOpsKey": _OPS_KEY,
    "*/UseTheDataKeyThroughSecretsManagerForTheProvisionedSecretsOnly": (
        "KMS behind the database secrets: Secrets Manager calls KMS with the caller's permissions; "
        "the local cloud encrypts nothing"
    ),
    "*/DecryptTheOriginSecretThroughSecretsManagerOnly": (
        "KMS behind the services stack's origin secret: Secrets Manager calls KMS with the caller's "
        "permissions; the local cloud encrypts nothing"
    ),
    "*/DecryptTheTemplates": (
        "KMS behind the artifact bucket (SSE-KMS with the ops key): S3 decrypts a template the "
        "function reads with the caller's kms:Decrypt; the local cloud encrypts nothing"
    ),
    "*/TraceHasNoResourceLevelPermission": (
        "X-Ray: Lambda's runtime sends the function's trace segments; the local cloud traces nothing"
    ),
    "*/WriteItsOwnLogGroup": (
        "Lambda writes the function's logs with its role; the local cloud's runtime writes them as "
        "the host (petclinic_local/cloud.py)"
    ),
    "*/StepFunctionsSyncIntegrationRule": (
        "the managed EventBridge rule Step Functions creates with the role to follow a .sync "
        "execution; the local cloud's interpreter polls instead"
    ),
    "ScaleSchedulerRole": (
        "EventBridge Scheduler assumes it to start the scale workflow (and to send a failed "
        "invocation to its queue, through the ops key); the local cloud runs no schedules: "
        "tests/integration/test_scale_workflow.py starts the workflow with the schedule's input"
    ),
}


@dataclass(frozen=True, order=True)
class Mutation:
    """What a role's policies are read without: a statement, or one action of it."""

    role: str
    statement: str  # <policy>/<Sid or index>
    action: str | None = None  # None: the whole statement

    def __str__(self) -> str:
        return "/".join(p for p in (self.role, self.statement, self.action) if p)


def listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def mutations(roles: Mapping[str, Any]) -> tuple[list[Mutation], int, int]:
    """Each statement of a single action, and each action of a statement of several (an ``Allow``
    with ``Action``: a Deny or a NotAction is not a grant to prove), of tools/iam_check.py's
    ``roles_of``; with the counts of statements and of actions of several-action statements."""
    found: list[Mutation] = []
    statements = actions = 0
    for name, role in sorted(roles.items()):
        for key, statement in role.statements:
            if statement.get("Effect") != "Allow" or "Action" not in statement:
                continue
            statements += 1
            granted = listed(statement["Action"])
            if len(granted) == 1:
                found.append(Mutation(name, key))
                continue
            actions += len(granted)
            found += [Mutation(name, key, str(action)) for action in granted]
    return found, statements, actions


def kept_reason(mutation: Mutation, kept: Mapping[str, str] = KEPT) -> str | None:
    """The reason ``KEPT`` gives for the mutation, for its statement or for its role (by name,
    then by pattern)."""
    names = (str(mutation), f"{mutation.role}/{mutation.statement}", mutation.role)
    for name in names:
        if name in kept:
            return kept[name]
    return next((why for key, why in kept.items() for name in names if fnmatchcase(name, key)), None)


def read_record(lines: Iterable[str]) -> dict[tuple[str, str, str], set[str]]:
    """(role, statement, action) -> the tests in which it allowed a request."""
    used: dict[tuple[str, str, str], set[str]] = defaultdict(set)
    for line in lines:
        if line.strip():
            entry = json.loads(line)
            used[entry["role"], entry["statement"], entry["action"].lower()].add(entry["test"])
    return used


def read_durations(junit_xml: str) -> dict[str, float | None]:
    """Each test's node id -> its duration in seconds (None: it did not pass)."""
    durations: dict[str, float | None] = {}
    for case in ElementTree.fromstring(junit_xml).iter("testcase"):  # noqa: S314 - pytest's, just written
        module, name = case.get("classname", ""), case.get("name", "")
        parts = module.split(".")
        # pytest's classname is the module's dotted path, then the class if any
        for split in range(len(parts), 0, -1):
            path = "/".join(parts[:split]) + ".py"
            if split == 1 or (ROOT / path).exists():
                node = "::".join([path, *parts[split:], name])
                break
        failed = any(case.find(tag) is not None for tag in ("failure", "error", "skipped"))
        durations[node] = None if failed else float(case.get("time", "0"))
    return durations


def users_of(
    mutation: Mutation,
    used: Mapping[tuple[str, str, str], set[str]],
    durations: Mapping[str, float | None],
    count: int | None = None,
) -> list[str]:
    """The passing tests that used what the mutation removes, fastest first (``count``: so many)."""
    tests = {
        test
        for (role, statement, action), found in used.items()
        if (role, statement) == (mutation.role, mutation.statement)
        and (mutation.action is None or action == mutation.action.lower())
        for test in found
    }
    passing = [t for t in tests if durations.get(t) is not None]
    return sorted(passing, key=lambda t: (durations[t], t))[:count]


def _environment(extra: Mapping[str, str]) -> dict[str, str]:
    paths = [str(ROOT / "local"), str(ROOT / "layers" / "shared"), str(ROOT)]
    if os.environ.get("PYTHONPATH"):
        paths.append(os.environ["PYTHONPATH"])
    return {**os.environ, "PYTHONPATH": os.pathsep.join(paths), **extra}


def _pytest(tests: list[str], extra: Mapping[str, str], *options: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *options, *tests]
    return subprocess.run(  # noqa: S603 - this interpreter, running pytest
        command, cwd=ROOT, env=_environment(extra), capture_output=True, text=True, check=False
    )


class MutationError(Exception):
    pass


PROVEN = "proven"


def verdict(mutation: Mutation, returncode: int, output: str) -> str:
    """``PROVEN`` when a test failed and the local cloud refused the role a request (the failed
    test's report lists the refusals: tests/conftest.py); otherwise what happened."""
    if returncode == 0:
        return "passed"
    if returncode != 1:
        raise MutationError(f"pytest exited {returncode}:\n{output[-2000:]}")
    refused = f"-{mutation.role}-"
    if any(refused in line and "is not authorized to perform" in line for line in output.splitlines()):
        return PROVEN
    failed = next((line for line in output.splitlines() if line.startswith("FAILED")), "a test failed")
    return f"{failed}, with no refusal of {mutation.role}"


def run(mutation: Mutation, tests: list[str]) -> str:
    """Whether a test fails without what the mutation removes, by a refusal of the role."""
    result = _pytest(tests, {WITHOUT: str(mutation)}, "-x")
    return verdict(mutation, result.returncode, result.stdout)


def record(tests: list[str], cache: Path, workers: int, *, append: bool = False) -> int:
    """Run the tests recording which statement allowed what; ``append``: to the record there (the
    tests' durations in another JUnit file), else a new record."""
    cache.mkdir(parents=True, exist_ok=True)
    if not append:
        for old in (cache / "record.jsonl", *cache.glob("record*.xml")):
            old.unlink(missing_ok=True)
    parallel = ("-n", str(workers), "--dist", "loadgroup") if workers > 1 else ()
    # each worker appends whole lines (one write each) to the same record
    xml = f"--junitxml={cache / f'record-{time.time_ns()}.xml' if append else cache / 'record.xml'}"
    result = _pytest(tests, {RECORD: str(cache / "record.jsonl")}, xml, *parallel)
    print(result.stdout[-1500:])
    return 0


@dataclass
class Outcome:
    proven: list[Mutation]
    kept: list[tuple[Mutation, str]]
    survived: list[tuple[Mutation, str]]  # with why it is a problem


def check(
    found: list[Mutation],
    used: Mapping[tuple[str, str, str], set[str]],
    durations: Mapping[str, float | None],
    *,
    batch: int,
    limit: int | None = None,
    runner: Any = run,
    kept: Mapping[str, str] = KEPT,
    jobs: int = 1,
) -> Outcome:
    """Each mutation's verdict: its tests run ``batch`` at a time, fastest first, until one fails
    with a refusal of the role (or ``limit`` have run); ``jobs`` mutations at once."""

    def tried(mutation: Mutation) -> tuple[str, list[str], str] | None:
        tests = users_of(mutation, used, durations, limit)
        if not tests:
            return None
        started = time.monotonic()
        for first in range(0, len(tests), batch):
            ran = tests[first : first + batch]
            found_by = runner(mutation, ran)
            if found_by == PROVEN:
                break
        return found_by, ran, f"{len(tests[: first + batch])} tests, {time.monotonic() - started:.0f} s"

    outcome = Outcome([], [], [])
    with ThreadPoolExecutor(max_workers=max(jobs, 1)) as pool:  # each try is a pytest process
        for mutation, result in zip(found, pool.map(tried, found), strict=True):
            reason = kept_reason(mutation, kept)
            if result is not None:
                found_by, ran, took = result
                _judge(outcome, mutation, reason=reason, found_by=found_by, ran=ran, took=took)
            elif reason is not None:
                outcome.kept.append((mutation, reason))
                print(f"kept     {mutation}: {reason}", flush=True)
            else:
                outcome.survived.append((mutation, "no recorded test uses it, and KEPT gives no reason"))
                print(f"UNUSED   {mutation}: no recorded test uses it", flush=True)
    return outcome


def _judge(
    outcome: Outcome, mutation: Mutation, *, reason: str | None, found_by: str, ran: list[str], took: str
) -> None:
    if found_by == PROVEN and reason is None:
        outcome.proven.append(mutation)
        print(f"proven   {mutation}: {' '.join(ran)} fails without it ({took})", flush=True)
    elif found_by == PROVEN:
        outcome.survived.append((mutation, f"{' '.join(ran)} needs it: drop its KEPT reason"))
        print(f"STALE    {mutation}: {' '.join(ran)} needs it, yet KEPT gives a reason ({took})", flush=True)
    elif reason is not None:
        outcome.kept.append((mutation, reason))
        print(f"kept     {mutation}: {reason} (its tests pass without it: {took})", flush=True)
    else:
        outcome.survived.append((mutation, "every test that used it passed without it"))
        print(f"SURVIVED {mutation}: every test that used it passed without it ({took})", flush=True)


def summary(found: list[Mutation], statements: int, actions: int, outcome: Outcome) -> str:
    proven_statements = {(m.role, m.statement) for m in outcome.proven}
    return (
        f"iam_mutation: {statements} statements, {actions} actions of several-action statements; "
        f"{len(found)} mutations: {len(outcome.proven)} proven necessary by a failing test "
        f"({len(proven_statements)} statements), {len(outcome.kept)} kept with a reason, "
        f"{len(outcome.survived)} without"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument(
        "--record", nargs="*", metavar="TEST", help="record which tests use what (RECORD_TESTS)"
    )
    parser.add_argument("--list", action="store_true", help="list the mutations, their tests or reasons")
    parser.add_argument("--role", action="append", help="only this role (logical id; repeatable)")
    parser.add_argument("--mutation", action="append", help="only the mutations that start so (repeatable)")
    parser.add_argument("--tests", type=int, default=3, help="tests to a pytest run (the fastest first)")
    parser.add_argument("--max-tests", type=int, help="tests run at most for a mutation (default: all)")
    parser.add_argument("--cache", type=Path, default=CACHE, help="where the record is kept")
    parser.add_argument("--append", action="store_true", help="--record adds to the record there")
    parser.add_argument("--workers", type=int, default=2, help="pytest workers of --record (pytest-xdist)")
    parser.add_argument("--jobs", type=int, default=1, help="mutations tried at once")
    args = parser.parse_args(argv)
    if args.record is not None:
        return record(args.record or list(RECORD_TESTS), args.cache, args.workers, append=args.append)
    roles = iam_check.roles_of(iam_check.evaluated())
    unknown = set(args.role or ()) - set(roles)
    if unknown:
        print(f"iam_mutation: no such role: {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    found, statements, actions = mutations(
        {k: v for k, v in roles.items() if not args.role or k in args.role}
    )
    found = [m for m in found if not args.mutation or any(str(m).startswith(p) for p in args.mutation)]
    try:
        used = read_record((args.cache / "record.jsonl").read_text(encoding="utf-8").splitlines())
        durations = read_durations((args.cache / "record.xml").read_text(encoding="utf-8"))
        for appended in sorted(args.cache.glob("record-*.xml")):  # --record --append's, later wins
            durations.update(read_durations(appended.read_text(encoding="utf-8")))
    except FileNotFoundError as missing:
        print(f"iam_mutation: {missing.filename} is missing: run with --record first", file=sys.stderr)
        return 2
    if args.list:
        for mutation in found:
            tests = users_of(mutation, used, durations)
            fastest = tests[0] if tests else "-"
            print(f"{mutation}: {len(tests)} tests, fastest {fastest} {kept_reason(mutation) or ''}".rstrip())
        return 0
    try:
        outcome = check(found, used, durations, batch=args.tests, limit=args.max_tests, jobs=args.jobs)
    except MutationError as exc:
        print(f"iam_mutation: {exc}", file=sys.stderr)
        return 2
    print(summary(found, statements, actions, outcome))
    for mutation, why in outcome.survived:
        print(f"iam_mutation: {mutation}: {why}", file=sys.stderr)
    return 1 if outcome.survived else 0


if __name__ == "__main__":
    sys.exit(main())

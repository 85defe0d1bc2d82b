"""moto's own test suite, run with the local cloud's patches installed: no regressions allowed.

The local cloud patches moto (``petclinic_local.moto_compat``); the patches must keep moto
faithful outside the cases the local cloud needs. This script runs moto's own tests, from the
source distribution of the installed moto version on PyPI, for every moto service a gap patches
(``Gap.moto_services``), with every gap installed (``moto_compat_plugin``), and compares the
failures with ``baseline.txt``: the tests that fail on plain moto on this project's machines (no
Docker, no network), and the tests a gap names in ``Gap.contradicts`` (they assert the moto
behaviour the gap corrects to AWS's). Any other failure is a regression, and the run fails::

    python tools/moto_tests/run.py              # patched, compared with baseline.txt (make moto-tests)
    python tools/moto_tests/run.py --baseline   # plain moto: rewrite baseline.txt

The sdist is downloaded once (``pip download --no-binary :all: --no-deps moto==VERSION``) into
``.cache/moto-tests/`` (git-ignored); only its ``tests/`` folder and pytest configuration are
extracted, so the tests import the installed moto. Both runs deselect the tests moto marks
``requires_docker`` or ``network`` and set TESTS_SKIP_REQUIRES_DOCKER, the same way.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.metadata
import os
import subprocess
import sys
import tarfile
import time
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
BASELINE = HERE / "baseline.txt"
CACHE = ROOT / ".cache" / "moto-tests"
MARKERS = "not requires_docker and not network"
TIMEOUT_SECONDS = 30 * 60


@dataclass
class Outcome:
    passed: set[str] = field(default_factory=set)
    failed: set[str] = field(default_factory=set)
    skipped: set[str] = field(default_factory=set)


def moto_version() -> str:
    return importlib.metadata.version("moto")


def moto_services() -> list[str]:
    """The moto packages the gaps patch (``awslambda_simple``, ``stepfunctions``...)."""
    from petclinic_local import moto_compat  # noqa: PLC0415

    return moto_compat.moto_services()


def sources(version: str) -> Path:
    """moto's tests/ and pytest configuration for ``version``, downloaded and extracted once."""
    folder = CACHE / f"moto-{version}"
    if (folder / "tests" / "conftest.py").exists():
        return folder
    archive = CACHE / f"moto-{version}.tar.gz"
    if not archive.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        pip = [sys.executable, "-m", "pip", "download", "--quiet", "--no-binary", ":all:", "--no-deps"]
        subprocess.run([*pip, "--dest", str(CACHE), f"moto=={version}"], check=True)  # noqa: S603
    prefix = f"moto-{version}/"
    wanted = (f"{prefix}tests/", f"{prefix}pyproject.toml")
    with tarfile.open(archive) as tar:
        members = [m for m in tar.getmembers() if m.name.startswith(wanted) and (m.isfile() or m.isdir())]
        for member in members:
            member.name = member.name.removeprefix(prefix)
        tar.extractall(folder, members=members, filter="data")
    return folder


def run_pytest(folder: Path, services: Sequence[str], *, patched: bool, workers: int, report: Path) -> float:
    paths = [str(folder / "tests" / f"test_{name}") for name in services]
    missing = [path for path in paths if not Path(path).is_dir()]
    if missing:
        raise SystemExit(f"moto {moto_version()} has no tests at {', '.join(missing)}")
    command = [sys.executable, "-m", "pytest", *paths, "-m", MARKERS, "-q", "-p", "no:cacheprovider"]
    command += ["--junitxml", str(report), "-o", "junit_family=xunit1", "--tb=line", "-rN", "--color=no"]
    if workers > 1:
        command += ["-n", str(workers)]
    if patched:
        command += ["-p", "moto_compat_plugin"]
    env = {
        **os.environ,
        "TESTS_SKIP_REQUIRES_DOCKER": "true",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(HERE), os.environ.get("PYTHONPATH")])),
    }
    started = time.monotonic()
    subprocess.run(command, cwd=folder, env=env, check=False, timeout=TIMEOUT_SECONDS)  # noqa: S603
    return time.monotonic() - started


def read_report(report: Path) -> Outcome:
    outcome = Outcome()
    for case in ET.parse(report).getroot().iter("testcase"):  # noqa: S314 - written by pytest, just now
        test = f"{case.get('classname')}::{case.get('name')}"
        if case.find("failure") is not None or case.find("error") is not None:
            outcome.failed.add(test)
        elif case.find("skipped") is not None:
            outcome.skipped.add(test)
        else:
            outcome.passed.add(test)
    outcome.passed -= outcome.failed  # an error at teardown reports a passed test twice
    outcome.skipped -= outcome.failed
    return outcome


def read_baseline() -> set[str]:
    lines = BASELINE.read_text(encoding="utf-8").splitlines()
    return {line.strip() for line in lines if line.strip() and not line.startswith("#")}


def write_baseline(outcome: Outcome, services: Sequence[str], seconds: float) -> None:
    header = [
        f"# moto {moto_version()}'s own tests that fail WITHOUT the local cloud's patches, on this",
        "# project's machines (2 cores, no Docker, no network): what `make moto-tests` tolerates.",
        "# Made by `python tools/moto_tests/run.py --baseline` (the same tests and options as",
        "# `make moto-tests`, requirements/moto-tests.txt installed, without moto_compat_plugin)",
        f"# on {dt.date.today().isoformat()}: {', '.join(services)};",
        f"# {len(outcome.passed)} passed, {len(outcome.failed)} failed, {len(outcome.skipped)} skipped "
        f"in {seconds:.0f} s. One test per line.",
    ]
    BASELINE.write_text("\n".join(header + sorted(outcome.failed)) + "\n", encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", action="store_true", help="run plain moto and rewrite baseline.txt")
    parser.add_argument("--workers", type=int, default=2, help="pytest-xdist workers (2)")
    parser.add_argument("--services", nargs="*", help="moto packages (default: those the gaps patch)")
    args = parser.parse_args(argv)
    services = args.services or moto_services()
    folder = sources(moto_version())
    report = CACHE / ("plain.xml" if args.baseline else "patched.xml")
    seconds = run_pytest(folder, services, patched=not args.baseline, workers=args.workers, report=report)
    outcome = read_report(report)
    ran = len(outcome.passed) + len(outcome.failed)
    if args.baseline:
        write_baseline(outcome, services, seconds)
        print(f"moto-tests baseline: {ran} run, {len(outcome.failed)} fail on plain moto -> {BASELINE}")
        return 0
    baseline = read_baseline()
    from petclinic_local import moto_compat  # noqa: PLC0415

    contradicted = moto_compat.contradicted_moto_tests()
    regressions = sorted(outcome.failed - baseline - set(contradicted))
    fixed = sorted((baseline - outcome.failed) & outcome.passed)
    print(
        f"\nmoto-tests (moto {moto_version()}; {', '.join(services)}) with every moto_compat gap installed:"
    )
    print(
        f"  {ran} run: {len(outcome.passed)} passed, {len(outcome.failed & baseline)} failed as in the "
        f"baseline, {len(regressions)} regressions; {len(outcome.skipped)} skipped; {seconds:.0f} s"
    )
    for test in fixed:
        print(f"  passes now, fails in the baseline (flaky, or the baseline is stale): {test}")
    for test in sorted(set(contradicted) & outcome.failed):
        print(f"  fails as gap {contradicted[test]} intends (it asserts moto's behaviour, not AWS's): {test}")
    for test in sorted(set(contradicted) & outcome.passed):
        print(f"  passes although gap {contradicted[test]} contradicts it (moto or the test changed): {test}")
    for test in regressions:
        print(f"  REGRESSION: {test}")
    return 1 if regressions else 0


if __name__ == "__main__":
    sys.exit(main())

"""Run tests repeatedly while other processes keep every CPU busy, and count the failures.

A suite that passes on an idle machine but not on a busy one has a race or a timeout scaled below
what a slow CPU needs; CI machines are busy. ``make stress`` runs the integration tests RUNS times
with 2 busy-loop processes per CPU beside them and prints, per run, the result and the failed tests:

    python tools/stress.py [--runs 5] [--load-per-cpu 2] [pytest args...]   (default: tests/integration)
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import re
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
FAILED = re.compile(r"^(?:FAILED|ERROR) (\S+)", re.MULTILINE)
SUMMARY = re.compile(r"^=*\s*(\d+ (?:passed|failed|error).*?) in ([\d.]+)s", re.MULTILINE)


def _burn(stop: Any) -> None:
    value = 0
    while not stop.is_set():
        for _ in range(100_000):
            value = (value * 31 + 7) % 1_000_003


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--load-per-cpu", type=int, default=2, help="busy processes per CPU (0: no load)")
    args, pytest_args = parser.parse_known_args(argv)
    pytest_args = pytest_args or ["tests/integration"]
    cpus = os.cpu_count() or 1
    stop = multiprocessing.Event()
    burners = [
        multiprocessing.Process(target=_burn, args=(stop,), daemon=True)
        for _ in range(cpus * args.load_per_cpu)
    ]
    for burner in burners:
        burner.start()
    print(f"{len(burners)} busy processes on {cpus} CPUs; {args.runs} runs of pytest {' '.join(pytest_args)}")
    failures: Counter[str] = Counter()
    failed_runs = 0
    try:
        for run in range(1, args.runs + 1):
            started = time.monotonic()
            command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "2", "--dist"]
            result = subprocess.run(  # noqa: S603 - this interpreter, running pytest
                [*command, "loadgroup", *pytest_args], cwd=ROOT, capture_output=True, text=True, check=False
            )
            names = FAILED.findall(result.stdout)
            failures.update(names)
            failed_runs += result.returncode != 0
            summary = SUMMARY.findall(result.stdout)
            line = summary[-1][0] if summary else f"exit {result.returncode}"
            print(f"run {run}: {line} ({time.monotonic() - started:.0f} s)", flush=True)
            for name in names:
                print(f"    failed: {name}", flush=True)
            # Why: the assertion lines of each failure (E ...), so a flake explains itself.
            for line in [line for line in result.stdout.splitlines() if line.startswith("E ")][:40]:
                print(f"      {line}", flush=True)
            if result.returncode not in (0, 1):
                print(result.stdout[-3000:], result.stderr[-3000:], sep="\n")
    finally:
        stop.set()
        for burner in burners:
            burner.join(timeout=5)
    print(f"\n{args.runs} runs under load: {failed_runs} failed; failing tests: {dict(failures) or 'none'}")
    return 1 if failed_runs else 0


if __name__ == "__main__":
    sys.exit(main())

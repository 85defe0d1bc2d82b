"""`make bench`: every benchmark, one after the other; each prints its own figures."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHMARKS = [
    "cold_start.py",
    "deploy_transitions.py",
    "rotation_transitions.py",
    "rotation_logins.py",
    "rotation_connections.py",
    "local_serve.py",
    "genai_router.py",
    "genai_fallback.py",
    "provision.py",
    "scale.py",
    "canary_judge.py",
    "deploy_strategies.py",
    "canary_rollbacks.py",
    "sfn_end_consistency.py",
    "iam_enforcement.py",
]


def main() -> int:
    failed = []
    for script in BENCHMARKS:
        print(f"\n=== benchmarks/{script}", flush=True)
        if subprocess.run([sys.executable, str(HERE / script)], check=False).returncode != 0:
            failed.append(script)
    if failed:
        print(f"\nmissed their targets: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

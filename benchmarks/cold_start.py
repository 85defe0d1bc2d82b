"""Cold initialisation of each Lambda handler against a bare `import boto3`, in one run.

Each sample is a fresh interpreter (as a new execution environment is) that imports the handler
module the way the Lambda runtime does (its folder and the layer on sys.path, the environment of
a Lambda execution environment), timed inside that interpreter. Samples of handlers and of
`import boto3` alternate so machine noise hits both alike; medians are compared.

    python benchmarks/cold_start.py [--samples 15]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LAYER = ROOT / "layers" / "shared"
TARGET_RATIO = 1.3

PROBE = """
import sys, time
started = time.perf_counter()
{statement}
print(time.perf_counter() - started)
"""


def template_globals() -> dict[str, str]:
    """The plain variables template.yaml's Globals give every function (references left out)."""
    from samtranslator.yaml_helper import yaml_parse  # noqa: PLC0415

    template = yaml_parse((ROOT / "template.yaml").read_text())
    variables = template["Globals"]["Function"]["Environment"]["Variables"]
    return {name: value for name, value in variables.items() if isinstance(value, str)}


def lambda_environment(function: str) -> dict[str, str]:
    # What the Lambda runtime sets (and the template's Globals); the X-Ray SDK takes its
    # in-Lambda code path when it sees LAMBDA_TASK_ROOT.
    return {
        **os.environ,
        **GLOBALS,
        "LAMBDA_TASK_ROOT": str(ROOT / "functions" / function),
        "AWS_LAMBDA_FUNCTION_NAME": function,
        "AWS_REGION": "us-west-2",
        "AWS_DEFAULT_REGION": "us-west-2",
        "POWERTOOLS_SERVICE_NAME": "petclinic-ops",
        "POWERTOOLS_METRICS_NAMESPACE": "PetClinicOps/bench",
        "DEPLOY_CONFIG": json.dumps({"cluster": "petclinic-dev", "services": ["customers-service"]}),
        "PYTHONDONTWRITEBYTECODE": "1",
    }


GLOBALS = template_globals()


def sample(statement: str, env: dict[str, str]) -> float:
    done = subprocess.run(
        [sys.executable, "-c", PROBE.format(statement=statement)],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    return float(done.stdout.strip().splitlines()[-1])


def handler_statement(function: str) -> str:
    paths = [str(ROOT / "functions" / function), str(LAYER)]
    return f"sys.path[:0] = {paths!r}\nimport app"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--samples", type=int, default=15)
    args = parser.parse_args()
    functions = sorted(p.parent.name for p in (ROOT / "functions").glob("*/app.py"))
    boto3_times: list[float] = []
    handler_times: dict[str, list[float]] = {name: [] for name in functions}
    for name in functions:  # warm the file cache once; not counted
        sample(handler_statement(name), lambda_environment(name))
    for _ in range(args.samples):
        boto3_times.append(sample("import boto3", lambda_environment("boto3")))
        for name in functions:
            handler_times[name].append(sample(handler_statement(name), lambda_environment(name)))
    baseline = statistics.median(boto3_times)
    print(f"cold initialisation, median of {args.samples} fresh interpreters each (same run, alternating)")
    print(f"  {'import boto3':<28} {baseline * 1000:7.1f} ms   1.00x")
    worst = 0.0
    for name, times in handler_times.items():
        ratio = statistics.median(times) / baseline
        worst = max(worst, ratio)
        label, median = "functions/" + name, statistics.median(times) * 1000
        print(f"  {label:<28} {median:7.1f} ms   {ratio:.2f}x  (target <= {TARGET_RATIO}x)")
    return 0 if worst <= TARGET_RATIO else 1


if __name__ == "__main__":
    sys.exit(main())

"""Answer whenever a model can: our model router on the fallback trace of issue 20, beside
LiteLLM's Router on the same trace when a Python with LiteLLM is given.

The trace (benchmarks/genai_trace.py): 1,000 requests, one per simulated second; the primary
model throttled in windows covering 0 %, 20 % and 50 % of the time, 3 % of its other calls slow
(past the call's timeout), the fallback unavailable 2 % of the time; seeded, the same outcomes
for every router. Both routers: chain primary -> fallback, a model cooled down after one failure
(LiteLLM: allowed_fails=0), cooldown 5 s, no retries.

Ours: the deployed chat turn (``Assistant.ask``: the conversation's memory, ``ModelRouter``, the
tool loop) with in-memory state and memory on a simulated clock; every call carries the system
prompt and the four tools. The mock models only look the trace up and answer text; their time
is subtracted: the overhead is the turn's own (memory, routing, cooldowns, fallback).

LiteLLM is never a dependency of this project: install it in a throwaway environment outside the
repository and pass its Python:

    python3.11 -m venv /tmp/litellm && /tmp/litellm/bin/pip install litellm==1.110.2
    python benchmarks/genai_fallback.py [--litellm-python /tmp/litellm/bin/python] [--seed 7]

Targets: success at least LiteLLM's at every throttling level (when it ran), overhead p50 under
0.5 ms. Exit 1 when one is missed.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(ROOT / "layers" / "shared"), str(ROOT / "tests"), str(HERE)]

from genai_fakes import MemoryConversations, MemoryRouterState  # noqa: E402
from genai_trace import COOLDOWN_SECONDS, FALLBACK, PRIMARY, REPLAY_SECOND, START, Figures, make_trace  # noqa: E402

from petclinic_ops.domain.genai.chat import Assistant  # noqa: E402
from petclinic_ops.domain.genai.router import (  # noqa: E402
    ChatUnavailable,
    ConverseRequest,
    ConverseResult,
    ModelFailure,
    ModelRouter,
    RouterConfig,
)
from petclinic_ops.domain.genai.tools import Toolbox, VetIndex  # noqa: E402
from petclinic_ops.models.genai import ModelTarget  # noqa: E402

MODELS = {PRIMARY: "anthropic.claude-3-haiku-20240307-v1:0", FALLBACK: "amazon.titan-text-express-v1"}
ROLES = {model_id: role for role, model_id in MODELS.items()}
KINDS = {"throttled": "throttled", "slow": "timeout", "unavailable": "unavailable"}
LEVELS = (0.0, 0.2, 0.5)
TARGET_OVERHEAD_MS = 0.5


class TraceModels:
    """Converse that follows the trace: the current request's outcome for the model called."""

    def __init__(self, trace: list[dict[str, str]]) -> None:
        self.trace = trace
        self.index = 0
        self.in_models = 0.0
        self.calls = 0

    def converse(self, target: ModelTarget, request: ConverseRequest) -> ConverseResult:
        started = time.perf_counter()
        self.calls += 1
        outcome = self.trace[self.index][ROLES[target.model_id]]
        try:
            if outcome != "ok":
                raise ModelFailure(KINDS[outcome], f"{outcome} (trace)")  # type: ignore[arg-type]
            return ConverseResult("end_turn", [{"text": "ok"}], 100, 20, target.model_id)
        finally:
            self.in_models += time.perf_counter() - started


class NoPetClinic:
    """The trace's models never ask for a tool."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"no tool is called on this trace ({name})")


class NoEmbedder:
    def embed(self, texts: Any) -> list[list[float]]:
        raise AssertionError("no vet search on this trace")


def run_ours(trace: list[dict[str, str]], cooldown: float) -> dict[str, float]:
    models = TraceModels(trace)
    clock = [START]
    config = RouterConfig(
        chain=(ModelTarget.of(MODELS[PRIMARY]), ModelTarget.of(MODELS[FALLBACK])),
        cooldown_seconds=cooldown,
        daily_token_budget=10**12,
    )
    router = ModelRouter(config, models, MemoryRouterState(), clock=lambda: clock[0])
    chat = Assistant(router, Toolbox(NoPetClinic(), VetIndex(NoEmbedder())), MemoryConversations())
    figures = Figures()
    for index in range(len(trace)):
        models.index, models.in_models = index, 0.0
        clock[0] = START + index
        started = time.perf_counter()
        try:
            chat.ask(f"user-{index % 40}", "Which vets are radiologists?")
            figures.succeeded += 1
        except ChatUnavailable:
            pass
        figures.overheads_ms.append((time.perf_counter() - started - models.in_models) * 1000)
    figures.calls = {"all": models.calls}
    return figures.summary(len(trace))


def run_litellm(python: str, throttled: float, args: argparse.Namespace) -> dict[str, Any]:
    command = [python, str(HERE / "genai_trace.py"), "--litellm", "--requests", str(args.requests),
               "--throttled", str(throttled), "--seed", str(args.seed), "--cooldown", str(args.cooldown),
               "--second", str(args.second)]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, check=False, env={**os.environ})
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"LiteLLM's run failed ({done.returncode}): {done.stderr.strip()[-600:]}")
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--cooldown", type=float, default=COOLDOWN_SECONDS)
    parser.add_argument(
        "--second", type=float, default=REPLAY_SECOND, help="LiteLLM's replay: real s per simulated s"
    )
    parser.add_argument("--litellm-python", default=os.environ.get("LITELLM_PYTHON"))
    parser.add_argument(
        "--repeat", type=int, default=5, help="runs of ours per level (overhead: median of them)"
    )
    args = parser.parse_args()

    print(
        f"fallback trace: {args.requests} requests, 1 per simulated second, primary throttled in "
        f"{20}-second windows, 3 % of its other calls slow (timeout), the fallback unavailable 2 %; "
        f"seed {args.seed}; cooldown {args.cooldown:g} s; a model cooled after one failure; no retries"
    )
    if args.litellm_python:
        print(f"LiteLLM: {args.litellm_python} (replayed in real time, 1 simulated s = {args.second:g} s)")
    else:
        print("LiteLLM: not run (pass --litellm-python or LITELLM_PYTHON: a Python with litellm installed)")
    print(f"  {'throttled':>9}  {'ours: success':>13}  {'overhead p50':>12}  {'p95':>7}  "
          f"{'LiteLLM: success':>16}  {'overhead p50':>12}  {'p95':>7}  {'late':>4}")  # fmt: skip
    missed = []
    for level in LEVELS:
        trace = make_trace(args.requests, level, args.seed)
        runs = [run_ours(trace, args.cooldown) for _ in range(args.repeat)]
        ours = {**runs[0], "overheadP50Ms": statistics.median(r["overheadP50Ms"] for r in runs),
                "overheadP95Ms": statistics.median(r["overheadP95Ms"] for r in runs)}  # fmt: skip
        row = (f"  {level:>9.0%}  {ours['success']:>13.1%}  {ours['overheadP50Ms']:>9.3f} ms  "
               f"{ours['overheadP95Ms']:>4.2f} ms")  # fmt: skip
        if ours["overheadP50Ms"] >= TARGET_OVERHEAD_MS:
            missed.append(f"overhead p50 at {level:.0%}")
        if args.litellm_python:
            theirs = run_litellm(args.litellm_python, level, args)
            row += (f"  {theirs['success']:>16.1%}  {theirs['overheadP50Ms']:>9.3f} ms  "
                    f"{theirs['overheadP95Ms']:>4.1f} ms  {theirs['late']:>4}")  # fmt: skip
            if ours["success"] < theirs["success"]:
                missed.append(f"success at {level:.0%}")
        print(row, flush=True)
    verdict = "MISSED: " + ", ".join(missed) if missed else "met"
    print(f"targets: success >= LiteLLM's, overhead p50 < {TARGET_OVERHEAD_MS} ms: {verdict}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())

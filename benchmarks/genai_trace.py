"""The fallback trace of issue 20, and LiteLLM's Router run on it. Standard library only at import:
``benchmarks/genai_fallback.py`` imports it for the trace and for our router's run, and runs it
as a script with the Python of a throwaway environment that has LiteLLM for LiteLLM's run (LiteLLM
is never a dependency of this project).

The trace: ``requests`` chat requests, one per simulated second. Two models, a primary (Claude 3
Haiku's place) and a fallback (Titan Text's). Time is cut into windows of ``window`` seconds; a
share ``throttled`` of the windows, drawn with the seed, throttles every call of the primary
(ThrottlingException, 429); outside them 3 % of the primary's calls are slow (longer than the
call's timeout: a timeout, which falls back as Bedrock's ModelTimeoutException does); 2 % of the
fallback's calls find it unavailable (ServiceUnavailableException, 503). The outcome of each
(request, model) pair is drawn once, so every router meets the same trace whatever it calls.

A request succeeds when some model answers it. The overhead of a request is its wall time in the
router minus the time spent in the mock model calls (which only look the trace up).

    <venv with litellm>/bin/python benchmarks/genai_trace.py --litellm [--throttled 0.2] [--seed 7]
    # prints one JSON object: {"success", "overheadP50Ms", "overheadP95Ms", "calls", "late", "litellm"}
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import random
import statistics
import sys
import time
from dataclasses import dataclass, field

PRIMARY, FALLBACK = "primary", "fallback"
SLOW_SHARE = 0.03
FALLBACK_UNAVAILABLE_SHARE = 0.02
WINDOW_SECONDS = 20
COOLDOWN_SECONDS = 5.0
START = 1_800_000_000.0  # the simulated clock's first second (any fixed epoch)
REPLAY_SECOND = 0.1  # LiteLLM's real-time replay: real seconds per simulated second


def make_trace(
    requests: int, throttled: float, seed: int, window: int = WINDOW_SECONDS
) -> list[dict[str, str]]:
    """Per request, each model's outcome: ok, throttled, slow or unavailable."""
    rng = random.Random(seed)
    windows = math.ceil(requests / window)
    bad = set(rng.sample(range(windows), round(throttled * windows)))
    trace = []
    for index in range(requests):
        slow = rng.random() < SLOW_SHARE
        down = rng.random() < FALLBACK_UNAVAILABLE_SHARE
        primary = "throttled" if index // window in bad else ("slow" if slow else "ok")
        trace.append({PRIMARY: primary, FALLBACK: "unavailable" if down else "ok"})
    return trace


@dataclass
class Figures:
    succeeded: int = 0
    overheads_ms: list[float] = field(default_factory=list)
    calls: dict[str, int] = field(default_factory=dict)

    def summary(self, requests: int) -> dict[str, float]:
        return {
            "success": self.succeeded / requests,
            "overheadP50Ms": statistics.median(self.overheads_ms),
            "overheadP95Ms": sorted(self.overheads_ms)[int(len(self.overheads_ms) * 0.95)],
            "calls": sum(self.calls.values()),
        }


# --------------------------------------------------------------------------- LiteLLM's Router


def run_litellm(trace: list[dict[str, str]], cooldown: float, second: float) -> dict[str, float | str]:
    """LiteLLM's Router on the trace: a deployment per model (a custom provider that follows
    the trace), fallbacks primary -> fallback, allowed_fails=0, cooldown_time=``cooldown``
    simulated seconds, no retries. LiteLLM keeps its cooldowns in a native (Rust) store with a
    clock of its own, which no patch of ``time.time`` reaches: the trace is replayed in real
    time, one simulated second every ``second`` seconds (a request starts when its second comes;
    the cooldown is scaled the same way). ``late``: requests that started more than half a
    second late (the previous one took longer than a second), which would blur the replay."""
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # offline: its bundled price list
    import litellm  # noqa: PLC0415 - only in LiteLLM's own environment
    from litellm import CustomLLM, Router  # noqa: PLC0415

    figures = Figures()
    late = 0
    current = {"index": 0, "in_mock": 0.0}
    errors = {
        "throttled": lambda model: litellm.RateLimitError("ThrottlingException (trace)", "trace", model),
        "slow": lambda model: litellm.Timeout("ModelTimeoutException (trace)", model, "trace"),
        "unavailable": lambda model: litellm.ServiceUnavailableError(
            "ServiceUnavailable (trace)", "trace", model
        ),
    }

    class TraceLLM(CustomLLM):  # type: ignore[misc]
        def completion(self, model: str, *args: object, **kwargs: object) -> object:
            started = time.perf_counter()
            name = model.rsplit("/", maxsplit=1)[-1]
            figures.calls[name] = figures.calls.get(name, 0) + 1
            outcome = trace[current["index"]][name]
            try:
                if outcome != "ok":
                    raise errors[outcome](model)
                return litellm.ModelResponse(
                    model=name, choices=[{"message": {"role": "assistant", "content": "ok"}}]
                )
            finally:
                current["in_mock"] += time.perf_counter() - started

    litellm.custom_provider_map = [{"provider": "trace", "custom_handler": TraceLLM()}]
    litellm.suppress_debug_info = True
    logging.getLogger("LiteLLM Router").setLevel(logging.CRITICAL)
    logging.getLogger("LiteLLM").setLevel(logging.CRITICAL)
    router = Router(
        model_list=[
            {"model_name": PRIMARY, "litellm_params": {"model": f"trace/{PRIMARY}"}},
            {"model_name": FALLBACK, "litellm_params": {"model": f"trace/{FALLBACK}"}},
        ],
        fallbacks=[{PRIMARY: [FALLBACK]}],
        allowed_fails=0,
        cooldown_time=cooldown * second,
        num_retries=0,
    )
    messages = [{"role": "user", "content": "Which vets are radiologists?"}]
    router.completion(model=FALLBACK, messages=messages, mock_response="warm")  # imports, caches
    origin = time.perf_counter()
    for index in range(len(trace)):
        due = origin + index * second
        wait = due - time.perf_counter()
        if wait > 0:
            time.sleep(wait)
        elif -wait > second / 2:
            late += 1
        current["index"], current["in_mock"] = index, 0.0
        started = time.perf_counter()
        try:
            router.completion(model=PRIMARY, messages=messages)
            figures.succeeded += 1
        except Exception:  # a failed request: every model it tried failed
            pass
        figures.overheads_ms.append((time.perf_counter() - started - current["in_mock"]) * 1000)
    return {**figures.summary(len(trace)), "late": late, "litellm": _version("litellm")}


def _version(package: str) -> str:
    from importlib.metadata import version  # noqa: PLC0415

    return version(package)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--litellm", action="store_true", help="run LiteLLM's Router (needs litellm installed)"
    )
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--throttled", type=float, default=0.2)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--cooldown", type=float, default=COOLDOWN_SECONDS)
    parser.add_argument(
        "--second", type=float, default=REPLAY_SECOND, help="real seconds per simulated second"
    )
    args = parser.parse_args()
    if not args.litellm:
        parser.error("nothing to run: --litellm (our router runs in benchmarks/genai_fallback.py)")
    trace = make_trace(args.requests, args.throttled, args.seed)
    print(json.dumps(run_litellm(trace, args.cooldown, args.second)))
    return 0


if __name__ == "__main__":
    sys.exit(main())

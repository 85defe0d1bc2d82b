"""Step Functions' JSONata: ``evaluate_jsonata`` and the functions Step Functions adds.

The ASL files' ``{% ... %}`` expressions are JSONata (jsonata-python). Step Functions binds
``$states`` and the workflow's variables and adds ``$partition``, ``$range``, ``$hash``,
``$random``, ``$uuid`` and ``$parse`` (AWS docs, "Transforming data with JSONata"). The local
cloud's Step Functions uses this evaluator (``moto_compat.stepfunctions``), and unit tests
evaluate the ASL files' expressions with it directly.
"""

from __future__ import annotations

import hashlib
import json
import random
import uuid
from collections.abc import Callable
from typing import Any

from petclinic_local import recursion

with recursion.kept():  # jsonata-python sets the whole process's recursion limit to 10,000 as it loads
    import jsonata
    from jsonata.utils import Utils as JsonataUtils


class JsonataUndefined(Exception):
    """The expression evaluated to nothing (JSONata's undefined, not null)."""


def _parse(value: str) -> Any:
    return json.loads(value)


def _partition(array: list[Any], size: int) -> list[list[Any]]:
    return [array[i : i + int(size)] for i in range(0, len(array), int(size))]


def _range(first: float, last: float, step: float) -> list[float]:
    """A JSONata sequence, as AWS's $range returns: one value is that value (``$range(1, 9, 9)`` is
    1, not [1]), none is undefined; ``$append([], ...)`` makes an array of any of them."""
    out: list[float] = JsonataUtils.create_sequence()
    value = first
    while (step > 0 and value <= last) or (step < 0 and value >= last):
        out.append(value)
        value += step
    return out


def _hash(value: str, algorithm: str = "SHA-256") -> str:
    name = algorithm.replace("-", "").lower()
    return hashlib.new(name, value.encode()).hexdigest()


def aws_functions() -> dict[str, Callable[..., Any]]:
    """Step Functions' additions to JSONata, by name (without the $)."""
    return {
        "parse": _parse,
        "uuid": lambda: str(uuid.uuid4()),
        "partition": _partition,
        "range": _range,
        "hash": _hash,
        "random": lambda *seed: random.Random(seed[0] if seed else None).random(),  # noqa: S311
    }


def evaluate_jsonata(expression: str, bindings: dict[str, Any]) -> Any:
    """Evaluate one JSONata expression with variables bound to Python values.

    Values are bound, not printed into the expression text, so strings with quotes and large
    documents cost nothing to parse. Raises ``JsonataUndefined`` when the result is undefined.

    The evaluation runs at the process's recursion limit (Lambda's 1,000 while a handler runs); one
    that needs more (a recursive JSONata function, deeply nested data) runs again with the room
    jsonata-python is built for, on a thread of its own while no handler runs
    (``recursion.run_deep``), so what evaluated before the limit was kept for handlers still does.
    """
    try:
        return _evaluate(expression, bindings)
    except Exception as exc:
        if not _hit_recursion_limit(exc):
            raise
    return recursion.run_deep(lambda: _evaluate(expression, bindings))


def evaluate_text(expression: str) -> Any:
    """Evaluate a self-contained JSONata text (no bindings, no AWS functions), as moto's interpreter
    composes for JSONPath states reading variables; None when undefined."""
    try:
        return jsonata.Jsonata(expression).evaluate(None)
    except Exception as exc:
        if not _hit_recursion_limit(exc):
            raise
    return recursion.run_deep(lambda: jsonata.Jsonata(expression).evaluate(None))


def _evaluate(expression: str, bindings: dict[str, Any]) -> Any:
    compiled = jsonata.Jsonata(expression)
    for name, function in aws_functions().items():
        compiled.register_lambda(name, function)
    compiled.set_output_convert_nulls(False)
    values = {name: JsonataUtils.NULL_VALUE if value is None else value for name, value in bindings.items()}
    result = compiled.evaluate(None, values)
    if result is None:
        raise JsonataUndefined(expression)
    return JsonataUtils.convert_nulls(result)


def _hit_recursion_limit(exc: BaseException) -> bool:
    """Whether the evaluation ran out of frames: jsonata-python turns some exceptions into its own
    (a RecursionError in ``and``/``or`` becomes "Unexpected"), so look along the chain."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, RecursionError):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False

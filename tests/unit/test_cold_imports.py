"""What a function imports at cold start (issue 20, section 5): each function's app.py, imported
in a fresh interpreter as the Lambda runtime imports it (benchmarks/cold_start.py's environment:
the template's Globals), loads its own models and nothing a request does not need: not another
function's models (settings.py builds a settings class on first use), not Powertools' parser
package (the handler kit validates with the model itself), not the GenAI router before a question
(the assistant is assembled on the first one), and pydantic does not scan the installed
distributions for plugins. And every app.py is its parse-call-return: one handler, one return.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import subprocess
import sys
from types import ModuleType

import pytest
from template_resources import ROOT, Function, functions

DOMAIN_MODELS = {"deploy", "rotation", "scale", "provision", "genai"}
NOT_AT_INIT = ("aws_lambda_powertools.utilities.parser", "petclinic_ops.domain.genai.router")
PROBE = """
import json, sys
sys.path[:0] = {paths!r}
import app
import pydantic.plugin._loader as plugins
print(json.dumps({{"modules": sorted(sys.modules), "plugins_scanned": plugins._plugins is not None}}))
"""


def _benchmark() -> ModuleType:
    spec = importlib.util.spec_from_file_location("cold_start", ROOT / "benchmarks" / "cold_start.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def cold_start() -> ModuleType:
    return _benchmark()


@pytest.mark.parametrize("function", functions(), ids=lambda function: function.code.name)
def test_a_function_imports_its_own_models_only(cold_start: ModuleType, function: Function) -> None:
    paths = [str(function.code), str(ROOT / "layers" / "shared")]
    done = subprocess.run(
        [sys.executable, "-c", PROBE.format(paths=paths)],
        capture_output=True,
        text=True,
        env=cold_start.lambda_environment(function.code.name),
        check=True,
    )
    loaded = json.loads(done.stdout.strip().splitlines()[-1])
    modules = set(loaded["modules"])
    models = {name.rsplit(".", 1)[1] for name in modules if name.startswith("petclinic_ops.models.")}
    assert len(models & DOMAIN_MODELS) <= 1, f"{function.code.name} loads the models of {sorted(models)}"
    assert [name for name in NOT_AT_INIT if name in modules] == []
    assert loaded["plugins_scanned"] is False


@pytest.mark.parametrize("function", functions(), ids=lambda function: function.code.name)
def test_an_app_is_its_parse_call_return(function: Function) -> None:
    """No function of its own but the handler, whose body is one return (a docstring allowed)."""
    tree = ast.parse((function.code / "app.py").read_text())
    defined = [node for node in ast.walk(tree) if isinstance(node, ast.FunctionDef | ast.ClassDef)]
    assert [node.name for node in defined] == ["lambda_handler"]
    (handler,) = defined
    assert isinstance(handler, ast.FunctionDef)
    body = [s for s in handler.body if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))]
    assert len(body) == 1
    assert isinstance(body[0], ast.Return)
    calls = [d.func for d in handler.decorator_list if isinstance(d, ast.Call)]
    assert [f.attr for f in calls if isinstance(f, ast.Attribute)] == ["handler"]
    assert len(calls) == 1

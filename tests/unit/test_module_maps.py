"""The module maps say what is there: README's Layout and its local-cloud tree, docs/architecture.md
and every package's docstring name every module that exists, and none that does not.

A package's docstring map is its lines that start with a name (``x.py``, ``x/`` or ``x``)
followed by two or more spaces and a description; every module and folder of the package is one
of them. The README's local-cloud tree does the same for local/petclinic_local/ (its top level),
and every ``x.py`` or ``x/`` its descriptions mention exists (in the local cloud, or at the top
of the repository). The Layout names every top-level folder, and the folders it enumerates
(workflows, functions, tools, tests, docs) all of their members; docs/architecture.md names
every workflow's ASL file and every function's folder.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from template_resources import ROOT, functions, state_machines

PACKAGE_ROOTS = (ROOT / "layers" / "shared" / "petclinic_ops", ROOT / "local" / "petclinic_local")
# Packages whose map is someone else's to write, with why (remove the entry with the map).
NOT_YET: dict[str, str] = {}
_ENTRY = re.compile(r"^ *(?P<name>[A-Za-z_][\w]*)(?P<kind>\.py|/)?(?= {2,}\S)")
_MENTION = re.compile(r"(?<![\w/.<])([A-Za-z_][\w]*)(\.py\b|/(?=[\s),;:]|$))")


def _members(folder: Path) -> dict[str, str]:
    """name -> ".py" (a module) or "/" (a folder) of what a package folder holds."""
    members = {}
    for path in folder.iterdir():
        if path.name in {"__init__.py", "__pycache__"} or path.name.startswith("."):
            continue
        if path.is_dir():
            members[path.name] = "/"
        elif path.suffix == ".py":
            members[path.stem] = ".py"
    return members


def _entries(text: str) -> dict[str, str]:
    found = {}
    for line in text.splitlines():
        match = _ENTRY.match(line)
        if match:
            found[match["name"]] = match["kind"] or ""
    return found


def _compare(where: str, entries: dict[str, str], members: dict[str, str]) -> list[str]:
    problems = [
        f"{where}: does not name {name}{kind}"
        for name, kind in sorted(members.items())
        if name not in entries
    ]
    for name, kind in sorted(entries.items()):
        if name not in members:
            problems.append(f"{where}: names {name}{kind}, which does not exist")
        elif kind and kind != members[name]:
            problems.append(
                f"{where}: names {name}{kind}, which is a {'folder' if members[name] == '/' else 'module'}"
            )
    return problems


def _packages() -> list[Path]:
    return sorted(init.parent for root in PACKAGE_ROOTS for init in root.rglob("__init__.py"))


@pytest.mark.parametrize("package", _packages(), ids=lambda path: str(path.relative_to(ROOT)))
def test_a_package_docstring_names_every_module(package: Path) -> None:
    relative = str(package.relative_to(ROOT))
    if relative in NOT_YET:
        pytest.skip(NOT_YET[relative])
    docstring = ast.get_docstring(ast.parse((package / "__init__.py").read_text(encoding="utf-8"))) or ""
    assert _compare(f"{relative}/__init__.py", _entries(docstring), _members(package)) == []


def _block(text: str, heading: str) -> str:
    """The first fenced block after ``heading``."""
    start = text.index(heading)
    opening = text.index("```", start)
    body = text.index("\n", opening) + 1
    return text[body : text.index("```", body)]


README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_the_readme_local_cloud_tree_names_every_module() -> None:
    tree = _block(README, "Its folders say what is where")
    local = ROOT / "local" / "petclinic_local"
    lines = [line for line in tree.splitlines() if not line.startswith("local/petclinic_local/")]
    top = {
        m["name"]: m["kind"] or ""
        for line in lines
        if (m := _ENTRY.match(line)) and line.startswith("  ") and not line.startswith("   ")
    }
    problems = _compare("README.md, the local cloud's tree", top, _members(local))
    anywhere = {
        path.stem if path.suffix == ".py" else path.name
        for path in local.rglob("*")
        if "__pycache__" not in path.parts
    }
    problems += [
        f"README.md's tree mentions {name}{kind}, which does not exist"
        for name, kind in _MENTION.findall(tree)
        if name not in anywhere and not (ROOT / name).exists()
    ]
    assert problems == []


def _layout() -> dict[str, str]:
    """First column (each path of it) -> the line's description."""
    rows = {}
    for line in _block(README, "## Layout").splitlines():
        if not line.strip():
            continue
        paths, _, description = re.split(r"( {2,})", line.strip(), maxsplit=1)
        for path in paths.split(", "):
            rows[path] = description
    return rows


def _top_folders() -> set[str]:
    """The repository's top-level folders (tracked ones in a git checkout; not hidden)."""
    import shutil  # noqa: PLC0415
    import subprocess  # noqa: PLC0415

    if shutil.which("git") and (ROOT / ".git").exists():
        listed = subprocess.run(
            ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.splitlines()
        return {name.split("/")[0] for name in listed if "/" in name and not name.startswith(".")}
    ignored = {"node_modules", "build", "dist", "artifacts"}
    return {
        path.name
        for path in ROOT.iterdir()
        if path.is_dir() and not path.name.startswith(".") and path.name not in ignored
    }


def test_the_readme_layout_names_every_folder_and_what_each_enumerates() -> None:
    layout = _layout()
    problems = [f"Layout names {path}, which does not exist" for path in layout if not (ROOT / path).exists()]
    named_top = {path.split("/")[0] for path in layout}
    problems += [f"Layout does not name the folder {name}/" for name in sorted(_top_folders() - named_top)]
    enumerated = {
        "statemachines/": {machine.asl.name.removesuffix(".asl.json") for machine in state_machines()},
        "functions/": {function.code.name for function in functions()},
        "tools/": {
            path.stem
            for path in (ROOT / "tools").iterdir()
            if path.name != "README.md" and not path.name.startswith((".", "__"))
        },
        "tests/": {
            path.name
            for path in (ROOT / "tests").iterdir()
            if path.is_dir() and not path.name.startswith((".", "__"))
        },
        "docs/": {path.stem for path in (ROOT / "docs").glob("*.md")},
    }
    for folder, members in enumerated.items():
        words = set(re.findall(r"[\w-]+", layout.get(folder, "")))
        problems += [f"Layout's {folder} does not name {member}" for member in sorted(members - words)]
    assert problems == []


def test_the_architecture_names_every_workflow_and_function() -> None:
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    # "Add a workflow" walks through a job that does not exist (a weekly Aurora snapshot): its
    # file names are an example, not a map.
    text = re.sub(r"(?ms)^## Add a workflow\n.*?(?=^## |\Z)", "", text)
    problems = [
        f"does not name {machine.asl.name}" for machine in state_machines() if machine.asl.name not in text
    ]
    problems += [
        f"does not name functions/{function.code.name}"
        for function in functions()
        if f"functions/{function.code.name}" not in text
    ]
    problems += [
        f"names {name}, which does not exist"
        for name in re.findall(r"[\w-]+\.asl\.json", text)
        if not (ROOT / "statemachines" / name).exists()
    ]
    problems += [
        f"names functions/{name}, which does not exist"
        for name in re.findall(r"functions/(\w+)", text)
        if not (ROOT / "functions" / name).is_dir()
    ]
    assert problems == []

"""The package as it ships: a wheel built from a clean copy of the repository's tracked files
holds every package of the layer and the local cloud (found, not listed: pyproject.toml) and the
chat page's static files, installs into a fresh virtual environment, and its `petclinic-ops`
runs (`--help`, and `local invoke` of a sample of events/, as events/index.json expects).

The fresh environment gets the wheel alone (--no-deps); its dependencies are the project's
pinned ones, this environment's site-packages named by a .pth file (not its editable install of
the project: a .pth line adds a folder, it does not run the folder's own .pth files), so nothing
is downloaded and the project's code can only come from the wheel."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path
from typing import Any

import pytest
from served import ROOT, client_environment

pytestmark = pytest.mark.slow
ROOTS = {"petclinic_ops": "layers/shared/petclinic_ops", "petclinic_local": "local/petclinic_local"}
SAMPLE = "resolve-deploy-payload.json"


def _run(
    command: list[str], cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, f"{' '.join(command)}: {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done


def _clean_copy(target: Path) -> Path:
    """The working tree's tracked files (what a clone of this commit plus its edits holds)."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout: no list of tracked files to build from")
    listed = _run(["git", "ls-files", "-z"], ROOT).stdout.split("\0")
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file() and not source.is_symlink():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    return target


def _expected_files(tree: Path) -> set[str]:
    """Every module of every package under the two roots, and the static files."""
    expected = set()
    for package, folder in ROOTS.items():
        for path in (tree / folder).rglob("*"):
            relative = path.relative_to(tree / folder)
            if path.suffix == ".py" and (path.parent / "__init__.py").exists():
                expected.add(f"{package}/{relative.as_posix()}")
    expected |= {
        f"petclinic_local/static/{path.name}"
        for path in (tree / ROOTS["petclinic_local"] / "static").iterdir()
    }
    return expected


def _fresh_venv(where: Path) -> Path:
    _run([sys.executable, "-m", "venv", "--without-pip", str(where)], where.parent)
    python = where / "bin" / "python"
    purelib = _run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], where
    ).stdout
    # The pinned dependencies of this environment, after the fresh one's own site-packages.
    Path(purelib.strip(), "project-dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    return python


def test_a_wheel_of_the_tracked_files_installs_and_runs(tmp_path: Path) -> None:
    tree = _clean_copy(tmp_path / "tree")
    dist = tmp_path / "dist"
    _run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(dist),
            str(tree),
        ],
        tmp_path,
    )
    [wheel] = dist.glob("petclinic_ops-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        shipped = set(archive.namelist())
    missing = _expected_files(tree) - shipped
    assert not missing, f"the wheel leaves out {sorted(missing)}"

    env = client_environment()
    env.pop("PYTHONPATH", None)
    python = _fresh_venv(tmp_path / "venv")
    _run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps", str(wheel)],
        tmp_path,
    )
    where = _run(
        [
            str(python),
            "-c",
            "import petclinic_local, petclinic_ops\n"
            "print(petclinic_local.__file__)\nprint(petclinic_ops.__file__)",
        ],
        tmp_path,
        env,
    )
    assert all(line.startswith(str(tmp_path / "venv")) for line in where.stdout.split()), where.stdout

    cli = str(python.parent / "petclinic-ops")
    assert "local" in _run([cli, "--help"], tmp_path, env).stdout

    expected: dict[str, Any] = json.loads((tree / "events" / "index.json").read_text())[SAMPLE]
    done = _run(
        [
            cli,
            "local",
            "invoke",
            expected["function"],
            "--event",
            str(tree / "events" / SAMPLE),
            "--template",
            str(tree / "template.yaml"),
        ],
        tmp_path,
        env,
    )
    result = json.loads(done.stdout)
    assert {key: result.get(key) for key in expected["expect"]["result"]} == expected["expect"]["result"]

"""The GenAI commands as a user runs them: `local ask`, `local api`, `local genai release`."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-m", "petclinic_local.cli.main"]


def run_cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args], capture_output=True, text=True, timeout=timeout, cwd=ROOT, check=False
    )


def test_local_ask_answers_through_a_tool_call_with_the_model_and_route() -> None:
    done = run_cli("local", "ask", "Which vets are radiologists?", "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["status"] == 200
    assert report["model"] == "anthropic.claude-3-haiku-20240307-v1:0"
    assert report["toolCalls"] == [{"name": "listVets", "ok": True}]
    assert [step["outcome"] for step in report["route"]] == ["ok", "ok"]
    assert "Helen Leary" in report["answer"]
    assert "Henry Stevens" in report["answer"]
    assert "GET /vets -> 200" in report["petclinicRequests"]
    assert "stand-in" in report["standIns"]["bedrock"]
    assert "stand-in" in report["standIns"]["petclinic"]


def test_the_answer_for_people_shows_the_route_tools_and_stand_ins() -> None:
    """`local ask` without --json, rendered from a report like the one above (no second cloud)."""
    import io  # noqa: PLC0415

    from rich.console import Console  # noqa: PLC0415

    from petclinic_local.cli.genai import _print_answer  # noqa: PLC0415

    out = io.StringIO()
    report = {
        "question": "Which vets do surgery?",
        "status": 200,
        "answer": "The clinic's surgery specialists:\n- **Rafael Ortega** (surgery)",
        "model": "amazon.titan-text-express-v1",
        "route": [
            {"model": "anthropic.claude-3-haiku-20240307-v1:0", "outcome": "throttled"},
            {"model": "amazon.titan-text-express-v1", "outcome": "ok"},
        ],
        "toolCalls": [{"name": "listVets", "ok": True}],
        "usage": {"inputTokens": 10, "outputTokens": 5, "totalTokens": 15},
        "liveVersion": "1",
        "standIns": {"bedrock": "Bedrock: local stand-in (...)"},
    }
    _print_answer(Console(file=out, width=200), report)
    text = out.getvalue()
    assert "Rafael Ortega" in text
    assert (
        "route: anthropic.claude-3-haiku-20240307-v1:0 throttled -> amazon.titan-text-express-v1 ok" in text
    )
    assert "tools: listVets (ok)" in text
    assert "stand-in bedrock: Bedrock: local stand-in" in text


def test_local_ask_refuses_an_empty_question() -> None:
    done = run_cli("local", "ask", "   ")
    assert done.returncode == 2
    assert "the question is empty" in done.stderr


def test_genai_release_refuses_a_bad_version_before_calling_aws() -> None:
    done = run_cli("genai", "release", "latest")
    assert done.returncode == 2
    assert "VERSION must be a published version number" in done.stderr


def test_local_api_serves_the_chat_api_and_page() -> None:
    process = subprocess.Popen(
        [*CLI, "local", "api", "--port", "0"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        url = ""
        deadline = time.monotonic() + 120
        while not url and time.monotonic() < deadline:
            line = process.stdout.readline()
            if line.startswith("chat page:"):
                url = line.split(":", 1)[1].strip().rstrip("/")
        assert url, "local api printed no URL"
        page = urllib.request.urlopen(f"{url}/", timeout=30).read().decode()
        assert '<script src="/chat.js"></script>' in page
        script = urllib.request.urlopen(f"{url}/chat.js", timeout=30).read().decode()
        assert "fetch('/api/genai/chatclient'" in script
        request = urllib.request.Request(
            f"{url}/api/genai/chatclient",
            data=json.dumps("Which vets are radiologists?").encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
            assert "Helen Leary" in response.read().decode()
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.mark.slow
def test_local_genai_release_promotes_a_good_version_and_rolls_back_bad_ones() -> None:
    done = run_cli("local", "genai", "release", "--json", timeout=600)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    rows = [(r["version"], r["result"], r["aliasAfter"]["version"]) for r in report["releases"]]
    assert rows == [("2", "SUCCEEDED", "2"), ("3", "ROLLED_BACK", "2"), ("4", "ROLLED_BACK", "2")]
    assert report["releases"][1]["alarmsFired"] == ["petclinic-ops-dev-genai-v3-fallback-rate"]
    assert report["releases"][2]["reason"].startswith("smoke test failed")
    assert [row["result"] for row in report["ledger"]] == ["SUCCEEDED", "ROLLED_BACK", "ROLLED_BACK"]
    assert all(r["traffic"]["non2xx"] == 0 for r in report["releases"])
    assert "stand-in" in report["standIns"]["bedrock"]
